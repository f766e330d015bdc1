"""Tokenisers and n-gram helpers shared by the n-gram metrics.

Each metric names its tokenisation because the published implementations differ, and the
numbers only match theirs when the tokens match:

- ``whitespace``: ``text.split()`` (runs of any whitespace). distinct-n, self-BLEU,
  self-repetition (``diversity.self_repetition_score`` uses ``doc.split()``), n-gram Vendi.
- ``space``: ``text.split(" ")`` (single spaces; newlines stay inside tokens, double spaces give
  empty tokens). ``diversity.ngram_diversity_score`` does exactly this on the space-joined group.
- ``rouge``: rouge-score's tokenizer: lowercase, every run of characters outside ``[a-z0-9]``
  becomes a separator (so non-ASCII letters are dropped), optional Porter stemming of tokens
  longer than 3 characters. Homogenization uses it, as ``rouge_score.rouge_scorer`` does.
"""

from __future__ import annotations

import re
from typing import Callable, Literal, Sequence

__all__ = ["TOKENIZERS", "Tokenizer", "ngrams", "rouge_tokens", "tokenizer"]

Tokenizer = Literal["whitespace", "space", "rouge"]

_NON_ALPHANUM = re.compile(r"[^a-z0-9]+")


def _whitespace(text: str) -> list[str]:
    return text.split()


def _space(text: str) -> list[str]:
    return text.split(" ")


def rouge_tokens(text: str, stemmer: object | None = None) -> list[str]:
    """rouge-score 0.1.2 ``tokenize.tokenize``: same tokens, without its per-token regex check.

    After lowercasing and replacing every non-``[a-z0-9]`` run with a space, the remaining
    pieces are exactly the valid tokens, so rouge-score's final ``^[a-z0-9]+$`` filter only
    removes empty strings (and, with a stemmer, stems that gained other characters).
    """
    tokens = _NON_ALPHANUM.sub(" ", text.lower()).split()
    if stemmer is not None:
        stem = stemmer.stem  # type: ignore[attr-defined]
        tokens = [stem(t) if len(t) > 3 else t for t in tokens]
        tokens = [t for t in tokens if t and not _NON_ALPHANUM.search(t)]
    return tokens


def _rouge(text: str) -> list[str]:
    return rouge_tokens(text)


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "whitespace": _whitespace,
    "space": _space,
    "rouge": _rouge,
}


def tokenizer(name: str) -> Callable[[str], list[str]]:
    """The tokenizer function called ``name`` (see the module docstring)."""
    return TOKENIZERS[name]


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Contiguous n-grams of ``tokens`` (none when there are fewer than n tokens)."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
