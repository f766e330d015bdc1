"""The study's statistics against independent computations: scipy's binomtest, statsmodels'
Wilson interval, scikit-learn's Cohen's κ, a hand-computed Krippendorff's α (and the
``krippendorff`` package), on judgements with known counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

from divtools.human_eval import statistics as st


def test_rates_counts_p_value_and_wilson_intervals():
    # the paper's diversity result, as counts: 62% A, 26% B, 12% ties of 50 judgements
    answers = ["A"] * 31 + ["B"] * 13 + ["tie"] * 6
    r = st.rates(answers)
    assert (r["n"], r["wins"], r["losses"], r["ties"]) == (50, 31, 13, 6)
    assert (r["win_rate"], r["loss_rate"], r["tie_rate"]) == pytest.approx((0.62, 0.26, 0.12))
    assert r["sign_test_p"] == pytest.approx(binomtest(31, 44, 0.5).pvalue, rel=1e-12)
    assert 0.005 < r["sign_test_p"] < 0.02  # ~0.0096: significant at 5%
    for name, k in (("win", 31), ("loss", 13), ("tie", 6)):
        assert r[f"{name}_ci95"] == pytest.approx(proportion_confint(k, 50, alpha=0.05, method="wilson"), rel=1e-9)


def test_wilson_by_hand_and_edges():
    # k = 0 of 10: centre z²/2n / (1 + z²/n), half-width the same: the lower bound is exactly 0
    z = st.Z95
    low, high = st.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx((z * z / 20 + z * math.sqrt(z * z / 400)) / (1 + z * z / 10))
    assert st.wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        st.wilson_interval(11, 10)
    assert st.sign_test(0, 0) is None
    assert st.sign_test(5, 5) == pytest.approx(1.0)


def test_cohen_kappa_matches_scikit_learn():
    rng = np.random.default_rng(3)
    first = list(rng.choice(st.ANSWERS, size=40, p=[0.5, 0.3, 0.2]))
    second = [a if rng.random() < 0.7 else str(rng.choice(st.ANSWERS)) for a in first]
    assert st.cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)
    # by hand: 10 items, agree on 8 (disagree on items 6 and 10); each annotator 6 A / 4 B
    a = ["A"] * 6 + ["B"] * 4
    b = ["A"] * 5 + ["B"] + ["B"] * 3 + ["A"]
    p_o, p_e = 0.8, (6 * 6 + 4 * 4) / 100
    assert st.cohen_kappa(a, b) == pytest.approx((p_o - p_e) / (1 - p_e))
    assert st.cohen_kappa(["A", "A"], ["A", "A"]) == 1.0
    assert st.cohen_kappa([], []) is None


def test_krippendorff_alpha_by_hand_and_against_the_package():
    # 3 annotators, 5 items, one answer missing (item 5 has two answers)
    units = [["A", "A", "A"], ["A", "B", "A"], ["B", "B", "B"], ["tie", "B", "B"], ["A", "A"]]
    # coincidences (pairs within a unit / (m_u - 1)):
    #   u1: 6 A-A pairs / 2 = 3 A-A; u2: A-A 2/2 = 1, A-B 2/2 = 1, B-A 1; u3: 3 B-B;
    #   u4: tie-B 2/2 = 1, B-tie 1, B-B 1; u5: A-A 2/1 = 2
    #   o_AA = 6, o_AB = o_BA = 1, o_BB = 4, o_Bt = o_tB = 1 -> n_A = 7, n_B = 6, n_t = 1, n = 14
    d_o = (1 + 1 + 1 + 1) / 14
    d_e = (2 * (7 * 6 + 7 * 1 + 6 * 1)) / (14 * 13)
    hand = 1 - d_o / d_e
    assert hand == pytest.approx(1 - (4 / 14) / (110 / 182))
    assert st.krippendorff_alpha(units) == pytest.approx(hand, abs=1e-12)

    import krippendorff

    codes = {"A": 0, "B": 1, "tie": 2}
    matrix = np.full((3, 5), np.nan)
    for j, unit in enumerate(units):
        for i, v in enumerate(unit):
            matrix[i, j] = codes[v]
    assert st.krippendorff_alpha(units) == pytest.approx(
        krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"), abs=1e-12)
    assert st.krippendorff_alpha([["A", "A"], ["A", "A"]]) is None  # one value only: α undefined
    assert st.krippendorff_alpha([["A"], ["B"]]) is None  # nothing pairable


def test_agreement_picks_kappa_for_two_annotators_and_alpha_always():
    by_item = {"i1": {"x": "A", "y": "A"}, "i2": {"x": "B", "y": "A"}, "i3": {"x": "tie", "y": "tie"},
               "i4": {"x": "A"}}
    out = st.agreement(by_item)
    assert out["annotators"] == ["x", "y"] and out["n_common_items"] == 3
    assert out["cohen_kappa"] == pytest.approx(cohen_kappa_score(["A", "B", "tie"], ["A", "A", "tie"]))
    assert out["pairwise_agreement"] == pytest.approx(2 / 3)
    assert out["krippendorff_alpha"] == pytest.approx(st.krippendorff_alpha([["A", "A"], ["B", "A"], ["tie", "tie"]]))
    three = st.agreement({"i1": {"x": "A", "y": "A", "z": "B"}})
    assert three["cohen_kappa"] is None and "krippendorff_alpha" in three


def test_consistency_and_position_bias():
    c = st.consistency([("A", "A"), ("A", "B"), ("tie", "tie"), ("B", "B")])
    assert (c["n"], c["agree"], c["rate"]) == (4, 3, 0.75)
    bias = st.position_bias(["left"] * 14 + ["right"] * 6 + ["tie"] * 5)
    assert (bias["n_decided"], bias["left"], bias["left_rate"]) == (20, 14, 0.7)
    assert bias["p"] == pytest.approx(binomtest(14, 20, 0.5).pvalue)
    with pytest.raises(ValueError, match="not one of"):
        st.rates(["left"])
