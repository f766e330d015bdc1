"""Self-BLEU against nltk's own sentence_bleu, text by text."""

from __future__ import annotations

import numpy as np
import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from divtools.metrics.self_bleu import self_bleu_scores

from .conftest import build_metric

SMOOTH = SmoothingFunction().method1


def nltk_self_bleu(token_lists, n=4):
    w = (1.0 / n,) * n
    return np.array(
        [sentence_bleu(token_lists[:i] + token_lists[i + 1 :], tokens, weights=w, smoothing_function=SMOOTH) for i, tokens in enumerate(token_lists)]
    )


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_matches_nltk_on_real_text(kjv, n):
    tokens = [t.split() for t in kjv[:40]]
    np.testing.assert_allclose(self_bleu_scores(tokens, n), nltk_self_bleu(tokens, n), rtol=0, atol=1e-12)


def test_matches_nltk_on_edge_cases(kjv):
    base = kjv[0].split()
    tokens = [
        base,
        base,  # exact duplicate: shares the top n-gram counts, so "max over others" uses the tie
        base[:3],  # shorter than the others: brevity penalty
        [],  # empty hypothesis: BLEU 0
        ["x"],  # no unigram match: nltk returns 0 before smoothing
        ["the", "the", "the", "the", "the", "the"],  # clipping by the max reference count
        base[::-1],
        kjv[1].split() + kjv[2].split(),  # longer than every reference
        base[:3],  # same length as another text: closest reference length is its own length
    ]
    for n in (1, 2, 4):
        np.testing.assert_allclose(self_bleu_scores(tokens, n), nltk_self_bleu(tokens, n), rtol=0, atol=1e-12)


def test_closest_reference_length_tie_goes_to_shorter():
    # hypothesis of length 4 between references of lengths 3 and 5: nltk takes 3
    tokens = [["a", "b", "c", "d"], ["a", "b", "c"], ["a", "b", "c", "d", "e"]]
    np.testing.assert_allclose(self_bleu_scores(tokens), nltk_self_bleu(tokens), rtol=0, atol=1e-12)


def test_metric_reports_mean_bleu_and_one_minus_bleu(kjv):
    texts = kjv[:12]
    result = build_metric({"kind": "self_bleu"}).group(texts)
    ref = nltk_self_bleu([t.split() for t in texts])
    assert result.diversity == pytest.approx(ref.mean(), abs=1e-12)
    np.testing.assert_allclose(result.deviation, 1.0 - ref, atol=1e-12)


def test_lowercase_option_changes_tokens():
    texts = ["The Cat sat", "the cat sat", "a dog ran"]
    plain = build_metric({"kind": "self_bleu", "n": 2}).group(texts).diversity
    lower = build_metric({"kind": "self_bleu", "n": 2, "lowercase": True}).group(texts).diversity
    ref = nltk_self_bleu([t.lower().split() for t in texts], 2).mean()
    assert lower == pytest.approx(ref, abs=1e-12)
    assert lower > plain


def test_fewer_than_two_texts_is_undefined():
    assert np.isnan(self_bleu_scores([["a"]])).all()
    result = build_metric({"kind": "self_bleu"}).group(["only one"])
    assert np.isnan(result.diversity) and result.deviation.tolist() == [0.0]
