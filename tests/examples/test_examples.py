"""Every example spec validates; the paper's specs run end to end with tiny local stand-ins
swapped in through `divtools run SPEC --set key=value` (the README/docs promise)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from divtools.cli.main import cli

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
PAPER = EXAMPLES / "paper"
#: specs that read what another example run writes: validated without the input-path check
READS_OTHER_RUNS = {"paper/train.yaml", "paper/evaluate.yaml"}


def _specs() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.yaml") if yaml.safe_load(p.read_text()).get("run"))


@pytest.mark.parametrize("spec", _specs(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_example_spec_validates(spec):
    rel = str(spec.relative_to(EXAMPLES))
    args = ["validate", *(["--no-path-check"] if rel in READS_OTHER_RUNS else []), str(spec)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output


def test_accelerate_configs_name_the_divtools_entry_point():
    for config in (EXAMPLES / "accelerate").glob("*.yaml"):
        text = config.read_text()
        assert "-m divtools.cli.main run" in text, config
        yaml.safe_load(text)


def test_quickstart_tiny_lm_is_what_the_build_script_makes(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_tiny_lm", EXAMPLES / "quickstart" / "build_tiny_lm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.build(tmp_path / "tiny-lm")
    committed = EXAMPLES / "quickstart" / "tiny-lm"
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in committed.iterdir())
    for p in committed.iterdir():
        assert (fresh / p.name).read_bytes() == p.read_bytes(), p.name


def _run(spec: Path, sets: list[str]) -> None:
    result = CliRunner().invoke(cli, ["run", str(spec), "--quiet", *[a for s in sets for a in ("--set", s)]])
    assert result.exit_code == 0, result.output + repr(result.exception)


@pytest.mark.slow
def test_paper_specs_run_with_tiny_stand_ins(tmp_path):
    """prepare -> prepare_divpo -> train (all 11 stages) -> evaluate, on tiny local models and the
    bundled stories, each through `divtools run SPEC --set ...` exactly as a user would."""
    from divtools.models.tiny import build_tiny_causal_lm, build_tiny_sequence_classifier

    stories = EXAMPLES / "data" / "stories.jsonl"
    texts = [t for line in stories.read_text().splitlines() for t in json.loads(line)["comment_texts"]]
    lm = build_tiny_causal_lm(texts, tmp_path / "lm", vocab_size=400)
    rm = build_tiny_sequence_classifier(texts, tmp_path / "rm", tokenizer_dir=lm)
    runs = tmp_path / "runs"
    light = ["metrics.0.embedder={kind: stylometric}", "cleaning.max_tokens={tokenizer: %s, limit: 512}" % lm]

    _run(PAPER / "prepare.yaml", [f"source.path={stories}", *light, "metrics.1.embedder={kind: tfidf}",
                                  f"output.dir={runs}/prepare", "split.eval_fraction=0.2"])
    _run(PAPER / "prepare_divpo.yaml", [f"source.path={stories}", "split.eval_fraction=0.2",
                                        f"cleaning.max_tokens={{tokenizer: {lm}, limit: 512}}",
                                        "pair_builder.criteria.0.metric.embedder={kind: stylometric}",
                                        f"output.dir={runs}/prepare-divpo"])
    train = yaml.safe_load((PAPER / "train.yaml").read_text())
    sets = [f"model={{path: {lm}}}", f"data.train={runs}/prepare/train.jsonl", f"data.eval={runs}/prepare/eval.jsonl",
            f"output.dir={runs}/train"]
    for i, stage in enumerate(train["stages"]):
        sets.append(f"stages.{i}.args={{max_steps: 1, per_device_train_batch_size: 2, learning_rate: 1.0e-3}}")
        if "lora" in stage:
            sets.append(f"stages.{i}.lora={{r: 4, alpha: 8}}")
        if stage["name"] == "divpo":
            sets += [f"stages.{i}.data={{train: {runs}/prepare-divpo/train.jsonl}}"]
        if stage["kind"] == "reward_model":
            sets += [f"stages.{i}.model={{path: {rm}}}", f"stages.{i}.reward_file={runs}/prepare/reward_train.jsonl"]
    _run(PAPER / "train.yaml", sets)
    stages = [s["name"] for s in train["stages"]]
    assert all((runs / "train" / name / "divtools-stage.json").exists() for name in stages)

    evaluate = yaml.safe_load((PAPER / "evaluate.yaml").read_text())
    sets = [f"gold.path={runs}/prepare/eval_responses.jsonl", "prompts.limit=2", "samples_per_prompt=2",
            f"output.dir={runs}/evaluate", "metrics.0.embedder={kind: stylometric}",
            "metrics.1.embedder={kind: tfidf}", f"scorers.0.model={runs}/train/reward", "bootstrap_samples=100"]
    for i, system in enumerate(evaluate["systems"]):
        sets.append(f"systems.{i}.backend={{kind: transformers, model: {runs}/train/{system['name']}, max_new_tokens: 8}}")
    _run(PAPER / "evaluate.yaml", sets)
    report = json.loads((runs / "evaluate" / "report.json").read_text())
    assert set(report["results"]) == {s["name"] for s in evaluate["systems"]} | {"human"}
    assert (runs / "evaluate" / "report.md").exists()
    shutil.rmtree(runs)
