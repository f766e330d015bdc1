"""Helpers for the reliability tests: run ``divtools run`` on a spec dict the way a user does."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).parent
BAD_DATA = HERE / "bad_data"
REPO = HERE.parent.parent
KJV_GROUPS = REPO / "tests" / "data" / "kjv_groups.jsonl"  # public-domain KJV Proverbs (see tests/data/README.md)


@dataclass
class CliResult:
    exit_code: int
    output: str
    exception: BaseException | None


def run_cli(spec: dict, folder: Path, name: str = "spec.yaml", *args: str) -> CliResult:
    """``divtools run SPEC --quiet`` in-process (click's runner); ``exception`` is set only for an
    exception that escaped the CLI's user-error handling (what a user would see as a traceback)."""
    from click.testing import CliRunner

    from divtools.cli.main import cli

    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(path), "--quiet", *args])
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return CliResult(result.exit_code, result.output, exc)


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    """An empty embedding cache folder for this test only."""
    folder = tmp_path / "embed-cache"
    monkeypatch.setenv("DIVTOOLS_CACHE", str(folder))
    return folder


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRL_EXPERIMENTAL_SILENCE="1",
               TOKENIZERS_PARALLELISM="false", DIVTOOLS_QUIET_PLUGIN_ERRORS="1")
    env.update(extra)
    return env
