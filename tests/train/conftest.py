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


def write_pairs(path: Path, texts: list[str], n: int = 16, *, pair_builder: str = "gap_disjoint") -> Path:
    """A small prepared-preference file in the format of ``run: prepare`` (KJV verses as responses)."""
    rows = []
    for i in range(n):
        c, r = texts[(3 * i) % len(texts)], texts[(3 * i + 1) % len(texts)]
        rows.append(
            {
                "prompt": f"Write a proverb about {['wisdom', 'folly', 'wealth', 'speech'][i % 4]}.",
                "chosen": c,
                "rejected": r,
                "weight": [1.0, 0.5, 0.0, 1.5, 2.0, 1.0, 0.25, 0.75][i % 8],
                "chosen_score": float(10 + i),
                "rejected_score": float(i % 5),
                "prompt_id": f"p{i % 4}",
                "chosen_id": f"r{3 * i}",
                "rejected_id": f"r{3 * i + 1}",
                "pair_builder": pair_builder,
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="session")
def pairs_file(tmp_path_factory, kjv_texts) -> Path:
    """16 preference pairs with varied weights (one of them 0)."""
    return write_pairs(tmp_path_factory.mktemp("pairs") / "pairs.jsonl", kjv_texts)


#: a few quick steps on the tiny model
TINY_ARGS = {"per_device_train_batch_size": 4, "max_steps": 3, "logging_steps": 1, "max_length": 128, "learning_rate": 1e-3}


@pytest.fixture
def train_spec():
    """``train_spec(tmp_path, model_dir, pairs, stages, **top)`` -> a validated TrainSpec."""
    from divtools.spec.loading import validate_spec

    def make(tmp_path, lm, pairs, stages, **top):
        data = {"run": "train", "output": {"dir": str(tmp_path / "out")}, "model": str(lm),
                "data": {"train": str(pairs)}, "stages": stages, **top}
        return validate_spec(data, file="train.yaml", base_dir=tmp_path)

    return make


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


@pytest.fixture
def log_records():
    """``log_records(path)`` -> the JSONL log's records."""
    return read_log


@pytest.fixture(scope="session")
def divpo_pairs_file(tmp_path_factory, kjv_texts) -> Path:
    """16 pairs whose pair_builder column says 'divpo'."""
    return write_pairs(tmp_path_factory.mktemp("divpo") / "pairs.jsonl", kjv_texts, pair_builder="divpo")
