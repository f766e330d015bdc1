"""Homogenization against rouge-score (the package diversity 0.3.1 calls), and the bit-parallel
LCS against the textbook dynamic programme."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rouge_score import rouge_scorer

from divtools.metrics.homogenization import lcs_length
from divtools.metrics.tokens import rouge_tokens

from .conftest import build_metric


def package_homogenization(data, use_stemmer=False):
    """``diversity.homogenization_score`` 0.3.1, measure='rougel', without its rounding."""
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    per_text = []
    for i, ref in enumerate(data):
        preds = [x for j, x in enumerate(data) if j != i]
        per_text.append(sum(scorer.score(pred, ref)["rougeL"].fmeasure for pred in preds) / (len(data) - 1))
    return np.array(per_text)


def dp_lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_lcs_matches_dynamic_programme():
    rng = random.Random(3)
    for _ in range(300):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 70))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 90))]
        assert lcs_length(a, b) == dp_lcs(a, b)


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_matches_rouge_score(kjv, use_stemmer):
    data = kjv[:30] + ["", "?!", kjv[0], "Café: naïve façade, RUNNING runners ran"]
    per_text = package_homogenization(data, use_stemmer)
    result = build_metric({"kind": "homogenization", "use_stemmer": use_stemmer}).group(data)
    assert result.diversity == pytest.approx(per_text.mean(), abs=1e-12)
    np.testing.assert_allclose(result.deviation, 1.0 - per_text, atol=1e-12)


def test_tokens_match_rouge_score():
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    for text in ["Hello, World! 42 times", "  über-cool   x_y ", "", "İstanbul's café"]:
        assert rouge_tokens(text) == scorer._tokenizer.tokenize(text)


def test_disjoint_texts_score_zero_not_one():
    # diversity 0.3.1 turns a total of exactly 0 into 1.0; divtools keeps the formula's 0
    result = build_metric({"kind": "homogenization"}).group(["alpha beta", "gamma delta", "epsilon"])
    assert result.diversity == 0.0
    assert result.deviation.tolist() == [1.0, 1.0, 1.0]
