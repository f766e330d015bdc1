"""A model-free style vector: how a text is written, not what it says.

Three blocks, each L2-normalised and weighted 1/√3 so that each contributes equally to the
cosine (a block that is all zero contributes nothing), then the whole vector is normalised:

1. **Function words** (:data:`FUNCTION_WORDS`, 60 words): occurrences per word token. Word
   tokens are ``[A-Za-z]+(?:'[A-Za-z]+)*``, lowercased for this block.
2. **Punctuation and layout** (:data:`PUNCTUATION`): occurrences per character of
   ``. , ; : ! ? " ' - — ( * …``, plus newlines and paragraph breaks (blank lines).
3. **Shape statistics** (:data:`SHAPE_FEATURES`), each scaled to be about 0–1 on ordinary prose:
   mean and standard deviation of word length (/10), mean and standard deviation of sentence
   length in words (/40), type-token ratio of the first 100 words, share of words of 7+
   letters, share of capitalised words, share of all-caps words (2+ letters), share of
   uppercase among letters, share of digits among characters, share of characters inside
   double quotes (dialogue), mean paragraph length in sentences (/10).

Sentences end at a run of ``.``, ``!`` or ``?`` (with any closing quotes or bracket) followed by
whitespace or the end, or at line breaks.
A text with no characters gets the zero vector (cosine 0 to every text). Vectors do not
depend on the other texts of the batch, so they are cached like a model's.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from divtools.api import Embedder

__all__ = ["FUNCTION_WORDS", "PUNCTUATION", "SHAPE_FEATURES", "StylometricEmbedder", "features"]

FUNCTION_WORDS: tuple[str, ...] = (
    "the", "a", "an", "and", "or", "but", "nor", "so", "yet", "if", "then", "than", "because",
    "while", "when", "where", "that", "which", "who", "whom", "whose", "what", "this", "these",
    "those", "of", "in", "on", "at", "to", "from", "by", "with", "for", "about", "into", "over",
    "after", "before", "not", "no", "i", "me", "my", "you", "your", "he", "him", "his", "she",
    "her", "it", "its", "we", "our", "they", "them", "their", "is", "was",
)
PUNCTUATION: tuple[str, ...] = (".", ",", ";", ":", "!", "?", '"', "'", "-", "—", "(", "*", "…", "\n", "\n\n")
SHAPE_FEATURES: tuple[str, ...] = (
    "word_length_mean", "word_length_std", "sentence_length_mean", "sentence_length_std",
    "type_token_ratio_100", "long_word_share", "capitalised_share", "all_caps_share",
    "uppercase_letter_share", "digit_share", "quoted_share", "paragraph_length_mean",
)

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)]*(?=\s|$)|\n+")
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”')
_FW_INDEX = {w: i for i, w in enumerate(FUNCTION_WORDS)}
_BLOCK_WEIGHT = 1.0 / np.sqrt(3.0)


def _unit(block: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(block)
    return block / norm * _BLOCK_WEIGHT if norm > 0 else block


def features(text: str) -> np.ndarray:
    """The raw (un-normalised) feature vector, blocks in the documented order."""
    words = _WORD.findall(text)
    n_words = len(words)
    n_chars = len(text)

    fw = np.zeros(len(FUNCTION_WORDS))
    for w in words:
        i = _FW_INDEX.get(w.lower())
        if i is not None:
            fw[i] += 1
    if n_words:
        fw /= n_words

    punct = np.zeros(len(PUNCTUATION))
    if n_chars:
        for i, mark in enumerate(PUNCTUATION):
            punct[i] = text.count(mark) / n_chars

    shape = np.zeros(len(SHAPE_FEATURES))
    if n_words:
        lengths = np.array([len(w) for w in words], dtype=np.float64)
        sentences = [s for s in _SENTENCE_END.split(text) if _WORD.search(s)]
        sent_lens = np.array([len(_WORD.findall(s)) for s in sentences] or [n_words], dtype=np.float64)
        letters = [c for c in text if c.isalpha()]
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if _WORD.search(p)]
        para_sents = [max(1, len([s for s in _SENTENCE_END.split(p) if _WORD.search(s)])) for p in paragraphs] or [1]
        first = [w.lower() for w in words[:100]]
        shape[:] = (
            lengths.mean() / 10,
            lengths.std() / 10,
            sent_lens.mean() / 40,
            sent_lens.std() / 40,
            len(set(first)) / len(first),
            float(np.mean(lengths >= 7)),
            sum(w[0].isupper() for w in words) / n_words,
            sum(len(w) > 1 and w.isupper() for w in words) / n_words,
            (sum(c.isupper() for c in letters) / len(letters)) if letters else 0.0,
            sum(c.isdigit() for c in text) / n_chars,
            sum(len(m) for m in _QUOTED.findall(text)) / n_chars,
            float(np.mean(para_sents)) / 10,
        )
    return np.concatenate([fw, punct, shape])


class StylometricEmbedder(Embedder):
    """Texts -> L2-normalised stylometric vectors (see the module docstring for every feature)."""

    batch_dependent = False
    dim = len(FUNCTION_WORDS) + len(PUNCTUATION) + len(SHAPE_FEATURES)

    def __init__(self, params: Any = None) -> None:
        self.params = params

    def identity(self) -> dict[str, Any]:
        # the feature list is the whole model: a change to it must change the cache key
        return {
            "embedder": "stylometric",
            "version": 1,
            "function_words": list(FUNCTION_WORDS),
            "punctuation": list(PUNCTUATION),
            "shape": list(SHAPE_FEATURES),
        }

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        nf, npu = len(FUNCTION_WORDS), len(PUNCTUATION)
        for i, text in enumerate(texts):
            raw = features(text)
            vec = np.concatenate([_unit(raw[:nf]), _unit(raw[nf : nf + npu]), _unit(raw[nf + npu :])])
            norm = np.linalg.norm(vec)
            out[i] = vec / norm if norm > 0 else vec
        return out.astype(np.float32)
