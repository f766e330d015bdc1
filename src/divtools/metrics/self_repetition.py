"""Self-repetition (Salkar et al. 2022, "Self-Repetition in Abstractive Neural Summarizers"),
as ``diversity.self_repetition_score`` (PyPI ``diversity`` 0.3.1) computes it."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric
from divtools.metrics.tokens import ngrams

__all__ = ["SelfRepetition", "self_repetition_terms"]


def self_repetition_terms(texts: Sequence[str], n: int = 4) -> np.ndarray:
    """Per text i: r_i = log(1 + Σ_{g ∈ G_i} (df(g) − 1)).

    G_i = the distinct n-grams of text i (tokens ``text.split()``), df(g) = the number of texts
    of the group containing g; so Σ counts, for each of text i's n-grams, the *other* texts that
    repeat it. Natural log. The package's score is the mean of r_i.
    """
    grams = [set(ngrams(t.split(), n)) for t in texts]
    df: Counter[tuple[str, ...]] = Counter()
    for g in grams:
        df.update(g)
    return np.array([np.log1p(sum(df[x] for x in g) - len(g)) for g in grams], dtype=np.float64)


class SelfRepetition(Metric):
    """Self-repetition score.

    - diversity = mean_i log(1 + Σ_{g ∈ G_i} (df(g) − 1)) over the group (see
      :func:`self_repetition_terms`). **Higher = more repetition = less diverse**; 0 when no
      n-gram is shared. Grows with N (more texts can repeat each n-gram).
    - deviation_i = −r_i: 0 for a text that shares no n-gram, lower the more its n-grams recur
      in other texts (so mean deviation = −diversity).
    - tokens: ``text.split()``; n-grams of one order ``n`` (default 4), as the package.
    """

    higher_is_more_diverse = False

    def __init__(self, params) -> None:
        self.n = params.n

    def group(self, texts: Sequence[str]) -> GroupResult:
        if not texts:
            return GroupResult(deviation=np.zeros(0), diversity=float("nan"))
        terms = self_repetition_terms(texts, self.n)
        return GroupResult(deviation=-terms if len(texts) > 1 else np.zeros(1), diversity=float(terms.mean()))
