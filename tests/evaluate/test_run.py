"""``run: evaluate`` end to end on generations files: report.json structure, protocol, scorers,
effective diversity, determinism, atomic output, and no torch for n-gram metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from divtools.errors import UserError
from evaluate_data import K, N_PROMPTS, gold_rows, load, prompt_text, run_spec, verses, write_jsonl


def _metric_only(gens: Path, out: str = "out") -> dict:
    # the metric-only form of issue 3, exactly (with n-gram metrics only)
    return {
        "run": "evaluate",
        "generations": {"path": gens.name},
        "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"}, {"kind": "distinct_n", "n": 1}],
        "output": {"dir": out},
    }


def _distinct(texts: list[str], n: int) -> float:
    """distinct-n by hand: unique / all whitespace-token n-grams of the group."""
    grams = [tuple(t.split()[i:i + n]) for t in texts for i in range(len(t.split()) - n + 1)]
    return len(set(grams)) / len(grams)


def test_report_json_structure_and_values(gens, tmp_path):
    path = run_spec(_metric_only(gens), tmp_path)
    assert path == tmp_path / "out" / "report.json"
    report = load(path)
    assert set(report) >= {"format", "versions", "components", "spec", "protocol", "prompts", "labels",
                           "systems", "results", "effective_diversity"}
    assert report["versions"]["divtools"] == __import__("divtools").__version__
    assert report["versions"]["plugins"]["divtools.builtins.metrics"] == report["versions"]["divtools"]
    assert report["spec"]["generations"]["path"] == str(gens)
    protocol = report["protocol"]
    assert protocol["samples_per_prompt"] == K and protocol["samples_per_prompt_source"] == "inferred"
    assert protocol["prompt_ids"] == [f"q{p}" for p in range(N_PROMPTS)]
    assert report["prompts"]["q3"] == prompt_text(3)
    assert set(report["results"]) == {"diverse", "echo"}
    rows = [json.loads(line) for line in gens.read_text().splitlines()]
    for system, res in report["results"].items():
        assert set(res) == {"d2", "distinct_n"}
        for label, n in (("d2", 2), ("distinct_n", 1)):
            entry = res[label]
            assert set(entry) == {"mean", "ci95", "n_prompts", "per_prompt"}
            assert entry["n_prompts"] == N_PROMPTS
            expected = {f"q{p}": _distinct([r["response"] for r in rows if r["system"] == system and r["prompt_id"] == f"q{p}"], n)
                        for p in range(N_PROMPTS)}
            assert entry["per_prompt"] == pytest.approx(expected, abs=1e-12)
            assert entry["mean"] == pytest.approx(np.mean(list(expected.values())), abs=1e-12)
            low, high = entry["ci95"]
            assert low <= entry["mean"] <= high
    # real human verses are more diverse than one verse with one-word edits
    assert report["results"]["diverse"]["d2"]["mean"] > report["results"]["echo"]["d2"]["mean"]
    meta = report["labels"]["d2"]
    assert (meta["type"], meta["kind"], meta["higher_is_more_diverse"]) == ("metric", "distinct_n", True)
    assert {k: meta["params"][k] for k in ("kind", "n", "label")} == {"kind": "distinct_n", "n": 2, "label": "d2"}
    assert report["systems"]["echo"]["incomplete_prompts"] == {}
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.md", "quality_vs_diversity.png",
                                              "quality_vs_diversity.svg"}
    # samples.jsonl: every evaluated sample with its text and per-metric deviation (no scorers: no scores)
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 * N_PROMPTS * K and all(s["scores"] == {} for s in samples)
    assert {s["response"] for s in samples if s["system"] == "echo"} == {
        r["response"] for r in map(json.loads, gens.read_text().splitlines()) if r["system"] == "echo"}
    assert not list(out.glob(".report-staging-*"))


def test_rows_without_system_form_the_default_system(tmp_path):
    rows = [{"prompt": prompt_text(p), "response": v} for p in range(3) for v in verses()[p * 3:(p + 1) * 3]]
    write_jsonl(tmp_path / "g.jsonl", rows)
    report = load(run_spec(_metric_only(tmp_path / "g.jsonl"), tmp_path))
    assert list(report["results"]) == ["default"]
    assert report["protocol"]["samples_per_prompt"] == 3


def test_scorers_and_plugin_versions(gens, tmp_path):
    spec = _metric_only(gens)
    spec["metrics"].append({"kind": "length_spread"})  # from the divtools-example plugin
    spec["scorers"] = [{"kind": "length"}, {"kind": "dataset_score", "column": "score", "label": "q"},
                       {"kind": "type_token_ratio"}]
    report = load(run_spec(spec, tmp_path))
    import importlib.metadata as md

    assert report["versions"]["plugins"]["example"] == md.version("divtools-example")
    assert {c["name"]: c["plugin"] for c in report["components"]}["type_token_ratio"] == "example"
    rows = [json.loads(line) for line in gens.read_text().splitlines()]
    for system in ("diverse", "echo"):
        for p in range(N_PROMPTS):
            mine = [r for r in rows if r["system"] == system and r["prompt_id"] == f"q{p}"]
            res = report["results"][system]
            assert res["length"]["per_prompt"][f"q{p}"] == pytest.approx(np.mean([len(r["response"].split()) for r in mine]))
            assert res["q"]["per_prompt"][f"q{p}"] == pytest.approx(np.mean([r["score"] for r in mine]))
    assert report["labels"]["q"]["type"] == "scorer"
    # samples.jsonl: each evaluated sample's scores, averaging to the per-prompt values
    samples = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 2 * N_PROMPTS * K
    first = samples[0]
    assert set(first) == {"system", "prompt_id", "k", "id", "sample", "response", "scores", "deviations"}
    assert set(first["scores"]) == {"length", "q", "type_token_ratio"}
    mine = [s["scores"]["q"] for s in samples if s["system"] == "echo" and s["prompt_id"] == "q3"]
    assert np.mean(mine) == pytest.approx(report["results"]["echo"]["q"]["per_prompt"]["q3"])


def test_gold_is_subsampled_to_n_and_short_prompts_are_dropped_for_every_system(gens, tmp_path):
    counts = [6, 4, 2, 9, 5, 4, 3, 7]
    write_jsonl(tmp_path / "gold.jsonl", gold_rows(counts))
    spec = _metric_only(gens)
    spec.update(gold={"path": "gold.jsonl"}, samples_per_prompt=4,
                scorers=[{"kind": "dataset_score", "column": "upvotes"}], seed=3)
    # the systems' own files have no 'upvotes' column: only the gold rows do
    with pytest.raises(UserError, match="no number in column 'upvotes'"):
        run_spec(spec, tmp_path)
    spec["scorers"][0]["missing"] = "skip"
    spec["output"]["on_existing"] = "restart"
    report = load(run_spec(spec, tmp_path))
    protocol = report["protocol"]
    assert protocol["dropped_prompts"] == {"q2": 2, "q6": 3}
    assert protocol["n_dropped_prompts"] == 2 and protocol["n_prompts_requested"] == 8
    kept = [f"q{p}" for p in (0, 1, 3, 4, 5, 7)]
    assert protocol["prompt_ids"] == kept
    assert report["order"]["systems"] == ["human", "diverse", "echo"]
    assert report["systems"]["human"]["role"] == "gold"
    for system in report["results"]:
        assert sorted(report["results"][system]["d2"]["per_prompt"]) == sorted(kept)
    # the systems have no upvotes: no value, not a zero
    assert report["results"]["echo"]["dataset_score"]["mean"] is None
    assert report["results"]["echo"]["dataset_score"]["n_prompts"] == 0
    assert report["results"]["human"]["dataset_score"]["n_prompts"] == 6
    # the same seed gives the same numbers; another seed another subsample
    again = load(run_spec(spec, tmp_path))
    assert again["results"]["human"] == report["results"]["human"]
    spec["seed"] = 4
    other = load(run_spec(spec, tmp_path))
    assert other["results"]["human"]["d2"]["per_prompt"]["q3"] != report["results"]["human"]["d2"]["per_prompt"]["q3"] \
        or other["results"]["human"]["dataset_score"] != report["results"]["human"]["dataset_score"]


def test_incomplete_system_is_reported_and_left_out(tmp_path):
    rows = []
    for p in range(4):
        for s in range(4 if p != 2 else 2):
            rows.append({"prompt": prompt_text(p), "prompt_id": f"q{p}", "system": "short", "sample": s,
                         "response": verses()[p * 4 + s]})
        for s in range(4):
            rows.append({"prompt": prompt_text(p), "prompt_id": f"q{p}", "system": "full", "sample": s,
                         "response": verses()[20 + p * 4 + s]})
    write_jsonl(tmp_path / "g.jsonl", rows)
    spec = _metric_only(tmp_path / "g.jsonl")
    spec["samples_per_prompt"] = 4
    report = load(run_spec(spec, tmp_path))
    assert report["systems"]["short"]["incomplete_prompts"] == {"q2": 2}
    assert report["systems"]["short"]["n_prompts_complete"] == 3
    assert "q2" not in report["results"]["short"]["d2"]["per_prompt"]
    assert report["results"]["short"]["d2"]["n_prompts"] == 3
    assert report["results"]["full"]["d2"]["n_prompts"] == 4
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Incomplete systems" in md and "**short**: 1 prompt(s) with fewer than N = 4" in md


def test_prompt_id_list_fixes_the_prompts(gens, tmp_path):
    (tmp_path / "ids.txt").write_text("q5\nq1\nq2\n")
    spec = _metric_only(gens)
    spec["prompts"] = {"ids_file": "ids.txt", "limit": 2}
    report = load(run_spec(spec, tmp_path))
    assert report["protocol"]["prompt_ids"] == ["q5", "q1"]
    assert set(report["results"]["echo"]["d2"]["per_prompt"]) == {"q5", "q1"}
    spec["prompts"] = {"ids": ["q1", "nope"]}
    spec["output"]["on_existing"] = "restart"
    with pytest.raises(UserError, match="appear in no prompts, gold or generations file: nope"):
        run_spec(spec, tmp_path)


def test_effective_diversity_against_a_hand_computation(tmp_path):
    texts = verses()
    rows = []
    for p in range(3):
        for s in range(4):
            rows.append({"prompt": prompt_text(p), "prompt_id": f"q{p}", "system": "m", "sample": s,
                         "response": texts[p * 4 + s], "score": [3, 1, 2, 0][(s + p) % 4]})
    write_jsonl(tmp_path / "g.jsonl", rows)
    spec = _metric_only(tmp_path / "g.jsonl")
    spec["scorers"] = [{"kind": "dataset_score", "label": "q"}]
    spec["effective_diversity"] = {"thresholds": [2, 0, 3]}
    report = load(run_spec(spec, tmp_path))
    eff = report["effective_diversity"]
    assert eff["quality"] == "q" and eff["thresholds"] == [0.0, 2.0, 3.0] and eff["metrics"] == ["d2", "distinct_n"]
    curves = eff["systems"]["m"]
    assert [p["tau"] for p in curves["share"]] == [0.0, 2.0, 3.0]
    assert [p["mean"] for p in curves["share"]] == pytest.approx([1.0, 0.5, 0.25])
    # τ = 0: every sample passes, so the value is the plain metric
    assert curves["d2"][0]["mean"] == pytest.approx(report["results"]["m"]["d2"]["mean"])
    # τ = 2: the two samples scoring >= 2 of each prompt
    expected = [_distinct([r["response"] for r in rows if r["prompt_id"] == f"q{p}" and r["score"] >= 2], 2) for p in range(3)]
    assert curves["d2"][1]["mean"] == pytest.approx(np.mean(expected))
    assert curves["d2"][1]["n_prompts"] == 3
    # τ = 3: one sample per prompt passes, no diversity can be measured
    assert curves["d2"][2]["mean"] is None and curves["d2"][2]["n_prompts"] == 0
    assert (tmp_path / "out" / "effective_diversity.png").exists()
    assert "Effective diversity" in (tmp_path / "out" / "report-appendix.md").read_text()  # the full tables


def test_default_thresholds_are_pooled_quantiles(gens, tmp_path):
    spec = _metric_only(gens)
    spec["scorers"] = [{"kind": "length"}]
    spec["effective_diversity"] = {"quantiles": 4}
    report = load(run_spec(spec, tmp_path))
    lengths = [len(json.loads(line)["response"].split()) for line in gens.read_text().splitlines()]
    assert report["effective_diversity"]["thresholds"] == sorted(set(np.quantile(lengths, [0, 0.25, 0.5, 0.75]).tolist()))


def test_same_spec_and_seed_give_identical_reports(gens, tmp_path):
    spec = _metric_only(gens)
    spec["scorers"] = [{"kind": "length"}]
    spec["effective_diversity"] = {"quantiles": 3}
    spec["output"]["on_existing"] = "restart"
    run_spec(spec, tmp_path)
    out = tmp_path / "out"
    first = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.suffix in (".json", ".md", ".svg", ".png")}
    run_spec(spec, tmp_path)
    second = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.suffix in (".json", ".md", ".svg", ".png")}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_an_error_leaves_no_partial_report(gens, tmp_path, monkeypatch):
    from divtools.reporters import plot_report

    def broken(self, report, out_dir):
        (Path(out_dir) / "half.png").write_bytes(b"x")
        raise RuntimeError("plot failed")

    monkeypatch.setattr(plot_report.PlotReporter, "write", broken)
    with pytest.raises(RuntimeError, match="plot failed"):
        run_spec(_metric_only(gens), tmp_path)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["divtools-run.json"]


def test_a_failed_rerun_keeps_the_previous_report_whole(gens, tmp_path, monkeypatch):
    run_spec(_metric_only(gens), tmp_path)
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    from divtools.reporters import markdown_report

    monkeypatch.setattr(markdown_report, "render_markdown", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run_spec(_metric_only(gens), tmp_path)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_stale_report_files_and_leftover_staging_are_removed(gens, tmp_path):
    from divtools.evaluate.compare import compare_reports

    spec = _metric_only(gens)
    spec["scorers"] = [{"kind": "length"}]
    spec["effective_diversity"] = {"quantiles": 2}
    with_sweep = run_spec(spec, tmp_path)
    (tmp_path / "out" / ".report-staging-killed").mkdir()  # left by a run killed while publishing
    run_spec(spec, tmp_path)  # the same spec resumes and publishes again
    assert not list((tmp_path / "out").glob(".report-staging-*"))
    del spec["effective_diversity"]
    spec["output"]["dir"] = "plain"
    without = run_spec(spec, tmp_path)
    compare_reports([with_sweep], tmp_path / "cmp")
    assert (tmp_path / "cmp" / "effective_diversity.svg").exists()
    compare_reports([without], tmp_path / "cmp")  # the same folder, a report without the sweep
    assert not (tmp_path / "cmp" / "effective_diversity.svg").exists()
    assert (tmp_path / "cmp" / "quality_vs_diversity.svg").exists()


def test_a_changed_spec_is_refused_unless_restart(gens, tmp_path):
    run_spec(_metric_only(gens), tmp_path)
    spec = _metric_only(gens)
    spec["metrics"].append({"kind": "distinct_n", "n": 3, "label": "d3"})
    with pytest.raises(UserError, match="different spec"):
        run_spec(spec, tmp_path)
    spec["output"]["on_existing"] = "restart"
    assert "d3" in load(run_spec(spec, tmp_path))["labels"]


NGRAM_METRICS = ["distinct_n:n=2,label=d2", "ngram_diversity", "self_bleu", "compression_ratio", "homogenization",
                 "self_repetition"]


def test_ngram_only_evaluation_never_imports_torch(gens, tmp_path):
    metrics = [arg for m in NGRAM_METRICS for arg in ("--metric", m)]
    code = (
        "import sys\n"
        "from divtools.cli.main import main\n"
        "try:\n"
        f"    main(['evaluate', '--generations', {str(gens)!r}, *{metrics!r},"
        f" '--scorer', 'length', '--scorer', 'dataset_score', '--effective-diversity',"
        f" '--out', {str(tmp_path / 'o')!r}, '--quiet'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'trl', 'peft') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    env = dict(os.environ, DIVTOOLS_LOAD_PLUGINS="")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    report = load(tmp_path / "o" / "report.json")
    assert len(report["labels"]) == len(NGRAM_METRICS) + 2
    assert (tmp_path / "o" / "effective_diversity.png").exists()
    # the lower-is-more-diverse metrics say so, and real verses beat edited copies on every metric
    for label, meta in report["labels"].items():
        if meta["type"] != "metric":
            continue
        diverse, echo = (report["results"][s][label]["mean"] for s in ("diverse", "echo"))
        assert (diverse > echo) if meta["higher_is_more_diverse"] else (diverse < echo), label


ISSUE_3_SPEC = """\
run: evaluate
generations: {path: gens.jsonl}     # JSONL rows: prompt, response, optional system, optional id
metrics:
  - {kind: distinct_n, n: 2, label: d2}
  - {kind: embedding_diversity, embedder: {kind: stylometric}, label: style}
output: {dir: out/}
"""


def test_the_metric_only_spec_of_issue_3_runs_as_written(gens, tmp_path):
    from click.testing import CliRunner

    from divtools.cli.main import cli

    (tmp_path / "spec.yaml").write_text(ISSUE_3_SPEC)
    result = CliRunner().invoke(cli, ["run", str(tmp_path / "spec.yaml"), "--quiet"])
    assert result.exit_code == 0, result.output
    report = load(tmp_path / "out" / "report.json")
    for system in ("diverse", "echo"):
        assert set(report["results"][system]) == {"d2", "style"}
        assert report["results"][system]["style"]["n_prompts"] == N_PROMPTS
    assert report["results"]["diverse"]["style"]["mean"] > report["results"]["echo"]["style"]["mean"]
    assert [c["field"] for c in report["components"] if c["kind"] == "embedder"] == ["metrics.1.embedder"]


def test_validation_errors(gens, tmp_path):
    from divtools.spec.loading import validate_spec

    def check(change: dict, message: str) -> None:
        data = {**_metric_only(gens), **change}
        with pytest.raises(UserError) as err:
            validate_spec(data, file="s.yaml", base_dir=tmp_path)
        assert message in str(err.value)

    check({"generations": None}, "nothing to evaluate")
    check({"systems": [{"name": "a b", "generations": {"path": "gens.jsonl"}}]}, "system name 'a b'")
    check({"systems": [{"name": "a"}]}, "give exactly one of 'generations'")
    check({"systems": [{"name": "a", "generations": {"path": "gens.jsonl"}},
                       {"name": "a", "generations": {"path": "gens.jsonl"}}]}, "used twice: a")
    check({"effective_diversity": {}}, "needs a quality scorer")
    check({"scorers": [{"kind": "length"}], "effective_diversity": {"quality": "nope"}}, "'nope' is not a scorer label")
    check({"prompts": {"ids": ["a", "a"]}}, "lists a prompt id twice")
    check({"samples_per_prompt": 0}, "samples_per_prompt")


def test_gold_from_a_data_source_with_cleaning(gens, tmp_path):
    rows = gold_rows([5, 5, 5, 5, 5, 5, 5, 3])
    rows.append({**rows[0], "id": "dup"})  # a repeated body: cleaning drops it
    rows.append({**rows[1], "id": "bot", "response": "**Welcome to the Prompt!** rules ..."})
    write_jsonl(tmp_path / "gold.jsonl", rows)
    source = {"kind": "jsonl", "path": "gold.jsonl",
              "columns": {"prompt_id": "prompt_id", "score": "upvotes", "response_id": "id"}}
    spec = _metric_only(gens)
    spec.update(gold={"source": source, "cleaning": {"min_responses": 2}, "name": "reddit"}, samples_per_prompt=4,
                scorers=[{"kind": "dataset_score", "column": "score", "missing": "skip"}])
    report = load(run_spec(spec, tmp_path))
    gold = report["systems"]["reddit"]
    assert gold["role"] == "gold" and gold["source"]["source"] == "jsonl"
    assert gold["source"]["plugin"] == "divtools.builtins.sources"
    assert gold["source"]["cleaning"]["responses"] == {"bot_comment": 1, "duplicate": 1}
    assert report["protocol"]["dropped_prompts"] == {"q7": 3}
    # the source's score column (upvotes) is what dataset_score reads for gold rows
    assert report["results"]["reddit"]["dataset_score"]["n_prompts"] == 7
    file_based = _metric_only(gens)
    file_based.update(gold={"path": "gold.jsonl", "name": "reddit", "cleaning": {}}, samples_per_prompt=4,
                      output={"dir": "out2"})
    same = load(run_spec(file_based, tmp_path))
    assert same["results"]["reddit"]["d2"] == report["results"]["reddit"]["d2"]


def test_system_order_follows_the_spec(gens, tmp_path):
    rows = [json.loads(line) for line in gens.read_text().splitlines()]
    write_jsonl(tmp_path / "a.jsonl", [r for r in rows if r["system"] == "diverse"])
    write_jsonl(tmp_path / "b.jsonl", [r for r in rows if r["system"] == "echo"])
    write_jsonl(tmp_path / "both.jsonl", [{**r, "system": "x" + r["system"]} for r in rows])
    spec = _metric_only(tmp_path / "both.jsonl")
    spec["systems"] = [{"name": "zeta", "generations": {"path": "b.jsonl"}},
                       {"name": "alpha", "generations": {"path": "a.jsonl"}}]
    report = load(run_spec(spec, tmp_path))
    assert report["order"]["systems"] == ["xdiverse", "xecho", "zeta", "alpha"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.index("| zeta |") < md.index("| alpha |")
    # a system read twice under two names gives the same numbers
    assert report["results"]["zeta"]["d2"] == {**report["results"]["xecho"]["d2"], "ci95": report["results"]["zeta"]["d2"]["ci95"]}


def test_progress_bars_and_quiet_mode(gens, tmp_path, capsys):
    spec = _metric_only(gens)
    spec["scorers"] = [{"kind": "length"}]
    spec["reporters"] = [{"kind": "json"}]
    run_spec(spec, tmp_path, quiet=False)
    err = capsys.readouterr().err
    # stderr is not a terminal here: plain lines (divtools.progress), no tqdm bar
    assert "d2 [diverse]: 8/8 prompt (100%)" in err and "length [echo]: 32/32 sample (100%)" in err
    assert "\r" not in err
    spec["output"]["dir"] = "quiet"
    run_spec(spec, tmp_path, quiet=True)
    assert capsys.readouterr().err == ""
