"""Length-controlled diversity: a system that looks more diverse only because its texts are
shorter is caught by the length-matched numbers."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from evaluate_data import load, run_spec, verses, write_jsonl

N_PROMPTS, N = 40, 8


def _vocabulary() -> tuple[list[str], np.ndarray]:
    """The KJV Proverbs words with their frequencies (real text's Zipf-like distribution)."""
    counts = Counter(w.strip(".,:;?!").lower() for v in verses() for w in v.split())
    words = sorted(counts)
    p = np.array([counts[w] for w in words], dtype=np.float64)
    return words, p / p.sum()


def _rows() -> list[dict]:
    """Both systems draw words from the same distribution; ``terse`` writes 6 short (4-6 words)
    and 2 long (40-50 words) texts per prompt, ``verbose`` 2 short and 6 long. Only the lengths
    differ."""
    words, p = _vocabulary()
    rng = np.random.default_rng(7)
    rows = []
    for q in range(N_PROMPTS):
        for system, n_short in (("terse", 6), ("verbose", 2)):
            lengths = [int(rng.integers(4, 7)) for _ in range(n_short)] + [int(rng.integers(40, 51)) for _ in range(N - n_short)]
            rng.shuffle(lengths)
            for k, length in enumerate(lengths):
                text = " ".join(rng.choice(words, size=length, p=p))
                rows.append({"prompt": f"Write about {q}.", "prompt_id": f"q{q}", "system": system, "sample": k,
                             "response": text})
    return rows


def _spec(path, out, **extra):
    return {"run": "evaluate", "seed": 0, "generations": {"path": str(path)}, "samples_per_prompt": N,
            "metrics": [{"kind": "distinct_n", "n": 1, "label": "distinct_1"}, {"kind": "distinct_n", "n": 2, "label": "distinct_2"}],
            "length_control": {"bins": 4, "resamples": 5, **extra}, "bootstrap_samples": 200,
            "reporters": [{"kind": "json"}], "output": {"dir": str(out)}}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lc")
    gens = write_jsonl(tmp / "gens.jsonl", _rows())
    return load(run_spec(_spec(gens, tmp / "out"), tmp))


def test_shorter_texts_look_more_diverse_until_lengths_are_matched(report):
    lc = report["length_control"]
    for label in ("distinct_1",):
        raw = {s: report["results"][s][label]["mean"] for s in ("terse", "verbose")}
        matched = {s: lc["systems"][s]["matched"][label]["mean"] for s in ("terse", "verbose")}
        raw_gap = raw["terse"] - raw["verbose"]
        assert raw_gap > 0.04, raw  # plain numbers: the terse system "wins" on diversity
        assert abs(matched["terse"] - matched["verbose"]) < 0.25 * raw_gap, (raw, matched)
    terse, verbose = lc["systems"]["terse"], lc["systems"]["verbose"]
    assert verbose["mean_length"] > 1.4 * terse["mean_length"]
    assert verbose["matched_mean_length"] == pytest.approx(terse["matched_mean_length"], rel=0.15)
    assert lc["common_prompts"] == N_PROMPTS
    # per prompt: min over systems of each bin's count, summed; never more than the terse system's
    assert 2 <= terse["matched_samples_per_prompt"] <= N


def test_bins_come_from_the_pooled_lengths(report):
    rows = _rows()
    lengths = [len(r["response"].split()) for r in rows]
    edges = report["length_control"]["bins"]
    assert edges == sorted({float(q) for q in np.quantile(lengths, np.linspace(0, 1, 5))})
    for system in ("terse", "verbose"):
        per_bin = report["length_control"]["systems"][system]["per_bin"]["distinct_1"]
        assert len(per_bin) == len(edges) - 1
        # the shares of the bins add up to all samples
        assert sum(b["share"] for b in per_bin) == pytest.approx(1.0)
    # the terse system has more of its samples in the shortest bin, the verbose one in the longest
    lc = report["length_control"]["systems"]
    assert lc["terse"]["per_bin"]["distinct_1"][0]["share"] > lc["verbose"]["per_bin"]["distinct_1"][0]["share"]
    assert lc["terse"]["per_bin"]["distinct_1"][-1]["share"] < lc["verbose"]["per_bin"]["distinct_1"][-1]["share"]


def test_deviation_length_spearman_matches_scipy(report):
    from scipy.stats import spearmanr

    from tests.metrics.conftest import build_metric

    metric = build_metric({"kind": "distinct_n", "n": 1})
    rows = [r for r in _rows() if r["system"] == "terse"]
    devs, lengths = [], []
    for q in range(N_PROMPTS):
        texts = [r["response"] for r in sorted((r for r in rows if r["prompt_id"] == f"q{q}"), key=lambda r: r["sample"])]
        devs += list(metric.group(texts).deviation)
        lengths += [len(t.split()) for t in texts]
    expected = spearmanr(devs, lengths).statistic
    assert report["length_control"]["systems"]["terse"]["deviation_length_spearman"]["distinct_1"] == pytest.approx(expected, abs=1e-12)


def test_an_unknown_metric_label_is_refused(tmp_path):
    from divtools.errors import UserError

    gens = write_jsonl(tmp_path / "gens.jsonl", _rows()[:16])
    with pytest.raises(UserError, match="length_control.metrics: 'distinct_3' is not a metric label"):
        run_spec(_spec(gens, tmp_path / "out", metrics=["distinct_3"]), tmp_path)


def test_novelty_metrics_sweep_and_sections_in_an_evaluate_run(tmp_path):
    """distinct_k / utility_k in a run: the patience sweep in report.json and the appendix, one
    quality scale for all systems (calibrate), and the length-control table."""
    from evaluate_data import generation_rows

    from divtools.metrics.novelty import decile_thresholds, quality_levels, utility

    rows = generation_rows()
    gens = write_jsonl(tmp_path / "gens.jsonl", rows)
    spec = {"run": "evaluate", "seed": 0, "generations": {"path": str(gens)}, "bootstrap_samples": 100,
            "metrics": [{"kind": "distinct_k", "equivalence": {"kind": "unigram"}},
                        {"kind": "utility_k", "equivalence": {"kind": "unigram"}, "quality": {"kind": "length"},
                         "patience_sweep": [0.5, 1.0]}],
            "length_control": {"bins": 2, "resamples": 2},
            "reporters": [{"kind": "json"}, {"kind": "markdown"}], "output": {"dir": str(tmp_path / "out")}}
    report = load(run_spec(spec, tmp_path))
    res = report["results"]
    assert res["echo"]["distinct_k"]["mean"] == 1.0  # one verse with one-word edits: one class
    # NoveltyBench's own partition of each prompt's verses (some KJV verses are unigram-equivalent)
    import asyncio

    from tests.metrics.novelty_bench_ref import partition as ref

    thresholds = decile_thresholds([len(r["response"].split()) for r in rows])  # one scale for both systems
    for q in range(8):
        texts = [r["response"] for r in sorted((r for r in rows if r["system"] == "diverse" and r["prompt_id"] == f"q{q}"),
                                               key=lambda r: r["sample"])]
        labels = asyncio.run(ref.partition_responses("", texts, ref.equivalence_check_unigram))
        assert res["diverse"]["distinct_k"]["per_prompt"][f"q{q}"] == max(labels) + 1
        u = quality_levels([len(t.split()) for t in texts], thresholds)
        assert res["diverse"]["utility_k"]["per_prompt"][f"q{q}"] == pytest.approx(utility(labels, u, 0.8))
        if q == 0:
            u0, labels0 = u, labels
    sweep = res["diverse"]["utility_k"]["extras"]
    assert set(sweep) == {"patience=0.5", "patience=1"}
    assert sweep["patience=1"]["per_prompt"]["q0"] == pytest.approx(utility(labels0, u0, 1.0))
    appendix = (tmp_path / "out" / "report-appendix.md").read_text(encoding="utf-8")
    assert "## utility_k: sweep" in appendix and "patience=0.5" in appendix
    assert "## Length control" in appendix
