"""The README's main job, examples/quickstart.yaml, at reduced size: it runs from the bundled
files alone, and the same seed gives the same report.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from divtools.cli.main import cli

QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart.yaml"


def reduced(root: Path) -> list[str]:
    """--set overrides: outputs under ``root``, a few steps per stage, 2 prompts, short samples."""
    spec = yaml.safe_load(QUICKSTART.read_text())
    steps = spec["steps"]
    sets = [f"steps.prepare.output.dir={root}/prepare", f"steps.train.data.train={root}/prepare/train.jsonl",
            f"steps.train.output.dir={root}/train", f"steps.evaluate.output.dir={root}/evaluate",
            "steps.evaluate.prompts={limit: 2}", "steps.evaluate.bootstrap_samples=100",
            f"steps.evaluate.scorers.0.model={root}/train/reward",
            f"steps.train.stages.3.reward_file={root}/prepare/reward_train.jsonl"]
    for i, _ in enumerate(steps["train"]["stages"]):
        sets.append(f"steps.train.stages.{i}.args={{max_steps: 2, per_device_train_batch_size: 4, logging_steps: 1}}")
    for i, system in enumerate(steps["evaluate"]["systems"]):
        sets.append(f"steps.evaluate.systems.{i}.backend={{kind: transformers, model: {root}/train/{system['name']}, "
                    "max_new_tokens: 12}")
    for name in steps:
        sets.append(f"steps.{name}.output.on_existing=restart")
    return sets


def _run(root: Path) -> None:
    args = ["run", str(QUICKSTART), "--quiet", *[a for s in reduced(root) for a in ("--set", s)]]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"{root}/evaluate/report.json" in result.output  # the report's path is printed at the end


@pytest.mark.slow
def test_quickstart_runs_and_is_reproducible(tmp_path):
    root = tmp_path / "qs"
    _run(root)
    first = (root / "evaluate" / "report.json").read_bytes()
    report = json.loads(first)
    assert set(report["results"]) == {"human", "sft", "dpo", "ddpo"}
    for name in ("report.md", "quality_vs_diversity.png", "effective_diversity.png"):
        assert (root / "evaluate" / name).exists()
    summary = json.loads((root / "prepare" / "summary.json").read_text())
    assert summary["cleaning_dropped"]["responses_total"] == 4  # the data card's 4 bad rows
    _run(root)  # restart every step: everything is recomputed from scratch
    assert (root / "evaluate" / "report.json").read_bytes() == first
