"""Self-BLEU (Zhu et al. 2018, Texygen): each text scored by BLEU against all the others.

Exactly nltk's ``sentence_bleu(others, text_i, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)`` for every i, computed for the whole group at
once with numpy instead of N calls that each re-count the n-grams of N−1 references
(O(N²·L) Python work). See :func:`self_bleu_scores`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric
from divtools.metrics.tokens import tokenizer

__all__ = ["SelfBleu", "self_bleu_scores"]


def _encode(token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat token ids, the text index of each position, and each text's length."""
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(tok, len(vocab)) for tokens in token_lists for tok in tokens]
    lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
    doc = np.repeat(np.arange(len(token_lists), dtype=np.int64), lengths)
    return np.asarray(ids, dtype=np.int64), doc, lengths


def _closest_ref_lengths(lengths: np.ndarray) -> np.ndarray:
    """nltk ``closest_ref_length`` with references = all other texts: the other length nearest
    to len_i, ties to the shorter one."""
    values, counts = np.unique(lengths, return_counts=True)
    idx = np.searchsorted(values, lengths)
    own_repeated = counts[idx] >= 2  # another text has the same length: distance 0
    below = np.where(idx > 0, values[np.maximum(idx - 1, 0)], -1)
    above = np.where(idx + 1 < len(values), values[np.minimum(idx + 1, len(values) - 1)], -1)
    d_below = np.where(below >= 0, lengths - below, np.iinfo(np.int64).max)
    d_above = np.where(above >= 0, above - lengths, np.iinfo(np.int64).max)
    nearest = np.where(d_below <= d_above, below, above)  # tie -> shorter (below)
    return np.where(own_repeated, lengths, nearest)


def _clipped_matches(ids: np.ndarray, doc: np.ndarray, lengths: np.ndarray, n: int, prev: np.ndarray | None, n_docs: int):
    """For order n: per-text Σ_g min(count_i(g), max_{j≠i} count_j(g)), and the n-gram ids.

    ``prev`` holds, per flat position, the id of the (n−1)-gram starting there (−1 if none);
    an n-gram id is the dense id of the pair ((n−1)-gram id, next token).
    """
    total = len(ids)
    starts = np.arange(total, dtype=np.int64)
    offset = np.concatenate(([0], np.cumsum(lengths)[:-1])) if n_docs else np.zeros(0, np.int64)
    pos_in_doc = starts - offset[doc] if total else starts
    valid = pos_in_doc + n <= lengths[doc] if total else np.zeros(0, bool)
    gram = np.full(total, -1, dtype=np.int64)
    if n == 1:
        gram = ids.copy()
    else:
        where = np.nonzero(valid)[0]
        if len(where):
            pair = prev[where] * (int(ids.max()) + 1) + ids[where + n - 1]
            _, dense = np.unique(pair, return_inverse=True)
            gram[where] = dense
    where = np.nonzero(valid)[0]
    numer = np.zeros(n_docs, dtype=np.int64)
    if len(where) == 0:
        return numer, gram
    g = gram[where]
    d = doc[where]
    n_grams = int(g.max()) + 1
    key = d * n_grams + g
    uniq, cnt = np.unique(key, return_counts=True)
    e_doc, e_gram = uniq // n_grams, uniq % n_grams
    # top two counts of every n-gram over texts: the largest count in another text is the top
    # one unless this text holds it, then the second one (0 if no other text has the n-gram)
    order = np.lexsort((-cnt, e_gram))
    s_gram, s_cnt, s_doc = e_gram[order], cnt[order], e_doc[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = s_gram[1:] != s_gram[:-1]
    second = np.zeros(len(order), dtype=bool)
    second[1:] = first[:-1] & ~first[1:]
    max1 = np.zeros(n_grams, dtype=np.int64)
    top_doc = np.full(n_grams, -1, dtype=np.int64)
    max2 = np.zeros(n_grams, dtype=np.int64)
    max1[s_gram[first]] = s_cnt[first]
    top_doc[s_gram[first]] = s_doc[first]
    max2[s_gram[second]] = s_cnt[second]
    ref_max = np.where(e_doc == top_doc[e_gram], max2[e_gram], max1[e_gram])
    numer = np.bincount(e_doc, weights=np.minimum(cnt, ref_max), minlength=n_docs).astype(np.int64)
    return numer, gram


def self_bleu_scores(token_lists: Sequence[Sequence[str]], n: int = 4, epsilon: float = 0.1) -> np.ndarray:
    """BLEU-n of each text against all the others, as nltk computes it.

    For text i with length c_i and p_k = m_ik / max(1, c_i − k + 1), where m_ik = Σ over the
    k-grams g of text i of min(count_i(g), max_{j≠i} count_j(g)) (nltk ``modified_precision``):

    - smoothing method 1: p_k = ε / max(1, c_i − k + 1) when m_ik = 0 (ε = 0.1);
    - r_i = the other text's length closest to c_i, ties to the shorter (``closest_ref_length``);
      BP = 1 if c_i > r_i, 0 if c_i = 0, else exp(1 − r_i / c_i);
    - BLEU_i = BP · exp(Σ_k (1/n) log p_k), and 0 when m_i1 = 0 (nltk returns 0 before smoothing).

    Returns NaN for every text when there are fewer than two texts (no reference).
    """
    n_docs = len(token_lists)
    if n_docs < 2:
        return np.full(n_docs, np.nan)
    ids, doc, lengths = _encode(token_lists)
    log_p = np.zeros(n_docs, dtype=np.float64)
    first_order_matches = np.zeros(n_docs, dtype=np.int64)
    prev: np.ndarray | None = None
    for k in range(1, n + 1):
        matches, prev = _clipped_matches(ids, doc, lengths, k, prev, n_docs)
        if k == 1:
            first_order_matches = matches
        denom = np.maximum(1, lengths - k + 1).astype(np.float64)
        p = np.where(matches == 0, epsilon / denom, matches / denom)
        log_p += (1.0 / n) * np.log(p)
    refs = _closest_ref_lengths(lengths)
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(lengths > refs, 1.0, np.where(lengths == 0, 0.0, np.exp(1.0 - refs / np.maximum(lengths, 1))))
    bleu = bp * np.exp(log_p)
    return np.where(first_order_matches == 0, 0.0, bleu)


class SelfBleu(Metric):
    """Self-BLEU.

    - diversity = mean_i BLEU-n(text_i; references = the other N−1 texts), uniform weights 1/n,
      nltk smoothing method 1 (see :func:`self_bleu_scores`). **Higher = more similar = less
      diverse.** Grows with N (more references offer more matches): compare equal N.
    - deviation_i = 1 − BLEU_i.
    - tokens: ``text.split()`` (``lowercase`` option). Note that Texygen used nltk's
      ``word_tokenize``, which splits punctuation off words; whitespace tokens do not.
    """

    higher_is_more_diverse = False

    def __init__(self, params) -> None:
        self.n = params.n
        self.lowercase = params.lowercase
        self.tokenize = tokenizer(params.tokenizer)

    def group(self, texts: Sequence[str]) -> GroupResult:
        if len(texts) < 2:
            return GroupResult(deviation=np.zeros(len(texts)), diversity=float("nan"))
        tokens = [self.tokenize(t.lower() if self.lowercase else t) for t in texts]
        scores = self_bleu_scores(tokens, self.n)
        return GroupResult(deviation=1.0 - scores, diversity=float(scores.mean()))
