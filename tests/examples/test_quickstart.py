"""The README's main job at reduced size. The tiny quickstart (examples/quickstart-tiny.yaml)
runs from the bundled files alone, and the same seed gives the same report.json; the real one
(examples/quickstart.yaml, SmolLM2) tells the same story, and runs reduced in tests/realmodel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from divtools.cli.main import cli

EXAMPLES = Path(__file__).parents[2] / "examples"
QUICKSTART = EXAMPLES / "quickstart.yaml"
QUICKSTART_TINY = EXAMPLES / "quickstart-tiny.yaml"


def reduced(root: Path, spec_file: Path = QUICKSTART_TINY, *, max_steps: int = 2, new_tokens: int = 12,
            prompts: int = 2) -> list[str]:
    """--set overrides: outputs under ``root``, a few steps per stage, 2 prompts, short samples."""
    spec = yaml.safe_load(spec_file.read_text())
    steps = spec["steps"]
    sets = [f"steps.prepare.output.dir={root}/prepare", f"steps.train.data.train={root}/prepare/train.jsonl",
            f"steps.train.output.dir={root}/train", f"steps.evaluate.output.dir={root}/evaluate",
            f"steps.evaluate.prompts={{limit: {prompts}}}", "steps.evaluate.bootstrap_samples=100",
            f"steps.evaluate.scorers.0.model={root}/train/reward",
            f"steps.train.stages.3.reward_file={root}/prepare/reward_train.jsonl"]
    for i, stage in enumerate(steps["train"]["stages"]):
        keep = {k: v for k, v in stage.get("args", {}).items() if k == "max_length"}
        args = {"max_steps": max_steps, "per_device_train_batch_size": 4, "logging_steps": 1, **keep}
        sets.append(f"steps.train.stages.{i}.args={json.dumps(args)}")
    for i, system in enumerate(steps["evaluate"]["systems"]):
        sets.append(f"steps.evaluate.systems.{i}.backend={{kind: transformers, model: {root}/train/{system['name']}, "
                    f"max_new_tokens: {new_tokens}}}")
    for name in steps:
        sets.append(f"steps.{name}.output.on_existing=restart")
    return sets


def run_reduced(root: Path, spec_file: Path = QUICKSTART_TINY, **kw) -> None:
    args = ["run", str(spec_file), "--quiet", *[a for s in reduced(root, spec_file, **kw) for a in ("--set", s)]]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"{root}/evaluate/report.json" in result.output  # the report's path is printed at the end


def test_both_quickstarts_tell_the_same_story():
    """Same data, split, pairs, stages and evaluation; the real one names the offline preset
    everywhere a model is named (training, the token budget) and trains LoRA adapters."""
    real, tiny = (yaml.safe_load(p.read_text())["steps"] for p in (QUICKSTART, QUICKSTART_TINY))
    assert [s["name"] for s in real["train"]["stages"]] == [s["name"] for s in tiny["train"]["stages"]]
    assert [s["kind"] for s in real["train"]["stages"]] == [s["kind"] for s in tiny["train"]["stages"]]
    for key in ("source", "split", "pair_builder", "metrics", "weights", "reward_data"):
        assert real["prepare"][key] == tiny["prepare"][key], key
    for key in ("gold", "samples_per_prompt", "metrics", "effective_diversity"):
        assert real["evaluate"][key] == tiny["evaluate"][key], key
    assert real["train"]["model"] == "preset:smollm2-135m-instruct"
    assert real["prepare"]["cleaning"]["max_tokens"]["tokenizer"] == real["train"]["model"]
    assert all(stage.get("lora") for stage in real["train"]["stages"])


@pytest.mark.slow
def test_quickstart_runs_and_is_reproducible(tmp_path):
    root = tmp_path / "qs"
    run_reduced(root)
    first = (root / "evaluate" / "report.json").read_bytes()
    report = json.loads(first)
    assert set(report["results"]) == {"human", "sft", "dpo", "ddpo"}
    for name in ("report.md", "report.html", "quality_vs_diversity.png", "effective_diversity.png"):
        assert (root / "evaluate" / name).exists()
    # report.md points a person at every sample
    assert "[samples.jsonl](samples.jsonl)" in (root / "evaluate" / "report.md").read_text()
    assert (root / "evaluate" / "samples.jsonl").stat().st_size > 0
    summary = json.loads((root / "prepare" / "summary.json").read_text())
    assert summary["cleaning_dropped"]["responses_total"] == 4  # the data card's 4 bad rows
    run_reduced(root)  # restart every step: everything is recomputed from scratch
    assert (root / "evaluate" / "report.json").read_bytes() == first
