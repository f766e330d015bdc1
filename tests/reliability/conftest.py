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


def kjv_texts() -> list[str]:
    import json

    path = REPO / "tests" / "train" / "data" / "kjv_proverbs.jsonl"  # public-domain KJV Proverbs
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    """A ~0.16M-parameter Llama causal LM + tokenizer in a folder (built once per session)."""
    pytest.importorskip("torch")
    from divtools.models.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(kjv_texts(), tmp_path_factory.mktemp("tiny-lm"), seed=0)


def write_pairs(path: Path, n: int = 16, *, weight: bool = True) -> Path:
    """A small preference file in the format ``run: prepare`` writes (KJV verses as responses)."""
    import json

    texts = kjv_texts()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            row = {"prompt": f"Write a proverb about {['wisdom', 'folly', 'wealth', 'speech'][i % 4]}.",
                   "chosen": texts[3 * i], "rejected": texts[3 * i + 1],
                   "weight": [1.0, 0.5, 0.0, 1.5, 2.0, 1.0, 0.25, 0.75][i % 8],
                   "chosen_score": float(10 + i), "rejected_score": float(i % 5), "prompt_id": f"p{i % 4}",
                   "chosen_id": f"r{3 * i}", "rejected_id": f"r{3 * i + 1}", "pair_builder": "gap_disjoint"}
            if not weight:
                del row["weight"]
            fh.write(json.dumps(row) + "\n")
    return path


#: a few quick steps on the tiny model
TINY_ARGS = {"per_device_train_batch_size": 4, "max_steps": 2, "logging_steps": 1, "max_length": 64,
             "learning_rate": 1e-3}
