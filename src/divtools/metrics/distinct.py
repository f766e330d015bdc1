"""distinct-n (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural
Conversation Models", §4.3): unique n-grams / total n-grams of a group."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric
from divtools.metrics.tokens import ngrams, tokenizer

__all__ = ["DistinctN", "distinct_n", "unique_ngram_share"]


def distinct_n(token_lists: Sequence[Sequence[str]], n: int) -> float:
    """|distinct n-grams| / |n-grams| over all texts (n-grams do not cross texts); 0 if none."""
    total = 0
    seen: set[tuple[str, ...]] = set()
    for tokens in token_lists:
        grams = ngrams(tokens, n)
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def unique_ngram_share(token_lists: Sequence[Sequence[str]], n: int) -> np.ndarray:
    """Per text: the share of its n-grams (with repeats) that occur in no other text.

    0 for a text with no n-gram. This is the per-text deviation of the n-gram-count metrics.
    """
    grams = [ngrams(tokens, n) for tokens in token_lists]
    owners: Counter[tuple[str, ...]] = Counter()
    for g in grams:
        owners.update(set(g))
    out = np.zeros(len(grams), dtype=np.float64)
    for i, g in enumerate(grams):
        if g:
            # an n-gram whose document frequency is 1 belongs to this text alone
            out[i] = sum(owners[x] == 1 for x in g) / len(g)
    return out


class DistinctN(Metric):
    """distinct-n.

    - diversity = |unique n-grams| / |n-grams| over all texts of the group; n-grams are taken
      inside each text (none spans two texts). Higher = more diverse. Falls as N grows (more
      texts repeat more n-grams), so compare groups of equal N.
    - deviation_i = share of text i's n-grams (counted with repeats) that occur in no other
      text of the group.
    - tokens: ``text.split()`` by default (``tokenizer`` option).
    """

    higher_is_more_diverse = True

    def __init__(self, params) -> None:
        self.n = params.n
        self.tokenize = tokenizer(params.tokenizer)
        self.lowercase = params.lowercase

    def _tokens(self, texts: Sequence[str]) -> list[list[str]]:
        return [self.tokenize(t.lower() if self.lowercase else t) for t in texts]

    def group(self, texts: Sequence[str]) -> GroupResult:
        tokens = self._tokens(texts)
        dev = unique_ngram_share(tokens, self.n) if len(texts) > 1 else np.zeros(len(texts))
        div = distinct_n(tokens, self.n) if texts else float("nan")
        return GroupResult(deviation=dev, diversity=div)
