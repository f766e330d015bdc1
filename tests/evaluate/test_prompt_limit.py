"""Issue #13 item 7: ``prompts.limit`` counts eligible prompts (at least N gold responses), and
the report states how many prompts were requested, listed, eligible and used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaluate_data import generation_rows, gold_rows, run_spec, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
# gold responses per prompt, cycling: a median of 2 as in WritingPrompts; with N = 4 only the
# 5, 4 and 6 are eligible (3 of every 8 prompts)
COUNTS = [2, 1, 5, 2, 3, 4, 2, 6] * 5
ELIGIBLE = [f"q{p}" for p, c in enumerate(COUNTS) if c >= 4]


def _spec(tmp_path, limit):
    write_jsonl(tmp_path / "gens.jsonl", generation_rows(n_prompts=len(COUNTS)))
    write_jsonl(tmp_path / "gold.jsonl", gold_rows(COUNTS))
    return {"run": "evaluate", "seed": 0, "generations": {"path": "gens.jsonl"}, "gold": {"path": "gold.jsonl"},
            "samples_per_prompt": 4, "prompts": {"limit": limit} if limit else None,
            "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"}], "output": {"dir": "out"}}


def test_the_limit_counts_eligible_prompts_and_the_report_says_so(tmp_path):
    out = run_spec(_spec(tmp_path, 10), tmp_path).parent
    report = json.loads((out / "report.json").read_text())
    protocol = report["protocol"]
    assert len(ELIGIBLE) == 15
    assert protocol["prompt_ids"] == ELIGIBLE[:10]  # the first 10 eligible, in list order
    assert (protocol["limit"], protocol["n_prompts_requested"], protocol["n_prompts_listed"],
            protocol["n_prompts_eligible"], protocol["n_prompts"]) == (10, 10, 40, 15, 10)
    # the short prompts passed over before the 10th eligible one (q26), and no later ones
    last = int(ELIGIBLE[9][1:])
    assert protocol["dropped_prompts"] == {f"q{p}": c for p, c in enumerate(COUNTS) if c < 4 and p < last}
    for system in ("human", "diverse", "echo"):
        assert sorted(report["results"][system]["d2"]["per_prompt"]) == sorted(ELIGIBLE[:10])
    md = (out / "report.md").read_text()
    assert "10 prompts (limit 10: 10 requested, 15 of 40 listed eligible, 10 used)" in md


def test_without_a_limit_every_eligible_prompt_is_used(tmp_path):
    out = run_spec(_spec(tmp_path, None), tmp_path).parent
    protocol = json.loads((out / "report.json").read_text())["protocol"]
    assert protocol["prompt_ids"] == ELIGIBLE
    assert (protocol["limit"], protocol["n_prompts_requested"], protocol["n_prompts_eligible"]) == (None, 40, 15)
    assert protocol["n_dropped_prompts"] == 25


def test_a_limit_above_the_eligible_count_uses_all_and_says_how_many(tmp_path):
    out = run_spec(_spec(tmp_path, 100), tmp_path).parent
    protocol = json.loads((out / "report.json").read_text())["protocol"]
    assert protocol["n_prompts"] == 15 and protocol["n_prompts_requested"] == 100
    assert "15 prompts (limit 100: 100 requested, 15 of 40 listed eligible, 15 used)" in (out / "report.md").read_text()


@pytest.mark.slow
def test_the_paper_spec_with_a_tiny_stand_in_uses_10_eligible_prompts(tmp_path):
    """`divtools run examples/paper/evaluate.yaml` with a tiny model and `prompts.limit: 10`."""
    pytest.importorskip("transformers")
    from divtools.models.tiny import build_tiny_causal_lm
    from evaluate_data import verses

    model = build_tiny_causal_lm(verses(), tmp_path / "tiny-lm", seed=0)
    write_jsonl(tmp_path / "gold.jsonl", gold_rows(COUNTS))
    system = {"name": "tiny", "backend": {"kind": "transformers", "model": str(model), "max_new_tokens": 8}}
    sets = [
        f"gold.path={tmp_path / 'gold.jsonl'}",
        "prompts.limit=10",
        f"systems=[{json.dumps(system)}]",
        "metrics.semantic.embedder={kind: tfidf}",  # offline stand-ins for jina-v3 and the style model
        "metrics.style.embedder={kind: stylometric}",
        "scorers=[{kind: length}]",
        "effective_diversity.quality=length",
        f"output.dir={tmp_path / 'out'}",
    ]
    cmd = [sys.executable, "-m", "divtools.cli.main", "run", str(ROOT / "examples/paper/evaluate.yaml"), "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    protocol = json.loads((tmp_path / "out" / "report.json").read_text())["protocol"]
    assert protocol["prompt_ids"] == ELIGIBLE[:10]
    assert (protocol["n_prompts_requested"], protocol["n_prompts_eligible"], protocol["n_prompts"]) == (10, 15, 10)
    gens = [json.loads(line) for line in (tmp_path / "out" / "generations" / "tiny.jsonl").read_text().splitlines()]
    assert sorted({g["prompt_id"] for g in gens}) == sorted(ELIGIBLE[:10]) and len(gens) == 40
