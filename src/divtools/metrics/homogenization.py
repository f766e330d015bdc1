"""Homogenization (Padmakumar & He 2024, "Does Writing with Language Models Reduce Content
Diversity?"), ROUGE-L variant, as ``diversity.homogenization_score`` 0.3.1 computes it.

The pairwise ROUGE-L F1 equals rouge-score 0.1.2's ``RougeScorer(['rougeL']).score(a, b)
['rougeL'].fmeasure`` exactly (same tokens, same LCS length, same float operations); the LCS
length comes from a bit-parallel algorithm instead of rouge-score's O(|a|·|b|) Python table,
and each unordered pair is scored once (F1 is symmetric).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric
from divtools.metrics.tokens import rouge_tokens

__all__ = ["Homogenization", "lcs_length", "rouge_l_matrix"]


def _match_masks(tokens: Sequence[str]) -> dict[str, int]:
    """Bit j of masks[t] is set where tokens[j] == t."""
    masks: dict[str, int] = {}
    for j, tok in enumerate(tokens):
        masks[tok] = masks.get(tok, 0) | (1 << j)
    return masks


def _lcs_bits(a: Sequence[str], b_masks: dict[str, int], b_len: int) -> int:
    """LCS length of ``a`` and b by the bit-vector recurrence of Crochemore, Iliopoulos,
    Pinzon & Reid (2001, IPL 80(6)): V ← (V + (V & M_c)) | (V & ~M_c) over the characters c of
    a, starting from all ones; the LCS length is the number of zero bits among the low |b|."""
    full = (1 << b_len) - 1
    v = full
    get = b_masks.get
    for tok in a:
        u = v & get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return b_len - v.bit_count() if hasattr(v, "bit_count") else b_len - bin(v).count("1")


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences."""
    return _lcs_bits(a, _match_masks(b), len(b))


def rouge_l_matrix(token_lists: Sequence[Sequence[str]]) -> np.ndarray:
    """Symmetric N×N matrix of ROUGE-L F1 (diagonal left at 0).

    F1 = 2PR/(P+R) with P = LCS/|b|, R = LCS/|a| (0 when either text has no token), computed
    with the same float operations as ``rouge_score.scoring.fmeasure``.
    """
    n = len(token_lists)
    out = np.zeros((n, n), dtype=np.float64)
    masks = [_match_masks(t) for t in token_lists]
    lens = [len(t) for t in token_lists]
    for i in range(n):
        for j in range(i + 1, n):
            li, lj = lens[i], lens[j]
            if not li or not lj:
                continue
            # iterate over the shorter text: fewer Python steps, wider (cheap) bit operations
            lcs = _lcs_bits(token_lists[i], masks[j], lj) if li <= lj else _lcs_bits(token_lists[j], masks[i], li)
            # rouge-score: score(target=other, prediction=this); F1 is symmetric bit for bit
            precision = lcs / li
            recall = lcs / lj
            f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
            out[i, j] = out[j, i] = f
    return out


class Homogenization(Metric):
    """Homogenization score (ROUGE-L).

    - diversity = (1/N) Σ_i (1/(N−1)) Σ_{j≠i} ROUGE-L F1(i, j): the mean over ordered pairs, as
      ``diversity`` 0.3.1 (0.2.0 dropped the last text's term). **Higher = more homogeneous =
      less diverse**; range [0, 1]. Roughly independent of N (a mean over pairs).
      Deliberate differences from the package: no rounding to 3 decimals, and a group with no
      overlap at all scores 0 (the package turns a total of exactly 0 into 1.0).
    - deviation_i = 1 − (1/(N−1)) Σ_{j≠i} ROUGE-L F1(i, j).
    - tokens: rouge-score's (lowercase, ``[a-z0-9]+`` runs), optional Porter stemming
      (``use_stemmer``, rouge-score's default False).
    """

    higher_is_more_diverse = False

    def __init__(self, params) -> None:
        self.stemmer = None
        if params.use_stemmer:
            from nltk.stem import porter  # data-free; what rouge-score uses

            self.stemmer = porter.PorterStemmer()

    def group(self, texts: Sequence[str]) -> GroupResult:
        n = len(texts)
        if n < 2:
            return GroupResult(deviation=np.zeros(n), diversity=float("nan"))
        tokens = [rouge_tokens(t, self.stemmer) for t in texts]
        mean_f = rouge_l_matrix(tokens).sum(axis=1) / (n - 1)
        return GroupResult(deviation=1.0 - mean_f, diversity=float(mean_f.mean()))
