"""Issue #12 item 6: empty and punctuation-only samples never score as maximally diverse.

The rule (docs/metrics.md, "Degenerate text"), the same for every metric because every caller goes
through ``divtools.api.measure_groups``: a group holding a text with no letter or digit has diversity NaN and
NaN deviations, is left out of evaluate's means and counted in report.json and report.md;
prepare gives such a pool uniform weights and counts it. Cosine and kernel distances are
clipped at 0 (near-identical texts gave −2.2e-16).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.metrics.conftest import build_metric, kjv_texts
from tests.reliability.conftest import run_cli

#: one spec entry per built-in metric kind (the embedding ones with model-free embedders)
METRICS = [
    {"kind": "distinct_n"},
    {"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}},
    {"kind": "embedding_diversity", "embedder": {"kind": "tfidf"}},
    {"kind": "ngram_diversity"},
    {"kind": "self_bleu"},
    {"kind": "compression_ratio"},
    {"kind": "homogenization"},
    {"kind": "self_repetition"},
    {"kind": "vendi"},
    {"kind": "vendi", "embedder": {"kind": "stylometric"}},
    {"kind": "distinct_k", "equivalence": {"kind": "unigram"}},
]

DEGENERATE_GROUPS = {
    "all empty": ["", "", "", ""],
    "punctuation only": ["!!!", "!!!", "?!", "..."],
    "whitespace and symbols": [" ", "\n\t", "—", "***"],
    "one empty among stories": None,  # filled with real verses below
}


def _groups() -> dict[str, list[str]]:
    verses = kjv_texts()
    out = dict(DEGENERATE_GROUPS)
    out["one empty among stories"] = [verses[0], verses[1], "", verses[2]]
    return out


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))


def test_the_text_test_is_letters_or_digits_in_any_script():
    from divtools.api import is_degenerate_text

    for text in ["", " ", "\n", "!!!", "...", "—", "***", "🙂🙂", "_", "?!\t."]:
        assert is_degenerate_text(text), repr(text)
    for text in ["a", "1", "é", "日本", "Ω!", " x "]:
        assert not is_degenerate_text(text), repr(text)


@pytest.mark.parametrize("entry", METRICS, ids=lambda e: e["kind"] + ("-" + e["embedder"]["kind"] if "embedder" in e else ""))
def test_every_metric_gives_nan_not_its_best_score(entry):
    metric = build_metric(entry)
    groups = _groups()
    good = kjv_texts()[10:14]
    names = list(groups)
    results = metric.measure([groups[n] for n in names] + [good], [f"prompt {i}" for i in range(len(names) + 1)])
    for name, result in zip(names, results[:-1]):
        assert result.degenerate, name
        assert math.isnan(result.diversity), (name, result.diversity)
        assert result.deviation.shape == (4,) and np.all(np.isnan(result.deviation)), name
    # the ordinary group next to them is measured as before, unflagged
    assert not results[-1].degenerate
    assert math.isfinite(results[-1].diversity)
    assert results[-1].diversity == pytest.approx(metric.group(good).diversity, rel=1e-12)


def test_before_the_rule_these_groups_got_the_best_scores():
    """What item 6 reported, measured on the raw formulas (group()), so the test above can fail."""
    empty = ["", "", "", ""]
    assert build_metric({"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}}).group(empty).diversity == 1.0
    assert build_metric({"kind": "self_bleu"}).group(empty).diversity == 0.0
    assert build_metric({"kind": "homogenization"}).group(empty).diversity == 0.0
    assert build_metric({"kind": "ngram_diversity"}).group(["!!!", "?!", "...", "!"]).diversity == 4.0


def test_distances_are_clipped_at_zero():
    from divtools.metrics.embedding import pairwise_cosine_deviation

    rng = np.random.default_rng(0)
    clipped_any = False
    for _ in range(200):
        v = rng.normal(size=(1, 17))
        twins = np.repeat(v, 3, axis=0)
        # the unclipped formula, computed independently: 1 − (e_i·Σe − e_i·e_i)/(N−1)
        e = twins / np.linalg.norm(twins, axis=1, keepdims=True)
        raw = 1.0 - (e @ e.sum(axis=0) - np.einsum("ij,ij->i", e, e)) / 2
        clipped_any |= bool(np.any(raw < 0))
        out = pairwise_cosine_deviation(twins)
        assert np.all(out >= 0.0)
        assert np.all(out == np.maximum(raw, 0.0))
    assert clipped_any, "no random twin set rounded below 0: the clip was never exercised"
    metric = build_metric({"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}})
    text = kjv_texts()[3]
    same = metric.measure([[text, text, text + " ", text]])[0]
    assert same.diversity >= 0.0 and np.all(same.deviation >= 0.0)
    vendi = build_metric({"kind": "vendi", "embedder": {"kind": "stylometric"}})
    assert np.all(vendi.measure([[text] * 4])[0].deviation >= 0.0)


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_evaluate_counts_degenerate_prompts_in_report_json_and_md(tmp_path):
    verses = kjv_texts()
    rows = []
    for p in range(4):
        for s in range(4):
            rows.append({"prompt": f"Prompt {p}", "prompt_id": f"q{p}", "system": "writer", "sample": s,
                         "response": verses[p * 4 + s]})
            # 'blank' answers prompts 0 and 1 with empty / punctuation-only text
            bad = "" if p == 0 else ("!!!" if p == 1 else verses[20 + p * 4 + s])
            rows.append({"prompt": f"Prompt {p}", "prompt_id": f"q{p}", "system": "blank", "sample": s, "response": bad})
    gens = _write(tmp_path / "gens.jsonl", rows)
    spec = {"run": "evaluate", "generations": {"path": str(gens)},
            "metrics": [{"kind": "ngram_diversity", "label": "ngram"}, {"kind": "self_bleu", "label": "sb"},
                        {"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}, "label": "style"}],
            "reporters": [{"kind": "json"}, {"kind": "markdown"}],
            "output": {"dir": str(tmp_path / "out")}}
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    blank = report["systems"]["blank"]
    assert blank["n_degenerate_prompts"] == 2 and blank["degenerate_prompts"] == ["q0", "q1"]
    assert report["systems"]["writer"]["n_degenerate_prompts"] == 0
    for label in ("ngram", "sb", "style"):
        res = report["results"]["blank"][label]
        assert res["per_prompt"]["q0"] is None and res["per_prompt"]["q1"] is None
        assert res["n_prompts"] == 2  # only the two prompts with real text are averaged
        assert res["mean"] == pytest.approx(np.mean([res["per_prompt"]["q2"], res["per_prompt"]["q3"]]))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Degenerate samples" in md and "**blank**: 2 prompt(s)" in md


def test_prepare_weights_give_a_degenerate_pool_no_deviation_and_count_it():
    from divtools.api import Group, Pair, Response
    from divtools.data.weights import WeightSettings, weigh_pairs

    verses = kjv_texts()

    def group(pid, texts):
        return Group(prompt_id=pid, prompt=pid, responses=[Response(id=f"{pid}{i}", text=t, score=float(i))
                                                            for i, t in enumerate(texts)])

    good = group("good", verses[:4])
    bad = group("bad", [verses[5], "!!!", verses[6], verses[7]])
    pairs = [Pair(g.prompt_id, g.prompt, g.responses[3], g.responses[0]) for g in (good, bad)]
    pairs += [Pair(g.prompt_id, g.prompt, g.responses[2], g.responses[1]) for g in (good, bad)]
    metric = build_metric({"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}})
    out = weigh_pairs([good, bad], pairs, [("style", metric)], WeightSettings())
    assert out.stats["pools_degenerate_text"] == {"style": 1}
    bad_w = [w for p, w in zip(pairs, out.pool_weight) if p.prompt_id == "bad"]
    assert bad_w == [1.0, 1.0]  # no deviation signal: uniform, never "the most deviant"
    good_w = [w for p, w in zip(pairs, out.pool_weight) if p.prompt_id == "good"]
    assert good_w != [1.0, 1.0]
