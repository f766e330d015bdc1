"""n-gram diversity as the ``diversity`` package (Shaib et al., PyPI ``diversity`` 0.3.1,
``ngram_diversity_score``) computes it, used in the DDPO paper's appendix."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric
from divtools.metrics.distinct import unique_ngram_share
from divtools.metrics.tokens import ngrams, tokenizer

__all__ = ["NgramDiversity", "ngram_diversity"]


def ngram_diversity(texts: Sequence[str], num_n: int = 4, *, average: bool = False, tokenize: str = "space") -> float:
    """Σ_{n=1..num_n} |unique n-grams| / |n-grams| of the space-joined group.

    ``diversity.ngram_diversity_score``: ``' '.join(data).split(' ')``, then for each n the
    distinct/total ratio of ``nltk.ngrams`` over that one token list (so n-grams span the
    boundary between consecutive texts). Differences on purpose: no rounding to 3 decimals
    (the package rounds), and an order n with no n-gram adds 0 (the package divides by zero).
    ``average=True`` divides by ``num_n`` (the mean-over-n form of Vendi-Score's
    ``ngram_diversity``, range [0, 1]).
    """
    tokens = tokenizer(tokenize)(" ".join(texts))
    score = 0.0
    for n in range(1, num_n + 1):
        grams = ngrams(tokens, n)
        if grams:
            score += len(set(grams)) / len(grams)
    return score / num_n if average else score


class NgramDiversity(Metric):
    """n-gram diversity (``diversity`` package convention).

    - diversity = Σ_{n=1..num_n} unique/total n-grams of the space-joined group (range
      [0, num_n]; [0, 1] with ``average``). Higher = more diverse. Falls as N grows.
    - deviation_i = Σ_n (or mean over n with ``average``) of the share of text i's n-grams that
      occur in no other text (n-grams taken inside text i, same tokenisation).
    - tokens: ``split(" ")`` on single spaces, as the package does.
    """

    higher_is_more_diverse = True

    def __init__(self, params) -> None:
        self.num_n = params.num_n
        self.average = params.average

    def group(self, texts: Sequence[str]) -> GroupResult:
        if not texts:
            return GroupResult(deviation=np.zeros(0), diversity=float("nan"))
        div = ngram_diversity(texts, self.num_n, average=self.average)
        if len(texts) < 2:
            return GroupResult(deviation=np.zeros(len(texts)), diversity=div)
        tokens = [t.split(" ") for t in texts]
        dev = sum(unique_ngram_share(tokens, n) for n in range(1, self.num_n + 1))
        if self.average:
            dev = dev / self.num_n
        return GroupResult(deviation=np.asarray(dev, dtype=np.float64), diversity=div)
