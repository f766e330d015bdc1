"""Malformed data files through ``divtools run``: each gives a clear error (exit code 2, no
traceback, the message names the file, the line or row and the field) or a documented, counted
handling. The files are in ``bad_data/`` (regenerate with ``make_bad_data.py``); the table below
is the contract, and ``docs/errors.md`` lists it for users.

File-name prefix -> what reads it: ``jsonl_``/``csv_``/``parquet_``/``wp_`` the prepare sources
(jsonl, csv, parquet, writingprompts), ``gens_`` an evaluate generations file, ``gold_`` an
evaluate gold file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import BAD_DATA, run_cli


@dataclass(frozen=True)
class Error:
    """Exit code 2; the message holds every fragment (line/row and field included)."""

    fragments: tuple[str, ...]


@dataclass(frozen=True)
class Counted:
    """The run succeeds and the count at ``key`` (a path into summary.json / report.json) is ``value``."""

    key: tuple[str, ...]
    value: object


E = lambda *f: Error(f)  # noqa: E731

CASES: dict[str, Error | Counted] = {
    # ---- prepare, jsonl source
    "jsonl_missing_score_column.jsonl": E("source.columns.score: column 'score' (columns.score) not found",
                                          "the data has: prompt, response, id"),
    "jsonl_missing_field_in_row_4.jsonl": E("score: line 4: field 'score' is missing"),
    "jsonl_extra_columns.jsonl": Counted(("loaded", "responses"), 6),  # extra columns are ignored
    "jsonl_score_not_a_number.jsonl": E("score: line 2: score 'lots' is not a number"),
    "jsonl_score_nan.jsonl": E("score: line 3: score nan is not a finite number"),
    "jsonl_score_infinity.jsonl": E("score: line 5: score -inf is not a finite number"),
    "jsonl_score_bool.jsonl": E("score: line 1: score True is not a number"),
    "jsonl_score_list.jsonl": E("score: line 6: score of type list is not a number"),
    "jsonl_response_not_text.jsonl": E("response: line 3: response must be text, got int"),
    "jsonl_prompt_not_text.jsonl": E("prompt: line 5: prompt must be text, got dict"),
    "jsonl_prompt_null.jsonl": E("prompt: line 1: prompt is empty or null"),
    "jsonl_empty_strings.jsonl": Counted(("cleaning_dropped", "responses", "empty"), 2),
    "jsonl_duplicate_responses.jsonl": Counted(("cleaning_dropped", "responses", "duplicate"), 1),
    "jsonl_duplicate_ids.jsonl": E("id: line 5: response id 'f1' appears twice"),
    "jsonl_single_response_prompts.jsonl": Counted(("cleaning_dropped", "prompts", "too_few_responses"), 2),
    "jsonl_invalid_utf8.jsonl": E("line 3: not valid UTF-8"),
    "jsonl_truncated_last_line.jsonl": E("line 6, column 31: not valid JSON"),
    "jsonl_non_json_line.jsonl": E("line 4, column 1: not valid JSON"),
    "jsonl_array_line.jsonl": E("line 3: expected a JSON object, got list"),
    "jsonl_lone_surrogate.jsonl": E("response: line 2: response holds an invalid character"),
    "jsonl_empty.jsonl": E("the data has no rows"),
    # ---- prepare, csv source
    "csv_ragged_row.csv": E("line 4: 2 fields, the header has 4"),
    "csv_missing_score_column.csv": E("source.columns.score: column 'score' (columns.score) not found"),
    "csv_score_nan.csv": E("score: line 3: score 'nan' is not a finite number"),
    "csv_score_empty.csv": E("score: line 4: score is missing"),
    "csv_header_only.csv": E("the data has no rows"),
    "csv_unclosed_quote.csv": E("line 5: 1 fields, the header has 4 (a quote left open?)"),
    "csv_invalid_utf8.csv": E("line 6: not valid UTF-8"),
    # ---- prepare, parquet source
    "parquet_score_string.parquet": E("score: row 4: score 'many' is not a number"),
    "parquet_null_score.parquet": E("score: row 3: score is missing"),
    "parquet_score_nan.parquet": E("score: row 6: score nan is not a finite number"),
    "parquet_missing_response_column.parquet": E("source.columns.response: column 'response'", "the data has: prompt, text, score"),
    "parquet_response_int.parquet": E("response: row 1: response must be text, got int"),
    "parquet_not_parquet.parquet": E("not a readable Parquet file"),
    # ---- prepare, writingprompts source (local file)
    "wp_length_mismatch.jsonl": E("comment_scores: line 2: 2 responses but 1 scores"),
    "wp_title_not_text.jsonl": E("post_title: line 2: post_title and post_text must be text"),
    "wp_missing_post_text.jsonl": E("column 'post_text' not found"),
    "wp_scores_not_a_list.jsonl": E("comment_scores: line 2: expected a list"),
    "wp_score_nan.jsonl": E("comment_scores: line 2: score nan is not a finite number"),
    # ---- evaluate, generations file
    "gens_missing_response.jsonl": E("line 2: 'response' must be a string (missing)"),
    "gens_response_not_text.jsonl": E("line 5: 'response' must be a string (a list)"),
    "gens_prompt_null.jsonl": E("line 1: 'prompt' must be a string (a NoneType)"),
    "gens_duplicate_ids.jsonl": E("line 6: id 'n1' appears twice"),
    "gens_duplicate_sample_index.jsonl": E("line 3: system 'm', prompt", "sample 1 appears twice"),
    "gens_negative_sample_index.jsonl": E("line 3: 'sample' must be a non-negative integer"),
    "gens_prompt_id_two_texts.jsonl": E("line 4: prompt_id 'p1' appears with two different prompt texts"),
    "gens_system_not_text.jsonl": E("line 4: 'system' must be a string"),
    "gens_invalid_utf8.jsonl": E("line 4: not valid UTF-8"),
    "gens_truncated_last_line.jsonl": E("line 6, column"),
    "gens_non_json_line.jsonl": E("line 3, column 1: not valid JSON"),
    "gens_blank_lines_only.jsonl": E("no generations in this file"),
    # an empty generation is a real output of a model: kept and measured
    "gens_empty_responses.jsonl": Counted(("systems", "m", "n_prompts_complete"), 2),
    "gens_single_response_prompt.jsonl": Counted(("systems", "m", "n_incomplete_prompts"), 1),
    # ---- evaluate, gold file
    "gold_missing_prompt.jsonl": E("line 5: 'prompt' must be a string (missing)"),
    "gold_duplicate_ids.jsonl": E("line 3: id 'h0' appears twice"),
    "gold_invalid_utf8.jsonl": E("line 5: not valid UTF-8"),
    "gold_too_few_for_one_prompt.jsonl": Counted(("protocol", "n_dropped_prompts"), 1),
}

#: with ``source.on_bad_row: drop`` these rows are dropped and counted by reason
DROPPED = {
    "jsonl_score_not_a_number.jsonl": "bad_score",
    "jsonl_score_nan.jsonl": "bad_score",
    "jsonl_missing_field_in_row_4.jsonl": "missing_field",
    "jsonl_response_not_text.jsonl": "bad_response",
    "jsonl_prompt_null.jsonl": "missing_prompt",
    "jsonl_duplicate_ids.jsonl": "duplicate_id",
    "csv_score_empty.csv": "missing_score",
    "parquet_null_score.parquet": "missing_score",
    "wp_length_mismatch.jsonl": "length_mismatch",
    "wp_scores_not_a_list.jsonl": "bad_list",
}

GENS_GOOD = [{"system": "m", "prompt": p, "response": t, "sample": i}
             for p, texts in [("Write about the sea.", ["Waves.", "Salt and wind.", "Gulls cry."]),
                              ("Write about fire.", ["Burns.", "Embers glow.", "Smoke rises."])]
             for i, t in enumerate(texts)]


def spec_for(path: Path, out: Path, **source_extra) -> dict:
    name = path.name
    if name.startswith(("jsonl_", "csv_", "parquet_", "wp_")):
        kind = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet", "wp": "writingprompts"}[name.split("_")[0]]
        columns = {"columns": {"response_id": "id"}} if kind != "writingprompts" and "ids" in name else {}
        return {"run": "prepare", "source": {"kind": kind, "path": str(path), **columns, **source_extra},
                "split": {"eval_fraction": 0}, "output": {"dir": str(out)}}
    evaluate = {"run": "evaluate", "metrics": [{"kind": "distinct_n", "n": 1}], "reporters": [{"kind": "json"}],
                "bootstrap_samples": 100, "output": {"dir": str(out)}}
    if name.startswith("gens_"):
        return {**evaluate, "generations": {"path": str(path)}}
    good = out.parent / "good_gens.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in GENS_GOOD), encoding="utf-8")
    return {**evaluate, "generations": {"path": str(good)}, "gold": {"path": str(path)}}


def _dig(data, key):
    for k in key:
        data = data[k]
    return data


def test_the_corpus_is_complete_and_big_enough():
    files = sorted(p.name for p in BAD_DATA.iterdir())
    assert files == sorted(CASES), "every file in bad_data/ needs a CASES entry and vice versa"
    assert len(files) >= 20
    assert {f.split("_")[0] for f in files} == {"jsonl", "csv", "parquet", "wp", "gens", "gold"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_data_file(name, tmp_path):
    path = BAD_DATA / name
    out = tmp_path / "out"
    result = run_cli(spec_for(path, out), tmp_path)
    assert result.exception is None, f"traceback: {result.exception!r}"
    assert "Traceback" not in result.output
    expect = CASES[name]
    if isinstance(expect, Error):
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"{path}: "), result.output  # the file first
        for fragment in expect.fragments:
            assert fragment in result.output
        assert not (out / "train.jsonl").exists() and not (out / "report.json").exists()
    else:
        assert result.exit_code == 0, result.output
        record = out / ("summary.json" if (out / "summary.json").exists() else "report.json")
        assert _dig(json.loads(record.read_text(encoding="utf-8")), expect.key) == expect.value


@pytest.mark.parametrize("name", sorted(DROPPED))
def test_on_bad_row_drop_counts_the_row(name, tmp_path):
    path = BAD_DATA / name
    result = run_cli(spec_for(path, tmp_path / "out", on_bad_row="drop"), tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["source_dropped_rows"] == {DROPPED[name]: 1}


# ---------------------------------------------------------------- generated: too big to commit
def test_a_10_megabyte_line_is_a_counted_drop_in_prepare_and_measured_in_evaluate(tmp_path):
    big = "word " * 2_000_000  # a 10 MB response on one line
    rows = [{"prompt": "P", "response": t, "score": s} for t, s in [("a b c", 1), ("d e f", 5), ("g h", 9), (big, 3)]]
    data = tmp_path / "big.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert data.stat().st_size > 10_000_000
    result = run_cli({"run": "prepare", "source": {"kind": "jsonl", "path": str(data)}, "split": {"eval_fraction": 0},
                      "output": {"dir": str(tmp_path / "p")}}, tmp_path, "p.yaml")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["cleaning_dropped"]["responses"] == {"too_long_chars": 1}  # cleaning.max_chars
    gens = tmp_path / "gens.jsonl"
    gens.write_text("".join(json.dumps({"prompt": "P", "response": r["response"], "sample": i}) + "\n"
                            for i, r in enumerate(rows)), encoding="utf-8")
    result = run_cli({"run": "evaluate", "generations": {"path": str(gens)}, "metrics": [{"kind": "distinct_n", "n": 1}],
                      "reporters": [{"kind": "json"}], "bootstrap_samples": 100, "output": {"dir": str(tmp_path / "e")}},
                     tmp_path, "e.yaml")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "e" / "report.json").read_text())
    assert report["systems"]["default"]["n_prompts_complete"] == 1 and report["protocol"]["samples_per_prompt"] == 4


def test_twenty_thousand_prompts_with_one_response_each(tmp_path):
    n = 20_000
    data = tmp_path / "single.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Prompt {i}", "response": f"Answer {i}", "score": i % 7}) + "\n"
                            for i in range(n)), encoding="utf-8")
    result = run_cli({"run": "prepare", "source": {"kind": "jsonl", "path": str(data)},
                      "output": {"dir": str(tmp_path / "p")}}, tmp_path, "p.yaml")
    assert result.exit_code == 2 and result.exception is None
    assert result.output.startswith(f"{data}: cleaning: no prompt is left with at least 2 responses")
    assert f"{n} prompts, {n} responses loaded; dropped: {{'prompt_too_few_responses': {n}}}" in result.output
    assert not (tmp_path / "p").exists()
    # with two real prompts among them, the 20k are counted drops and the run goes on
    with data.open("a", encoding="utf-8") as fh:
        for p in ("sea", "fire"):
            for i, s in enumerate((1, 6, 12)):
                fh.write(json.dumps({"prompt": p, "response": f"{p} answer {i}", "score": s}) + "\n")
    result = run_cli({"run": "prepare", "source": {"kind": "jsonl", "path": str(data)}, "split": {"eval_fraction": 0},
                      "output": {"dir": str(tmp_path / "p")}}, tmp_path, "p.yaml")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["cleaning_dropped"]["prompts"] == {"too_few_responses": n}
    assert summary["splits"]["train"]["prompts"] == 2
    # evaluate with N = 2: every one-sample prompt is reported incomplete, never averaged in
    gens = tmp_path / "gens.jsonl"
    gens.write_text("".join(json.dumps({"system": "m", "prompt": f"Prompt {i}", "response": f"Answer {i}"}) + "\n"
                            for i in range(n)), encoding="utf-8")
    result = run_cli({"run": "evaluate", "generations": {"path": str(gens)}, "samples_per_prompt": 2,
                      "metrics": [{"kind": "distinct_n", "n": 1}], "reporters": [{"kind": "json"}],
                      "bootstrap_samples": 100, "output": {"dir": str(tmp_path / "e")}}, tmp_path, "e.yaml")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "e" / "report.json").read_text())
    assert report["systems"]["m"]["n_incomplete_prompts"] == n and report["systems"]["m"]["n_prompts_complete"] == 0
    assert report["results"]["m"]["distinct_n"]["n_prompts"] == 0 and report["results"]["m"]["distinct_n"]["mean"] is None
