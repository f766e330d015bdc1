"""Shared fixtures for training tests: a tiny causal LM (and reward model) built once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def kjv_texts() -> list[str]:
    """388 public-domain KJV Proverbs verses (see tests/train/data/README.md)."""
    with open(DATA / "kjv_proverbs.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory, kjv_texts) -> Path:
    """A ~0.16M-parameter Llama causal LM + BPE tokenizer saved to a folder (built once)."""
    from divtools.models.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(kjv_texts, tmp_path_factory.mktemp("tiny-lm"), seed=0)


@pytest.fixture(scope="session")
def tiny_rm_dir(tmp_path_factory, kjv_texts, tiny_lm_dir) -> Path:
    """A tiny sequence-regression model sharing ``tiny_lm_dir``'s tokenizer (built once)."""
    from divtools.models.tiny import build_tiny_sequence_classifier

    return build_tiny_sequence_classifier(kjv_texts, tmp_path_factory.mktemp("tiny-rm"), tokenizer_dir=tiny_lm_dir, seed=1)
