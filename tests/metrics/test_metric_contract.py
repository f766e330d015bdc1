"""Every built-in metric: shapes, small groups, declared direction, and the real-text property
"distinct texts are more diverse than one text repeated with one-word edits"."""

from __future__ import annotations

import numpy as np
import pytest

from divtools.plugins import load_plugins

from .conftest import build_metric, kjv_texts

# one entry per configuration worth checking; every built-in metric kind must appear
CONFIGS = {
    "distinct_n": {"kind": "distinct_n", "n": 2},
    "ngram_diversity": {"kind": "ngram_diversity"},
    "self_bleu": {"kind": "self_bleu"},
    "compression_ratio": {"kind": "compression_ratio"},
    "homogenization": {"kind": "homogenization"},
    "self_repetition": {"kind": "self_repetition", "n": 2},
    "vendi_ngrams": {"kind": "vendi"},
    "vendi_style": {"kind": "vendi", "embedder": {"kind": "stylometric"}},
    "embedding_style": {"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}},
    "embedding_tfidf": {"kind": "embedding_diversity", "embedder": {"kind": "tfidf"}},
    "distinct_k_unigram": {"kind": "distinct_k", "equivalence": {"kind": "unigram"}},
    "utility_k_unigram": {"kind": "utility_k", "equivalence": {"kind": "unigram"}, "quality": {"kind": "length"}},
}
SLOW_CONFIGS = {"embedding_minilm": {"kind": "embedding_diversity", "embedder": {"kind": "minilm", "device": "cpu"}},
                # the offline default equivalence: MiniLM cosine >= 0.85
                "distinct_k_default": {"kind": "distinct_k"}}

DIRECTION = {
    "distinct_n": True,
    "ngram_diversity": True,
    "self_bleu": False,
    "compression_ratio": False,
    "homogenization": False,
    "self_repetition": False,
    "vendi": True,
    "embedding_diversity": True,
    "distinct_k": True,
    "utility_k": True,
}

N = 8
SWAPS = ["gold", "river", "stone", "bread", "lamp", "field", "crown", "sword"]


def near_copies(text: str, n: int) -> list[str]:
    """``text`` n times, each copy with one word replaced by a different word."""
    words = text.split()
    out = []
    for k in range(n):
        w = list(words)
        w[(3 * k + 1) % len(w)] = SWAPS[k % len(SWAPS)]
        out.append(" ".join(w))
    return out


def groups():
    texts = kjv_texts()
    distinct = texts[20 : 20 + N]
    copies = near_copies(texts[0], N)
    return distinct, copies


def test_every_builtin_metric_is_covered():
    builtin = {i.name for i in load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}).registries["metric"] if i.plugin.startswith("divtools.")}
    covered = {c["kind"] for c in {**CONFIGS, **SLOW_CONFIGS}.values()}
    assert builtin == covered == set(DIRECTION)


@pytest.mark.parametrize("kind", sorted(DIRECTION))
def test_declared_direction(kind):
    from divtools.plugins import registries

    impl = registries()["metric"].get(kind).load()
    assert impl.higher_is_more_diverse is DIRECTION[kind]


def _check_distinct_beats_copies(entry):
    metric = build_metric(entry)
    distinct, copies = groups()
    d_distinct, d_copies = (r.diversity for r in metric.groups([distinct, copies]))
    if type(metric).higher_is_more_diverse:
        assert d_distinct > d_copies
    else:
        assert d_distinct < d_copies
    # and the deviation signal: an unrelated verse among near-copies deviates the most
    mixed = copies[:5] + [distinct[0]]
    dev = metric.group(mixed).deviation
    assert dev.shape == (6,) and dev.dtype == np.float64
    assert int(np.argmax(dev)) == 5 and dev[5] > dev[:5].max()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_distinct_texts_beat_one_word_edits(name):
    _check_distinct_beats_copies(CONFIGS[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW_CONFIGS))
def test_distinct_texts_beat_one_word_edits_minilm(name):
    _check_distinct_beats_copies(SLOW_CONFIGS[name])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_small_groups(name):
    metric = build_metric(CONFIGS[name])
    empty, one = metric.groups([[], ["Only one answer here."]])
    assert empty.deviation.shape == (0,)
    assert one.deviation.tolist() == [0.0]
    assert isinstance(one.diversity, float)
    two = metric.group(["A wise son maketh a glad father.", "Treasures of wickedness profit nothing."])
    assert two.deviation.shape == (2,) and np.isfinite(two.diversity)
