"""Prepare's data diagnostics: summary.json, the printed warnings, and ``divtools inspect``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from divtools.cli.main import cli
from divtools.data.diagnostics import LENGTH_RHO_WARN, ZERO_WEIGHT_WARN, diagnose_folder, diagnose_rows, format_diagnostics

from .test_prepare_run import read_jsonl, run, spec


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("diag") / "out"
    run(spec(out, weights={"preset": "paper"}))
    return out


def test_summary_numbers_match_an_independent_count(prepared):
    from scipy.stats import spearmanr

    summary = json.loads((prepared / "summary.json").read_text())
    d = summary["diagnostics"]["splits"]["train"]
    rows = read_jsonl(prepared / "train.jsonl")
    w = np.array([r["weight"] for r in rows])
    clen = np.array([len(r["chosen"].split()) for r in rows])
    rlen = np.array([len(r["rejected"].split()) for r in rows])
    assert d["pairs"] == len(rows)
    assert d["share_zero_weight"] == pytest.approx(np.mean(w == 0))
    assert d["share_zero_weight"] > 0  # the paper preset: each pool's least deviating winner weighs 0
    assert d["weight_length_spearman"] == pytest.approx(spearmanr(w, clen).statistic)
    assert d["length_gap"]["mean_words"] == pytest.approx(np.mean(clen - rlen))
    assert d["length_gap"]["share_chosen_longer"] == pytest.approx(np.mean(clen > rlen))
    # the same pools and constant-deviation counts that the weight step itself recorded
    stats = summary["splits"]["train"]
    assert d["pools"] == stats["pools"] and d["pool_sizes"] == stats["pool_sizes"]
    assert d["pools_constant_deviation"] == stats["pools_constant_deviation"]


def test_inspect_recomputes_the_same_from_an_old_folder(prepared, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(prepared, old)
    summary = json.loads((old / "summary.json").read_text())
    expected = summary.pop("diagnostics")
    (old / "summary.json").write_text(json.dumps(summary))  # as an earlier divtools wrote it
    assert diagnose_folder(old) == json.loads(json.dumps(expected))
    result = CliRunner().invoke(cli, ["inspect", str(old)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == format_diagnostics(expected)
    as_json = CliRunner().invoke(cli, ["inspect", str(old), "--json"])
    assert json.loads(as_json.output) == json.loads(json.dumps(expected))


def test_inspect_refuses_a_folder_that_is_not_a_prepare_run(tmp_path):
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path)])
    assert result.exit_code == 2
    assert "has no summary.json" in result.output and "Traceback" not in result.output


def _pools_of_three(path: Path) -> Path:
    """Three KJV verses per prompt (the fixture's own), scored 0, 10, 20: gap-5 pairs from pools
    of 2-3 responses, where min-max gives the least deviating response of each pool weight 0."""
    rows = read_jsonl(Path(__file__).parent / "kjv_groups.jsonl")
    by_prompt: dict[str, list[dict]] = {}
    for r in rows:
        by_prompt.setdefault(r["prompt"], []).append(r)
    out = []
    for prompt, members in by_prompt.items():
        for k, r in enumerate(members[:3]):
            out.append({**r, "score": 10 * k})
    path.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    return path


def test_zero_weight_warning_names_the_fix_and_the_floor_preset_silences_it(tmp_path, capfd):
    data = _pools_of_three(tmp_path / "small_pools.jsonl")
    source = {"kind": "jsonl", "path": str(data), "columns": {"response_id": "id"}}
    out = tmp_path / "paper"
    run(spec(out, source=source, weights={"preset": "paper"}), quiet=True)
    err = capfd.readouterr().err
    d = json.loads((out / "summary.json").read_text())["diagnostics"]["splits"]["train"]
    assert d["share_zero_weight"] > ZERO_WEIGHT_WARN
    assert f"warning: train: {d['share_zero_weight']:.0%} of pairs have weight 0" in err  # printed even with quiet
    assert "weights.floor" in err and "paper_floor" in err
    paper_weights = np.array([r["weight"] for r in read_jsonl(out / "train.jsonl")])

    floored = tmp_path / "floor"
    run(spec(floored, source=source, weights={"preset": "paper_floor"}), quiet=True)
    err = capfd.readouterr().err
    d = json.loads((floored / "summary.json").read_text())["diagnostics"]["splits"]["train"]
    # same pairs (same seed): every paper weight below the 0.2 floor is now at it
    assert d["share_zero_weight"] == 0 and d["share_at_floor"] == pytest.approx(np.mean(paper_weights < 0.2))
    assert "weight 0" not in err


def test_two_response_pools_warning_and_pool_all_gives_the_weights_back(tmp_path, capfd):
    """best_vs_worst keeps two responses per prompt: with weights.pool: pairs each pool's two
    embedding deviations are equal (each is the cosine distance to the other), so every weight is
    1 and prepare says so; pool: all measures the winner against every response of its prompt."""
    tfidf = [{"kind": "embedding_diversity", "label": "tfidf", "embedder": {"kind": "tfidf"}}]
    pairs = tmp_path / "pairs"
    run(spec(pairs, pair_builder={"kind": "best_vs_worst"}, metrics=tfidf, weights={"preset": "paper"}), quiet=True)
    err = capfd.readouterr().err
    d = json.loads((pairs / "summary.json").read_text())["diagnostics"]["splits"]["train"]
    assert d["share_in_two_response_pools"] == 1.0 and d["share_in_constant_pools"] == 1.0
    assert {r["weight"] for r in read_jsonl(pairs / "train.jsonl")} == {1.0}
    assert "warning: train: 100% of pairs come from pools whose responses all have the same deviation" in err
    assert "weights.pool: all" in err

    every = tmp_path / "all"
    run(spec(every, pair_builder={"kind": "best_vs_worst"}, metrics=tfidf, weights={"preset": "paper", "pool": "all"}),
        quiet=True)
    err = capfd.readouterr().err
    assert len({r["weight"] for r in read_jsonl(every / "train.jsonl")}) > 1
    assert "same deviation" not in err
    # no deviation metric: weights are 1 on purpose, nothing to warn about
    plain = tmp_path / "plain"
    run(spec(plain, pair_builder={"kind": "best_vs_worst"}, metrics=[]), quiet=True)
    assert "same deviation" not in capfd.readouterr().err


def _rows(weights, chosen_words, rejected_words):
    return [{"prompt_id": f"p{i // 2}", "chosen_id": f"c{i}", "rejected_id": f"r{i}", "weight": w,
             "chosen": " ".join(["word"] * c), "rejected": " ".join(["word"] * r)}
            for i, (w, c, r) in enumerate(zip(weights, chosen_words, rejected_words))]


def test_warnings_fire_beyond_the_stated_levels():
    summary = {"weights_settings": {"preset": "paper", "floor": None}, "components": {"metrics": {}}}
    lengths = list(range(5, 25))
    # weights rising with the winner's length: rho = 1 > LENGTH_RHO_WARN
    diag = diagnose_rows({"train": _rows([L / 10 for L in lengths], lengths, [3] * 20)}, summary)
    assert diag["splits"]["train"]["weight_length_spearman"] == pytest.approx(1.0)
    (warning,) = diag["warnings"]
    assert f"±{LENGTH_RHO_WARN}" in warning and "weights.cap" in warning and "weights.preset: uniform" in warning
    # a quarter of the pairs at 0 (above 20%), weights unrelated to length
    w = [0.0, 1.0, 1.3, 0.7] * 5
    diag = diagnose_rows({"train": _rows(w, [10] * 20, [8] * 20)}, summary)
    assert diag["splits"]["train"]["share_zero_weight"] == 0.25
    assert len(diag["warnings"]) == 1 and "25% of pairs have weight 0" in diag["warnings"][0]
    # 15% at 0 and no correlation: silent
    w = [0.0] * 3 + [1.0] * 17
    assert diagnose_rows({"train": _rows(w, [10] * 20, [8] * 20)}, summary)["warnings"] == []


@pytest.mark.slow
def test_the_quickstart_prepare_step_keeps_every_pair_and_plain_paper_would_warn(tmp_path, capfd):
    """examples/quickstart.yaml's prepare step (MiniLM + stylometric deviations) into a temporary
    folder: its paper_floor weights keep every pair, and the same step with plain ``paper`` gives
    43% of the training pairs weight 0 and warns. Its token budget is left out: it drops none of
    the bundled stories (summary.json's cleaning counts: bot 1, deleted 2, duplicate 1) and would
    only add the SmolLM2 tokenizer's materialisation, which the quickstart's own test covers."""
    import yaml

    from divtools.runs import run_spec_data

    examples = Path(__file__).parents[2] / "examples"
    step = yaml.safe_load((examples / "quickstart.yaml").read_text(encoding="utf-8"))["steps"]["prepare"]
    step.get("cleaning", {}).pop("max_tokens", None)
    assert step["weights"] == {"preset": "paper_floor"}
    found = {}
    for preset in ("paper_floor", "paper"):
        out = tmp_path / preset
        run_spec_data({**step, "weights": {"preset": preset}, "output": {"dir": str(out)}},
                      file=str(examples / "quickstart.yaml"), base_dir=examples, quiet=True)
        summary = json.loads((out / "summary.json").read_text())
        found[preset] = (summary["diagnostics"]["splits"]["train"], capfd.readouterr().err)
        assert summary["cleaning_dropped"]["responses_total"] == 4
    floor, floor_err = found["paper_floor"]
    assert floor["share_zero_weight"] == 0 and "weight 0" not in floor_err
    paper, paper_err = found["paper"]
    assert paper["share_zero_weight"] > ZERO_WEIGHT_WARN
    assert f"warning: train: {paper['share_zero_weight']:.0%} of pairs have weight 0" in paper_err
