"""``run: prepare`` end to end: files, columns, weights, determinism, resume, bad data."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from divtools.errors import UserError
from divtools.runs import run_spec_data

from .conftest import KJV

FIXED = ["prompt", "chosen", "rejected", "weight", "chosen_score", "rejected_score",
         "prompt_id", "chosen_id", "rejected_id", "pair_builder"]


def spec(out: Path, **over):
    data = {
        "run": "prepare",
        "seed": 1,
        "source": {"kind": "jsonl", "path": str(KJV), "columns": {"response_id": "id"}},
        "metrics": [{"kind": "distinct_n", "n": 1, "label": "uni"}],
        "output": {"dir": str(out), "formats": ["jsonl", "parquet"]},
    }
    data.update(over)
    return data


def run(data, base: Path | None = None, quiet=True):
    return run_spec_data(data, file="spec.yaml", base_dir=base or Path.cwd(), quiet=quiet)


def read_jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def reference_weights(devs):
    lo, hi = min(devs), max(devs)
    s = [0.0] * len(devs) if hi - lo <= 1e-12 else [2 * (d - lo) / (hi - lo) - 1 for d in devs]
    u = [(x + 1) / 2 for x in s]
    return [x / (sum(u) / len(u)) for x in u]


def test_prepare_writes_the_dataset_the_trainer_reads(tmp_path):
    out = tmp_path / "out"
    main = run(spec(out, reward_data=True))
    assert main == out / "train.jsonl"
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["files"]) == {"train.jsonl", "train.parquet", "eval.jsonl", "eval.parquet",
                                     "eval_responses.jsonl", "reward_train.jsonl", "reward_eval.jsonl", "summary.json"}
    rows = read_jsonl(main)
    assert list(rows[0]) == FIXED + ["deviation_uni_chosen", "deviation_uni_rejected"]
    assert all(r["pair_builder"] == "gap_disjoint" and r["chosen_score"] > r["rejected_score"] for r in rows)
    assert len(rows) == summary["splits"]["train"]["pairs"]

    # independent check of the paper preset from the written deviations: per prompt, the pool is the
    # responses appearing in its pairs; the chosen weight is its min-max weight over that pool
    pools = defaultdict(dict)
    for r in rows:
        pools[r["prompt_id"]][r["chosen_id"]] = r["deviation_uni_chosen"]
        pools[r["prompt_id"]][r["rejected_id"]] = r["deviation_uni_rejected"]
    for r in rows:
        ids = list(pools[r["prompt_id"]])
        w = reference_weights([pools[r["prompt_id"]][i] for i in ids])
        assert r["weight"] == pytest.approx(w[ids.index(r["chosen_id"])], abs=1e-9)

    # loadable by datasets, both formats, same content
    import datasets

    js = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train", cache_dir=str(tmp_path / "c"))
    pq = datasets.load_dataset("parquet", data_files=str(out / "train.parquet"), split="train", cache_dir=str(tmp_path / "c"))
    assert js.column_names == pq.column_names == list(rows[0])
    assert pq["weight"] == pytest.approx([r["weight"] for r in rows]) and pq["chosen"] == [r["chosen"] for r in rows]

    counts = summary["loaded"]["responses"]
    assert counts == 388 == summary["after_cleaning"]["responses"] + summary["cleaning_dropped"]["responses_total"]
    split = summary["splits"]
    assert split["train"]["prompts"] + split["eval"]["prompts"] == summary["after_cleaning"]["prompts"]
    gens = read_jsonl(out / "eval_responses.jsonl")
    assert {g["system"] for g in gens} == {"human"} and len(gens) == split["eval"]["responses"]
    reward = read_jsonl(out / "reward_train.jsonl")
    assert min(r["target"] for r in reward) == -1.0 and max(r["target"] for r in reward) == 1.0
    assert summary["weights_settings"]["preset"] == "paper" and summary["spec_sha256"]


def test_same_spec_twice_is_byte_identical_and_other_seed_differs(tmp_path):
    run(spec(tmp_path / "a"))
    run(spec(tmp_path / "b"))
    for name in ("train.jsonl", "train.parquet", "eval.jsonl", "eval.parquet", "eval_responses.jsonl", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    run(spec(tmp_path / "c", seed=2))
    a = [(r["chosen_id"], r["rejected_id"]) for r in read_jsonl(tmp_path / "a" / "train.jsonl")]
    c = [(r["chosen_id"], r["rejected_id"]) for r in read_jsonl(tmp_path / "c" / "train.jsonl")]
    assert a != c


def test_divpo_builder_is_recorded_in_every_row(tmp_path):
    data = spec(tmp_path / "d", pair_builder={"kind": "divpo", "criteria": [
        {"type": "deviation", "metric": {"kind": "distinct_n", "n": 2}}]}, metrics=[])
    run(data)
    rows = read_jsonl(tmp_path / "d" / "train.jsonl")
    assert rows and {r["pair_builder"] for r in rows} == {"divpo"} and {r["weight"] for r in rows} == {1.0}
    assert list(rows[0]) == FIXED  # no metrics: no deviation columns


def test_embedding_metric_two_embedders_geometric(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    metrics = [{"kind": "embedding_diversity", "label": "sem", "embedder": {"kind": "tfidf"}},
               {"kind": "embedding_diversity", "label": "style", "embedder": {"kind": "stylometric"}}]
    run(spec(tmp_path / "e", metrics=metrics, weights={"pool": "all"}, output={"dir": str(tmp_path / "e")}))
    rows = read_jsonl(tmp_path / "e" / "train.jsonl")
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert summary["weights_settings"]["pool"] == "all"
    for r in rows:
        assert 0 <= r["weight"] and math.isfinite(r["deviation_sem_chosen"]) and math.isfinite(r["deviation_style_chosen"])
    # with pool: all every prompt's 25-35 responses form the pool; mean chosen weight is near 1
    assert 0.5 < summary["splits"]["train"]["weight"]["mean"] < 1.5


def test_resume_reuses_restart_redoes_and_a_changed_spec_is_refused(tmp_path):
    out = tmp_path / "r"
    run(spec(out))
    stamp = (out / "train.jsonl").stat().st_mtime_ns
    run(spec(out))  # resume: finished, same data -> nothing rewritten
    assert (out / "train.jsonl").stat().st_mtime_ns == stamp
    with pytest.raises(UserError, match="different spec"):
        run(spec(out, seed=5))
    run(spec(out, seed=5, output={"dir": str(out), "formats": ["jsonl"], "on_existing": "restart"}))
    assert not (out / "train.parquet").exists()  # the earlier run's files do not linger
    with pytest.raises(UserError, match="already holds this run"):
        run(spec(out, seed=5, output={"dir": str(out), "formats": ["jsonl"], "on_existing": "error"}))


@pytest.mark.parametrize("problem", ["bad_score", "missing_column", "empty", "invalid_utf8"])
def test_bad_data_leaves_no_output(tmp_path, problem):
    src = tmp_path / "d.jsonl"
    lines = KJV.read_text(encoding="utf-8").splitlines()[:40]
    if problem == "bad_score":
        row = json.loads(lines[7])
        row["score"] = "many"
        lines[7] = json.dumps(row)
        src.write_text("\n".join(lines) + "\n")
    elif problem == "missing_column":
        src.write_text("\n".join(lines) + "\n")
    elif problem == "empty":
        src.write_text("")
    else:
        src.write_bytes(("\n".join(lines) + "\n").encode() + b'{"prompt": "\xff"}\n')
    out = tmp_path / "out"
    data = spec(out, source={"kind": "jsonl", "path": str(src),
                             "columns": {"score": "upvotes" if problem == "missing_column" else "score"}})
    with pytest.raises(UserError) as exc:
        run(data)
    assert exc.value.file == str(src)
    assert not out.exists()


def test_one_response_prompts_and_a_huge_response_are_counted_drops(tmp_path):
    src = tmp_path / "d.jsonl"
    rows = [json.loads(x) for x in KJV.read_text(encoding="utf-8").splitlines()[:60]]
    rows.append({"prompt": "A lonely prompt", "response": "only me", "score": 3})
    rows.append({**rows[0], "response": "big " * 250_000})  # 1 MB response
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run(spec(tmp_path / "o", source={"kind": "jsonl", "path": str(src)}))
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    dropped = summary["cleaning_dropped"]
    assert dropped["responses"] == {"prompt_too_few_responses": 1, "too_long_chars": 1}
    assert dropped["prompts"] == {"too_few_responses": 1}
    assert summary["loaded"]["responses"] == 62 == summary["after_cleaning"]["responses"] + 2


def test_cli_run_exits_2_on_bad_data(tmp_path):
    from click.testing import CliRunner

    from divtools.cli.main import cli

    src = tmp_path / "d.jsonl"
    src.write_text('{"prompt": "p", "response": "r", "score": "x"}\n')
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(spec("out", source={"kind": "jsonl", "path": "d.jsonl"})))
    result = CliRunner().invoke(cli, ["run", str(spec_file), "--quiet"])
    assert result.exit_code == 2
    assert "d.jsonl: score: line 1: score 'x' is not a number" in result.output
    assert not (tmp_path / "out").exists()


def test_no_pairs_is_a_user_error(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"prompt": f"p{i % 3}", "response": f"r{i}", "score": 1}) + "\n" for i in range(9)))
    with pytest.raises(UserError, match="made no training pairs"):
        run(spec(tmp_path / "o", source={"kind": "jsonl", "path": str(src)}))
    assert not (tmp_path / "o").exists()
