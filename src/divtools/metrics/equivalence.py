"""Equivalence tests behind ``distinct_k`` / ``utility_k`` (registered by
:mod:`divtools.builtins.equivalences`).

NoveltyBench (Zhang et al. 2025, arXiv 2504.05228; ``src/partition.py`` of
novelty-bench/novelty-bench) decides whether two responses are "functionally the same" with one
of several tests; divtools offers them as components of the kind ``equivalence``:

- :class:`EmbeddingCosine`: cos(e_a, e_b) ≥ threshold for any divtools embedder (offline default).
- :class:`Unigram`: rouge-score ROUGE-1 F1 > 0.458 (their ``equivalence_check_unigram``).
- :class:`Classifier`: a Hugging Face sequence-pair classifier's P(equivalent) > threshold
  (theirs: ``yimingzhang/deberta-v3-large-generation-similarity`` at 0.102, each response cut to
  128 tokens), after their short-text rule (:func:`short_text_rule`).
- :class:`Chunked`: any inner test applied to aligned word windows, for texts longer than the
  inner test reads (their classifier sees 128 tokens of each response).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np

from divtools.api import Equivalence
from divtools.metrics.tokens import rouge_tokens

__all__ = ["Chunked", "Classifier", "EmbeddingCosine", "Unigram", "rouge1_f", "short_text_rule", "word_chunks"]


def rouge1_f(a: Sequence[str], b: Sequence[str]) -> float:
    """ROUGE-1 F1 of two token lists, as rouge-score 0.1.2 computes it: overlap = Σ_w min(c_a(w),
    c_b(w)), P = overlap/max(|b|, 1), R = overlap/max(|a|, 1), F = 2PR/(P+R) (0 when P+R = 0).
    Symmetric in a and b."""
    ca, cb = Counter(a), Counter(b)
    overlap = sum(min(n, cb[w]) for w, n in ca.items())
    precision = overlap / max(len(b), 1)
    recall = overlap / max(len(a), 1)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def short_text_rule(a: str, b: str, max_words: int = 5) -> bool | None:
    """NoveltyBench's ``maybe_test_equality``: on lowercased ``str.split()`` unigrams, when the
    longer text has at most ``max_words`` words, equivalent iff 2·|shared distinct unigrams| ≥
    its length; otherwise ``None`` (the model decides)."""
    ua, ub = a.strip().lower().split(), b.strip().lower().split()
    longest = max(len(ua), len(ub))
    if longest <= max_words:
        return len(set(ua) & set(ub)) * 2 >= longest
    return None


def word_chunks(text: str, words: int) -> list[str]:
    """Consecutive windows of ``words`` whitespace-separated words (the last may be shorter);
    an empty text is one empty chunk."""
    tokens = text.split()
    return [" ".join(tokens[i:i + words]) for i in range(0, len(tokens), words)] or [""]


class Unigram(Equivalence):
    """Equivalent iff ROUGE-1 F1 (rouge-score tokens: lowercase ``[a-z0-9]+`` runs, no stemming,
    as NoveltyBench's ``RougeScorer(["rouge1"])``) > ``threshold`` (theirs 0.458)."""

    def __init__(self, params: Any) -> None:
        self.threshold = params.threshold
        self._counts: dict[str, tuple[Counter, int]] = {}

    def partition(self, prompt: str, texts: Sequence[str]) -> list[int]:
        # each text tokenised and counted once per group, not once per comparison
        self._counts = {t: self._count(t) for t in texts}
        try:
            return super().partition(prompt, texts)
        finally:
            self._counts = {}

    @staticmethod
    def _count(text: str) -> tuple[Counter, int]:
        tokens = rouge_tokens(text)
        return Counter(tokens), len(tokens)

    def matches(self, prompt: str, anchor: str, candidates: Sequence[str]) -> np.ndarray:
        get = lambda t: self._counts.get(t) or self._count(t)  # noqa: E731
        ca, la = get(anchor)
        out = np.zeros(len(candidates), dtype=bool)
        for j, c in enumerate(candidates):
            cb, lb = get(c)
            overlap = sum(min(n, cb[w]) for w, n in ca.items() if w in cb)
            # rouge1_f's arithmetic: P = overlap/max(|b|,1), R = overlap/max(|a|,1), F = 2PR/(P+R)
            p, r = overlap / max(lb, 1), overlap / max(la, 1)
            out[j] = (2 * p * r / (p + r) if p + r > 0 else 0.0) > self.threshold
        return out


class EmbeddingCosine(Equivalence):
    """Equivalent iff the cosine of the two texts' embeddings is ≥ ``threshold``; any embedder.

    Each group is embedded once (through the embedding cache), so batch-dependent embedders such
    as TF-IDF see the whole group, as they do in the embedding metrics.
    """

    def __init__(self, params: Any) -> None:
        from divtools.components import build

        self.threshold = params.threshold
        self.cache = params.cache
        self.embedder = build("embedder", params.embedder)
        self._vectors: dict[str, np.ndarray] = {}

    def _embed(self, texts: Sequence[str]) -> None:
        from divtools.metrics.embedding import embed_groups

        vectors = np.asarray(embed_groups(self.embedder, [list(texts)], cache=self.cache)[0], dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        self._vectors = dict(zip(texts, vectors))

    def partition(self, prompt: str, texts: Sequence[str]) -> list[int]:
        self._embed(texts)
        try:
            return super().partition(prompt, texts)
        finally:
            self._vectors = {}

    def matches(self, prompt: str, anchor: str, candidates: Sequence[str]) -> np.ndarray:
        if any(t not in self._vectors for t in (anchor, *candidates)):  # called outside partition()
            self._embed([anchor, *candidates])
        a = self._vectors[anchor]
        # a small tolerance so that a text is always equivalent to an identical copy (cos = 1 - ulp)
        return np.array([float(a @ self._vectors[c]) >= self.threshold - 1e-12 for c in candidates], dtype=bool)


class Classifier(Equivalence):
    """A sequence-pair classifier: P(label ``positive_label``) > ``threshold``.

    Input exactly as NoveltyBench's ``classifier_score``: ``[CLS] a[:max_tokens] [SEP]
    b[:max_tokens] [SEP]`` (each response encoded without special tokens and cut to
    ``max_tokens``), token types 0 up to the first [SEP] and 1 after; softmax over the logits.
    With ``short_text_rule`` (theirs: on) pairs whose longer text has ≤ ``short_words`` words
    are decided by :func:`short_text_rule` without the model. No remote code is run.
    """

    def __init__(self, params: Any) -> None:
        self.params = params
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            from divtools.errors import UserError

            raise UserError(f"the classifier equivalence needs torch and transformers ({exc}); "
                            "pip install 'divtools[train]'", field="equivalence") from None
        p = self.params
        from divtools.errors import UserError

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(p.tokenizer or p.model, revision=p.revision)
            model = AutoModelForSequenceClassification.from_pretrained(p.model, revision=p.revision)
        except OSError as exc:
            raise UserError(f"cannot load the equivalence classifier '{p.model}': {exc}. Without the hub, "
                            "give a local folder, or use the unigram or embedding_cosine equivalence",
                            field="equivalence.model") from None
        device = p.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model = model.to(device).eval()
        self._device = device
        if self._tokenizer.cls_token_id is None or self._tokenizer.sep_token_id is None:
            raise UserError(f"the tokenizer of '{p.tokenizer or p.model}' has no [CLS]/[SEP] token; "
                            "the classifier equivalence needs a BERT-style pair tokenizer", field="equivalence.tokenizer")

    def _encode(self, a: str, b: str) -> tuple[list[int], list[int]]:
        tok, n = self._tokenizer, self.params.max_tokens
        ids = [tok.cls_token_id]
        for s in (a, b):
            ids.extend(tok.encode(s, truncation=True, max_length=n, add_special_tokens=False)[:n])
            ids.append(tok.sep_token_id)
        first = ids.index(tok.sep_token_id) + 1
        return ids, [0] * first + [1] * (len(ids) - first)

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """P(equivalent) for each (a, b), by the model alone (no short-text rule)."""
        import torch

        self._load()
        out = []
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        size = self.params.batch_size
        for start in range(0, len(pairs), size):
            encoded = [self._encode(a, b) for a, b in pairs[start:start + size]]
            width = max(len(ids) for ids, _ in encoded)
            ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in encoded], device=self._device)
            types = torch.tensor([t + [0] * (width - len(t)) for _, t in encoded], device=self._device)
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in encoded], device=self._device)
            with torch.inference_mode():
                logits = self._model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
            out.append(logits.float().softmax(-1)[:, self.params.positive_label].cpu().numpy())
        return np.concatenate(out) if out else np.zeros(0)

    def matches(self, prompt: str, anchor: str, candidates: Sequence[str]) -> np.ndarray:
        p = self.params
        result = np.zeros(len(candidates), dtype=bool)
        ask = []
        for j, c in enumerate(candidates):
            rule = short_text_rule(anchor, c, p.short_words) if p.short_text_rule else None
            if rule is None:
                ask.append(j)
            else:
                result[j] = rule
        if ask:
            probs = self.probabilities([(anchor, candidates[j]) for j in ask])
            result[ask] = probs > p.threshold
        return result


class Chunked(Equivalence):
    """Any inner test on aligned windows of ``chunk_words`` words.

    Both texts are cut into consecutive windows; window i of one is compared with window i of
    the other. Equivalent iff (windows judged equivalent) / (the larger window count) ≥
    ``min_share``: a window the shorter text lacks counts as different, so a long story is not
    the same as its own first paragraph.
    """

    def __init__(self, params: Any) -> None:
        from divtools.components import build

        self.inner = build("equivalence", params.inner)
        self.words = params.chunk_words
        self.min_share = params.min_share

    def matches(self, prompt: str, anchor: str, candidates: Sequence[str]) -> np.ndarray:
        a = word_chunks(anchor, self.words)
        cs = [word_chunks(c, self.words) for c in candidates]
        hits = np.zeros(len(candidates), dtype=np.int64)
        for i, window in enumerate(a):
            having = [j for j, c in enumerate(cs) if len(c) > i]
            if having:
                found = np.asarray(self.inner.matches(prompt, window, [cs[j][i] for j in having]), dtype=bool)
                hits[having] += found
        longest = np.array([max(len(a), len(c)) for c in cs], dtype=np.float64)
        return hits / longest >= self.min_share
