"""Fixtures for the metric tests: real human text (public-domain KJV), a private embedding
cache, and a helper that builds a metric from its spec entry exactly as a run does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "kjv_proverbs.jsonl"


def kjv_texts() -> list[str]:
    with DATA.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh]


@pytest.fixture(scope="session")
def kjv() -> list[str]:
    return kjv_texts()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty embedding cache (never ~/.cache)."""
    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def build_metric(entry: dict):
    """Validate ``entry`` against the registered params model and build the metric."""
    from divtools.components import build
    from divtools.plugins import registries

    params = registries()["metric"].get(entry["kind"]).params.model_validate(entry)
    return build("metric", params)
