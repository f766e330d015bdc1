"""The comparison protocol: reading rows, prompt ids, N, gold subsampling, incomplete systems,
and the bootstrap confidence intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from divtools.errors import UserError
from divtools.evaluate.bootstrap import aggregate, bootstrap_ci
from divtools.evaluate.protocol import choose_n, group_system, seeded_rng, subsample_gold
from divtools.evaluate.rows import Sample, prompt_id_of, read_prompt_ids, read_prompts, read_samples
from evaluate_data import gold_rows, write_jsonl


def _samples(rows, system="s"):
    return [Sample(system, r["prompt_id"], r["prompt"], r["response"], r.get("sample"), i, r)
            for i, r in enumerate(rows)]


# ------------------------------------------------------------ rows
def test_rows_default_system_and_derived_prompt_ids(tmp_path):
    path = write_jsonl(tmp_path / "g.jsonl", [
        {"prompt": "A", "response": "x"},
        {"prompt": "A", "response": "y", "system": "m"},
        {"prompt": "B", "response": "z", "prompt_id": 7},
    ])
    samples = read_samples(path)
    assert [s.system for s in samples] == ["default", "m", "default"]
    assert samples[0].prompt_id == samples[1].prompt_id == prompt_id_of("A")
    # the same id run: prepare gives the prompt (SHA-1 based), so datasets and reports line up
    from divtools.data.sources import prompt_id_for

    assert prompt_id_of("A") == prompt_id_for("A") == "p" + __import__("hashlib").sha1(b"A").hexdigest()[:16]
    assert samples[2].prompt_id == "7"
    assert [s.response for s in read_samples(path, only_system="m")] == ["y"]
    assert {s.system for s in read_samples(path, system="forced")} == {"forced"}


@pytest.mark.parametrize("lines, message", [
    (['{"prompt": "a", "response": "b"}', "{not json"], "line 2, column 2: not valid JSON"),
    (['[1, 2]'], "line 1: expected a JSON object"),
    (['{"prompt": "a"}'], "'response' must be a string (missing)"),
    (['{"prompt": "a", "response": 3}'], "'response' must be a string (a int)"),
    (['{"prompt": "a", "response": "b", "id": 1}', '{"prompt": "a", "response": "c", "id": 1}'], "id '1' appears twice"),
    (['{"prompt": "a", "response": "b", "prompt_id": "p"}', '{"prompt": "z", "response": "c", "prompt_id": "p"}'],
     "two different prompt texts"),
    (['{"prompt": "a", "response": "b", "sample": 0}', '{"prompt": "a", "response": "c", "sample": 0}'],
     "sample 0 appears twice"),
    (['{"prompt": "a", "response": "b", "sample": -1}'], "non-negative integer"),
    ([""], "no generations"),
])
def test_bad_rows_are_user_errors_naming_file_and_line(tmp_path, lines, message):
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as err:
        read_samples(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_prompt_files_and_id_lists(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "A", "prompt_id": "a"}, {"prompt": "B", "id": "b"},
                                              {"prompt": "C"}])
    assert read_prompts(path) == {"a": "A", "b": "B", prompt_id_of("C"): "C"}
    ids = tmp_path / "ids.txt"
    ids.write_text("a\n\n b \n")
    assert read_prompt_ids(ids) == ["a", "b"]
    ids.write_text("a\na\n")
    with pytest.raises(UserError, match="listed twice"):
        read_prompt_ids(ids)


# ------------------------------------------------------------ N and grouping
def test_n_given_inferred_from_the_most_common_count_or_default():
    rows = [{"prompt_id": f"q{p}", "prompt": "x", "response": str(k), "sample": k}
            for p, k_max in enumerate([4, 4, 4, 2, 6]) for k in range(k_max)]
    files = {"s": _samples(rows)}
    assert choose_n(3, files, []) == (3, "spec")
    assert choose_n(None, files, []) == (4, "inferred")
    assert choose_n(None, {}, [2, 8]) == (8, "inferred")
    assert choose_n(None, {}, []) == (4, "default")  # the paper's K


def test_a_system_with_fewer_than_n_samples_is_reported_not_averaged():
    rows = [{"prompt_id": pid, "prompt": pid, "response": f"{pid}-{k}", "sample": k}
            for pid, count in [("a", 4), ("b", 2), ("c", 5)] for k in reversed(range(count))]
    grouped = group_system("s", "file", {}, _samples(rows), ["a", "b", "c", "d"], 4)
    assert sorted(grouped.groups) == ["a", "c"]
    assert grouped.incomplete == {"b": 2, "d": 0}
    # more than N: the first N by sample index, whatever the file order
    assert [s.response for s in grouped.groups["c"]] == ["c-0", "c-1", "c-2", "c-3"]


# ------------------------------------------------------------ gold subsampling
def test_gold_subsample_same_seed_same_subsample_and_short_prompts_dropped(tmp_path):
    counts = [9, 3, 6, 4, 12]
    gold = read_samples(write_jsonl(tmp_path / "gold.jsonl", gold_rows(counts)), system="human")
    ids = [f"q{p}" for p in range(len(counts))]
    kept, dropped = subsample_gold(gold, ids, 4, seed=1)
    again, _ = subsample_gold(gold, ids, 4, seed=1)
    assert dropped == {"q1": 3}
    assert sorted(kept) == ["q0", "q2", "q3", "q4"]
    assert all(len(g) == 4 for g in kept.values())
    assert {p: [s.row["id"] for s in g] for p, g in kept.items()} == {p: [s.row["id"] for s in g] for p, g in again.items()}
    # a prompt with exactly N keeps all of them
    assert [s.row["id"] for s in kept["q3"]] == [f"h3-{j}" for j in range(4)]
    # subsets are distinct responses of the right prompt, in file order
    for pid, group in kept.items():
        assert all(s.prompt_id == pid for s in group)
        rows = [s.order for s in group]
        assert rows == sorted(set(rows))
    # the subsample of a prompt depends only on (seed, prompt id), not on the other prompts
    alone, _ = subsample_gold(gold, ["q4"], 4, seed=1)
    assert [s.row["id"] for s in alone["q4"]] == [s.row["id"] for s in kept["q4"]]
    # and it is the generator seeded with (seed, "gold", prompt id) choosing without replacement
    expected = np.sort(seeded_rng(1, "gold", "q4").choice(12, size=4, replace=False))
    assert [s.row["id"] for s in kept["q4"]] == [f"h4-{j}" for j in expected]
    # other seeds give other subsamples (12 choose 4 = 495 subsets: a collision on all is negligible)
    others = {tuple(s.row["id"] for s in subsample_gold(gold, ["q4"], 4, seed=s)[0]["q4"]) for s in range(2, 8)}
    assert len(others) > 1


# ------------------------------------------------------------ bootstrap
def test_bootstrap_ci_equals_a_plain_loop_with_the_same_generator():
    values = np.random.default_rng(0).normal(size=37)
    low, high = bootstrap_ci(values, samples=1000, rng=np.random.default_rng(5))
    rng = np.random.default_rng(5)
    means = [values[rng.integers(0, 37, size=37)].mean() for _ in range(1000)]
    assert (low, high) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])), abs=1e-12)


def test_bootstrap_ci_matches_the_normal_approximation_on_a_large_sample():
    values = np.random.default_rng(1).normal(loc=3.0, scale=2.0, size=2000)
    low, high = bootstrap_ci(values, samples=2000, rng=np.random.default_rng(2))
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert low == pytest.approx(values.mean() - half, abs=0.1 * half)
    assert high == pytest.approx(values.mean() + half, abs=0.1 * half)


def test_aggregate_is_seeded_by_system_and_label_and_skips_non_finite_values():
    per_prompt = {"a": 1.0, "b": 2.0, "c": float("nan"), "d": 4.0}
    one = aggregate(per_prompt, seed=0, samples=200, system="s", label="m")
    assert one == aggregate(per_prompt, seed=0, samples=200, system="s", label="m")
    assert one["mean"] == pytest.approx(7 / 3)
    assert one["n_prompts"] == 3
    assert one["per_prompt"]["c"] is None
    assert one["ci95"][0] <= one["mean"] <= one["ci95"][1]
    many = {str(i): float(v) for i, v in enumerate(np.random.default_rng(0).normal(size=30))}
    base = aggregate(many, seed=0, samples=200, system="s", label="m")["ci95"]
    assert aggregate(many, seed=1, samples=200, system="s", label="m")["ci95"] != base
    assert aggregate(many, seed=0, samples=200, system="t", label="m")["ci95"] != base
    assert aggregate(many, seed=0, samples=200, system="s", label="n")["ci95"] != base
    assert aggregate({"a": float("nan")}, seed=0, samples=200, system="s", label="m")["mean"] is None
    json.dumps(one, allow_nan=False)


def test_bootstrap_blocks_do_not_change_the_numbers(monkeypatch):
    from divtools.evaluate import bootstrap

    values = np.random.default_rng(3).normal(size=50)
    whole = bootstrap_ci(values, samples=300, rng=np.random.default_rng(9))
    monkeypatch.setattr(bootstrap, "_CELLS", 50 * 7)  # blocks of 7 resamples
    assert bootstrap_ci(values, samples=300, rng=np.random.default_rng(9)) == whole


def test_bootstrap_ci_equals_scipy_percentile_bootstrap_with_the_same_generator():
    from scipy.stats import bootstrap as scipy_bootstrap

    values = np.random.default_rng(4).exponential(size=60)
    ours = bootstrap_ci(values, samples=500, rng=np.random.default_rng(11))
    theirs = scipy_bootstrap((values,), np.mean, n_resamples=500, method="percentile", vectorized=True,
                             random_state=np.random.default_rng(11)).confidence_interval
    assert ours == pytest.approx((theirs.low, theirs.high), abs=1e-12)
