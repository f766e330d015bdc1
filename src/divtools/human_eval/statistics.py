"""The statistics of a set-vs-set human evaluation, as pure functions of plain values.

Every judgement answers each question with ``"A"`` (system A's set), ``"B"`` or ``"tie"`` —
already mapped through the hidden key from the page's left/right, so the values below are about
systems, never screen positions (except :func:`position_bias`, which is about positions).

- **Rates** (:func:`rates`): wins, ties and losses of A over all n judgements, each with a
  Wilson 95% interval (:func:`wilson_interval`):
  ``(p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)``, z = 1.959964.
- **Sign test** (:func:`sign_test`): ties dropped, wins ~ Binomial(wins + losses, 1/2) under
  "no preference"; the two-sided exact p-value of :func:`scipy.stats.binomtest`. It treats the
  judgements as independent (several annotators judging one item are not, quite: read it with
  the agreement).
- **Cohen's κ** (:func:`cohen_kappa`, two annotators): ``κ = (p_o − p_e) / (1 − p_e)`` with p_o
  the share of common items on which they agree and ``p_e = Σ_c p_1(c) p_2(c)`` from each
  annotator's own answer shares (Cohen 1960).
- **Krippendorff's α** (:func:`krippendorff_alpha`, nominal, any number of annotators, missing
  answers allowed): ``α = 1 − D_o / D_e`` from the coincidence matrix o_ck = Σ_u (pairs of
  answers c, k within unit u) / (m_u − 1) over units with m_u ≥ 2 answers; n_c = Σ_k o_ck,
  n = Σ_c n_c; ``D_o = Σ_{c≠k} o_ck / n``, ``D_e = Σ_{c≠k} n_c n_k / (n (n − 1))``
  (Krippendorff 2011, "Computing Krippendorff's alpha-reliability").
- **Consistency** (:func:`consistency`): the share of repeated items answered the same way
  (by system) as their original by the same annotator.
- **Position bias** (:func:`position_bias`): the share of non-tie answers that picked the left
  set, with its Wilson interval and a two-sided binomial test against 1/2.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import permutations
from typing import Iterable, Mapping, Sequence

__all__ = ["ANSWERS", "Z95", "agreement", "cohen_kappa", "consistency", "krippendorff_alpha", "position_bias", "rates",
           "sign_test", "wilson_interval"]

ANSWERS = ("A", "B", "tie")
#: the standard normal's 97.5th percentile
Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of the proportion k/n; ``None`` when n = 0."""
    if n <= 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"k = {k} is not between 0 and n = {n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def sign_test(wins: int, losses: int) -> float | None:
    """Two-sided exact binomial p-value of ``wins`` out of ``wins + losses`` against 1/2 (ties
    are left out before calling); ``None`` with no decided judgement."""
    n = wins + losses
    if n == 0:
        return None
    from scipy.stats import binomtest

    return float(binomtest(wins, n, 0.5, alternative="two-sided").pvalue)


def rates(answers: Sequence[str]) -> dict:
    """Wins/ties/losses of A among ``answers`` ("A", "B", "tie"): counts, shares, Wilson 95%
    intervals, and the sign test of wins against losses."""
    bad = [a for a in answers if a not in ANSWERS]
    if bad:
        raise ValueError(f"answer {bad[0]!r} is not one of {', '.join(ANSWERS)}")
    counts = Counter(answers)
    n = len(answers)
    wins, ties, losses = counts["A"], counts["tie"], counts["B"]
    out: dict = {"n": n, "wins": wins, "ties": ties, "losses": losses}
    for name, k in (("win", wins), ("tie", ties), ("loss", losses)):
        out[f"{name}_rate"] = k / n if n else None
        out[f"{name}_ci95"] = list(wilson_interval(k, n)) if n else None
    out["sign_test_p"] = sign_test(wins, losses)
    return out


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's κ of two annotators' answers to the same items (paired lists). ``None`` for no
    items; 1.0 when both always give one and the same answer (p_e = 1, perfect agreement)."""
    if len(first) != len(second):
        raise ValueError("the two annotators' answer lists differ in length")
    n = len(first)
    if n == 0:
        return None
    p_o = sum(a == b for a, b in zip(first, second)) / n
    c1, c2 = Counter(first), Counter(second)
    p_e = sum(c1[c] * c2[c] for c in set(c1) | set(c2)) / (n * n)
    if p_e == 1:
        return 1.0 if p_o == 1 else None
    return (p_o - p_e) / (1 - p_e)


def krippendorff_alpha(units: Iterable[Sequence[str]]) -> float | None:
    """Nominal Krippendorff's α; ``units`` holds, per item, the answers it got (any number of
    annotators, so missing answers are simply absent). ``None`` when fewer than 2 pairable
    answers exist or every answer is the same value (D_e = 0: α undefined)."""
    coincidence: Counter = Counter()
    for answers in units:
        m = len(answers)
        if m < 2:
            continue
        for c, k in permutations(answers, 2):
            coincidence[(c, k)] += 1 / (m - 1)
    n_c: Counter = Counter()
    for (c, _k), v in coincidence.items():
        n_c[c] += v
    n = sum(n_c.values())
    if n < 2:
        return None
    d_o = sum(v for (c, k), v in coincidence.items() if c != k) / n
    d_e = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k) / (n * (n - 1))
    if d_e == 0:
        return None
    return 1 - d_o / d_e


def consistency(pairs: Sequence[tuple[str, str]]) -> dict:
    """(answer to the original, answer to its repeat) per repeated judgement: how many agree."""
    same = sum(a == b for a, b in pairs)
    n = len(pairs)
    return {"n": n, "agree": same, "rate": same / n if n else None,
            "ci95": list(wilson_interval(same, n)) if n else None}


def position_bias(positions: Sequence[str]) -> dict:
    """``positions``: "left", "right" or "tie" per answer. The share of decided answers that
    picked the left set, its Wilson interval and the two-sided binomial p against 1/2."""
    counts = Counter(positions)
    left, right = counts["left"], counts["right"]
    n = left + right
    return {"n_decided": n, "left": left, "right": right, "left_rate": left / n if n else None,
            "left_ci95": list(wilson_interval(left, n)) if n else None, "p": sign_test(left, right)}


def agreement(by_item: Mapping[str, Mapping[str, str]]) -> dict:
    """Inter-annotator agreement over ``item -> {annotator: answer}``: Cohen's κ when exactly two
    annotators answered, Krippendorff's α always (nominal), and the raw pairwise agreement."""
    annotators = sorted({a for answers in by_item.values() for a in answers})
    units = [list(answers.values()) for answers in by_item.values()]
    pairs = [(x, y) for answers in units for i, x in enumerate(answers) for y in answers[i + 1:]]
    out: dict = {"annotators": annotators, "n_items_multiply_judged": sum(len(u) >= 2 for u in units),
                 "pairwise_agreement": (sum(x == y for x, y in pairs) / len(pairs)) if pairs else None,
                 "krippendorff_alpha": krippendorff_alpha(units), "cohen_kappa": None}
    if len(annotators) == 2:
        a, b = annotators
        common = [item for item, answers in by_item.items() if a in answers and b in answers]
        out["cohen_kappa"] = cohen_kappa([by_item[i][a] for i in common], [by_item[i][b] for i in common])
        out["n_common_items"] = len(common)
    return out
