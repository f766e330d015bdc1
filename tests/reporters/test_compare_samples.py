"""``divtools compare`` merges the inputs' samples.jsonl too, so the merged report.html browses
every system and ``human-eval make`` can pair systems evaluated in separate runs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from divtools.cli.main import cli
from report_data import build_run, load


@pytest.mark.slow
def test_compare_merges_samples_for_the_browser_and_human_eval(tmp_path):
    a = build_run(tmp_path / "a", {"sft": 1}, reporters=[{"kind": "json"}])
    b = build_run(tmp_path / "b", {"ddpo": 4}, reporters=[{"kind": "json"}])
    result = CliRunner().invoke(cli, ["compare", str(a), str(b), "--out", str(tmp_path / "both")])
    assert result.exit_code == 0, result.output
    merged = load(tmp_path / "both" / "report.json")
    # the gold files are separate copies (another source): the second human is renamed
    assert merged["order"]["systems"] == ["human", "sft", "human@out", "ddpo"]
    assert merged["merged_from"][1]["systems"] == {"human": "human@out", "ddpo": "ddpo"}
    rows = [json.loads(line) for line in (tmp_path / "both" / "samples.jsonl").read_text().splitlines()]
    own = {}
    for d, entry in zip((a, b), merged["merged_from"]):
        for r in map(json.loads, (d / "samples.jsonl").read_text().splitlines()):
            own[(entry["systems"][r["system"]], r["prompt_id"], r["k"])] = r["response"]
    assert {(r["system"], r["prompt_id"], r["k"]): r["response"] for r in rows} == own and len(rows) == len(own)
    page = (tmp_path / "both" / "report.html").read_text()
    assert "No samples.jsonl" not in page and own[("ddpo", "q0", 0)].split()[0] in page
    made = CliRunner().invoke(cli, ["human-eval", "make", str(tmp_path / "both"), "--systems", "ddpo", "sft",
                                    "--out", str(tmp_path / "study")])
    assert made.exit_code == 0, made.output


def test_a_system_kept_once_contributes_its_samples_once(tmp_path):
    from divtools.evaluate.compare import merge_samples

    (tmp_path / "r1").mkdir()
    (tmp_path / "r2").mkdir()
    row = {"system": "human", "prompt_id": "q0", "k": 0, "response": "x"}
    for d, extra in (("r1", {"system": "m1"}), ("r2", {"system": "m2"})):
        (tmp_path / d / "samples.jsonl").write_text(json.dumps(row) + "\n" + json.dumps({**row, **extra}) + "\n")
    merged = {"merged_from": [{"path": str(tmp_path / "r1" / "report.json"), "systems": {"human": "human", "m1": "m1"}},
                              {"path": str(tmp_path / "r2" / "report.json"), "systems": {"human": "human", "m2": "m2"}}]}
    rows = [json.loads(line) for line in merge_samples(merged).splitlines()]
    assert [r["system"] for r in rows] == ["human", "m1", "m2"]
