"""Issue #12 item 8 (part): inputs that were accepted silently now stop with exit 2 and a message.

- a gold file that shares no prompt with the generations (exit 0 before, the system "0 complete");
- ``-n`` / ``samples_per_prompt`` with no upper bound (1e20 was accepted);
- N = 1 inferred from the generations (no diversity can be measured);
- a score string ``"1_000"`` read as 1000 (Python's float() accepts underscores; scores must be
  spelt as JSON/YAML numbers);
- evaluate accepting an empty prompt that prepare refuses (one rule for both now).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.conftest import run_cli

VERSES = [
    "A soft answer turneth away wrath: but grievous words stir up anger.",
    "The eyes of the LORD are in every place, beholding the evil and the good.",
    "A wholesome tongue is a tree of life.",
    "A fool despiseth his father's instruction.",
    "In the house of the righteous is much treasure.",
    "The lips of the wise disperse knowledge.",
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _gens(path: Path, prompts: list[str], k: int = 3, prompt_text=lambda p: f"Write about {p}.") -> Path:
    return _write(path, [{"prompt": prompt_text(p), "prompt_id": p, "sample": s,
                          "response": VERSES[(i + s) % len(VERSES)]} for i, p in enumerate(prompts) for s in range(k)])


def _evaluate(tmp_path: Path, **over) -> dict:
    spec = {"run": "evaluate", "metrics": [{"kind": "distinct_n"}], "reporters": [{"kind": "json"}],
            "output": {"dir": str(tmp_path / "out")}}
    spec.update(over)
    return spec


def test_gold_sharing_no_prompt_with_the_generations_is_an_error(tmp_path):
    gens = _gens(tmp_path / "gens.jsonl", ["a", "b"])
    gold = _gens(tmp_path / "gold.jsonl", ["x", "y"], k=4)
    result = run_cli(_evaluate(tmp_path, generations={"path": str(gens)}, gold={"path": str(gold)}), tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "system 'default' shares no prompt with the gold responses" in result.output
    assert "prompt_id" in result.output
    assert not (tmp_path / "out" / "report.json").exists()
    # the same files sharing their prompts run
    gold_ok = _gens(tmp_path / "gold-ok.jsonl", ["a", "b"], k=4)
    ok = run_cli(_evaluate(tmp_path, generations={"path": str(gens)}, gold={"path": str(gold_ok)},
                           output={"dir": str(tmp_path / "ok")}), tmp_path)
    assert ok.exit_code == 0, ok.output


def test_samples_per_prompt_has_an_upper_bound(tmp_path):
    from click.testing import CliRunner

    from divtools.cli.main import cli

    gens = _gens(tmp_path / "gens.jsonl", ["a", "b"])
    result = CliRunner().invoke(cli, ["evaluate", "--generations", str(gens), "--metric", "distinct_n",
                                      "-n", "100000000000000000000", "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "-n" in result.output and "10000" in result.output.replace(",", "").replace("_", "")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    over = run_cli(_evaluate(tmp_path, generations={"path": str(gens)}, samples_per_prompt=10_001), tmp_path)
    assert over.exit_code == 2 and over.exception is None
    backend = run_cli(_evaluate(tmp_path, prompts={"path": str(gens)},
                                systems=[{"name": "m", "backend": {"kind": "transformers", "model": "x"},
                                          "num_samples": 10**20}]), tmp_path)
    assert backend.exit_code == 2 and backend.exception is None and "num_samples" in backend.output


def test_n_of_one_inferred_is_an_error(tmp_path):
    gens = _gens(tmp_path / "gens.jsonl", ["a", "b", "c"], k=1)
    result = run_cli(_evaluate(tmp_path, generations={"path": str(gens)}), tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "N = 1 was inferred and no diversity can be measured" in result.output
    assert not (tmp_path / "out" / "report.json").exists()


@pytest.mark.parametrize("text,value", [("1000", 1000.0), (" 1e3 ", 1000.0), ("-2.5", -2.5), (".5", 0.5),
                                        ("+7", 7.0), ("3.", 3.0), ("1E-2", 0.01), ("007", 7.0)])
def test_scores_spelt_as_json_or_yaml_numbers_are_read(text, value):
    from divtools.data.sources.rows import parse_score

    assert parse_score(text, "score") == value


@pytest.mark.parametrize("text", ["1_000", "1_0.5", "١٢", "0x10", "infinity", "nan", "1,000", "1e", "--1", "½"])
def test_other_score_spellings_are_refused(text):
    from divtools.data.sources.rows import BadRow, parse_score

    with pytest.raises(BadRow) as exc:
        parse_score(text, "score")
    assert exc.value.reason == "bad_score"
    # every one of these is a number to Python's float() or int() except the last few
    if text in ("1_000", "1_0.5", "١٢", "infinity", "nan"):
        float(text)


def test_prepare_refuses_a_score_with_underscores(tmp_path):
    rows = [{"prompt": "p", "response": VERSES[i], "score": s} for i, s in enumerate(["1_000", "5", "9"])]
    data = _write(tmp_path / "data.jsonl", rows)
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(data)},
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "data.jsonl" in result.output and "score" in result.output and "'1_000'" in result.output
    assert not (tmp_path / "out" / "train.jsonl").exists()


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_evaluate_refuses_the_empty_prompt_prepare_refuses(tmp_path, prompt):
    rows = [{"prompt": "Write.", "prompt_id": "a", "sample": s, "response": VERSES[s], "score": s} for s in range(3)]
    rows += [{"prompt": prompt, "sample": s, "response": VERSES[s + 3], "score": s} for s in range(3)]
    gens = _write(tmp_path / "gens.jsonl", rows)
    result = run_cli(_evaluate(tmp_path, generations={"path": str(gens)}), tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "gens.jsonl: prompt: line 4: prompt is empty or null" in result.output
    # prepare, on the same rows, refuses with the same words
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(gens)},
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "prep")}}
    prep = run_cli(spec, tmp_path, "prepare.yaml")
    assert prep.exit_code == 2 and "prompt is empty or null" in prep.output
    # and a prompts file with an empty prompt is refused too
    prompts = _write(tmp_path / "prompts.jsonl", [{"prompt": "Write.", "prompt_id": "a"}, {"prompt": prompt, "prompt_id": "b"}])
    good = _write(tmp_path / "good.jsonl", rows[:3])
    pf = run_cli(_evaluate(tmp_path, generations={"path": str(good)}, prompts={"path": str(prompts)}), tmp_path)
    assert pf.exit_code == 2 and "prompts.jsonl: prompt: line 2: prompt is empty or null" in pf.output
