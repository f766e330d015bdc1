"""docs/api.md's examples run as written (three lines each) and print the hand-computed values
their comments state; the in-process API validates entries as spec files do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
FILES = dict(re.findall(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```$", DOC, re.M | re.S))
EXAMPLES = re.findall(r"^```python\n(.*?)^```$", DOC, re.M | re.S)
#: what each example prints, computed by hand in its comment
EXPECTED = [
    "0.75",  # bigrams (the cat) (cat sat) | (the cat) (cat ran): 3 distinct of 4
    "[6.]",  # "Once upon a time, a fox." has 6 whitespace-separated words
    "0.6 2",  # per prompt 6 distinct of 10 words ("story one of a fox" / "story two of a fox"), N = 2
]


def test_the_doc_has_three_three_line_examples_and_their_files():
    assert [len(e.strip().splitlines()) for e in EXAMPLES] == [3, 3, 3]
    assert set(FILES) == {"evaluate.yaml", "gens.jsonl"}


@pytest.mark.parametrize("index", [0, 1, pytest.param(2, marks=pytest.mark.slow)])  # 2 runs a whole evaluation
def test_each_example_prints_its_stated_value(index, tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "DIVTOOLS_LOAD_PLUGINS": "", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", EXAMPLES[index]], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == EXPECTED[index]
    assert f"# {EXPECTED[index].split()[0]}" in EXAMPLES[index] or EXPECTED[index] in EXAMPLES[index]


@pytest.mark.slow  # two evaluation runs, with their report files and plots
def test_run_returns_the_report_object_for_files_and_dicts(tmp_path, monkeypatch):
    import json

    import divtools

    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    from_file = divtools.run("evaluate.yaml")
    assert from_file.kind == "evaluate" and from_file.path == tmp_path / "out" / "report.json"
    assert from_file.report == json.loads(from_file.path.read_text())
    spec = {"run": "evaluate", "generations": {"path": "gens.jsonl"}, "samples_per_prompt": 2,
            "metrics": [{"kind": "distinct_n", "n": 1, "label": "d1"}], "output": {"dir": "from-dict"}}
    from_dict = divtools.run(spec, overrides=["metrics.0.n=2"])
    assert spec["metrics"][0]["n"] == 1  # the caller's dict is not changed
    # bigrams per prompt: (story one)(one of)(of a)(a fox) + (story two)(two of)(of a)(a fox): 6 of 8
    assert from_dict.mean("default", "d1") == pytest.approx(6 / 8)
    assert from_dict.report["results"]["default"]["d1"]["per_prompt"] == pytest.approx(
        {pid: 6 / 8 for pid in from_dict.report["protocol"]["prompt_ids"]})


def test_bad_entries_are_user_errors_listing_every_problem():
    import divtools

    with pytest.raises(divtools.UserError) as exc:
        divtools.build_metric({"kind": "distinct_n", "n": "two", "colour": "red"})
    text = str(exc.value)
    assert "metric entry: " in text and "unknown key 'colour'" in text and "n: Input should be a valid integer" in text
    with pytest.raises(divtools.UserError, match="unknown kind 'distinct'.*did you mean 'distinct_n'"):
        divtools.build_metric({"kind": "distinct"})
    with pytest.raises(divtools.UserError, match="not valid|does not exist"):
        divtools.run({"run": "evaluate", "generations": {"path": "no-such.jsonl"}, "output": {"dir": "x"}})
