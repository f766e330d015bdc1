"""docs/plugins.md is enough to write a plugin: its code blocks, each a whole file, make a plugin
that installs, lists, and runs an evaluate spec and a train spec (values checked by hand)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
#: a file's block: a paragraph that is only its bold path, then the fenced block
BLOCK = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```$", re.M | re.S)


def blocks() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in BLOCK.finditer(DOC)}


def test_every_code_block_is_a_named_file():
    fences = len(re.findall(r"^```[a-z]*$", DOC, re.M)) // 2
    assert fences == len(BLOCK.findall(DOC)) == len(blocks()) >= 9
    assert {"pyproject.toml", "divtools_fox/__init__.py", "divtools_fox/metric.py", "divtools_fox/scorer.py",
            "divtools_fox/objective.py"} <= set(blocks())
    for path, text in blocks().items():
        if path.endswith(".py"):
            compile(text, path, "exec")  # whole modules, no elided bodies


def test_documented_fields_are_the_real_ones():
    from divtools import GroupResult, ObjectiveOutput, PreferenceObjective

    table = DOC.split("`divtools.GroupResult`:")[1].split("\n\n")[1]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert documented == [f.name for f in dataclasses.fields(GroupResult)]
    for name in (f.name for f in dataclasses.fields(ObjectiveOutput)):
        assert f"`{name}`" in DOC, name
    for attribute in ("needs_reference", "logprob_reduction", "needs_nll", "columns"):
        assert f"| `{attribute}` | `{getattr(PreferenceObjective, attribute)!r}` |".replace("'", '"') in DOC


def test_an_objective_outside_the_contract_is_refused_by_name(monkeypatch):
    """What used to crash inside the trainer (AttributeError: check_dataset) is an error at build."""
    import divtools.components as components
    from divtools import Objective
    from divtools.errors import DivtoolsError
    from divtools.registry import ComponentInfo

    class Bare(Objective):
        def loss(self, batch):
            return batch["chosen_logps"]

    class Params:
        kind = "bare"

    entry = ComponentInfo(kind="objective", name="bare", params=type(None), impl=lambda p: Bare(), plugin="mine",
                          plugin_version=None)
    monkeypatch.setattr(components, "info", lambda kind, params: entry)
    with pytest.raises(DivtoolsError, match=r"objective 'bare' of plugin 'mine' built a Bare, which does not "
                                            r"subclass divtools\.PreferenceObjective"):
        components.build("objective", Params())


@pytest.fixture(scope="module")
def fox(tmp_path_factory):
    """The plugin written from the doc's blocks and installed with pip (a real wheel build into a
    throwaway target, found through its entry point like any installed plugin)."""
    work = tmp_path_factory.mktemp("fox")
    for path, text in blocks().items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text, encoding="utf-8")
    shutil.copytree(ROOT / "examples" / "quickstart" / "tiny-lm", work / "tiny-lm")
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(work)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(site), "DIVTOOLS_LOAD_PLUGINS": "fox", "HF_HUB_OFFLINE": "1",
           "TRL_EXPERIMENTAL_SILENCE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return work, env


def divtools(fox, *args) -> subprocess.CompletedProcess:
    work, env = fox
    out = subprocess.run([sys.executable, "-m", "divtools.cli.main", *args], cwd=work, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


@pytest.mark.slow  # builds and installs the plugin (a wheel), then runs the CLI
def test_installed_plugin_lists_its_components_and_command(fox):
    plugins = json.loads(divtools(fox, "plugins").stdout)
    text = json.dumps(plugins)
    assert '"fox"' in text and "0.1.0" in text
    assert "margin_dpo  [fox 0.1.0]" in divtools(fox, "list", "objective").stdout
    assert "vocabulary_share  [fox 0.1.0]" in divtools(fox, "list", "metric").stdout
    assert divtools(fox, "fox", "world").stdout.strip() == "the quick brown fox greets world"


@pytest.mark.slow
def test_the_docs_evaluate_spec_runs_with_the_plugin(fox):
    work, _ = fox
    divtools(fox, "run", "evaluate.yaml", "--quiet")
    report = json.loads((work / "fox-eval" / "report.json").read_text())
    results = report["results"]["default"]
    # fox prompt: 8 + 9 distinct words sharing "the" and "fox": 13 of 15 used once;
    # sea prompt: 8 + 8 sharing "the": 14 of 15
    assert results["vocabulary_share"]["per_prompt"] == pytest.approx(
        {pid: v for pid, v in zip(report["protocol"]["prompt_ids"], [13 / 15, 14 / 15])})
    assert results["word_count"]["mean"] == pytest.approx((9 + 9) / 2 / 2 + (8 + 9) / 2 / 2)
    assert report["versions"]["plugins"]["fox"] == "0.1.0"


@pytest.mark.slow
def test_the_docs_train_spec_trains_with_the_plugin_objective(fox):
    work, _ = fox
    divtools(fox, "run", "train.yaml", "--quiet")
    assert (work / "fox-train" / "margin" / "model.safetensors").is_file()
    log = [json.loads(line) for line in (work / "fox-train" / "margin" / "log.jsonl").read_text().splitlines()]
    first = next(r for r in log if r.get("step") == 1 and "loss/weighted" in r)
    # step 1: the policy is still the reference, so every log-ratio is 0 and
    # loss = -log sigmoid(0 - margin) = log(1 + e^0.5)
    assert first["loss/weighted"] == pytest.approx(math.log1p(math.exp(0.5)), abs=1e-4)
