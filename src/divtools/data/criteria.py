"""DivPO diversity criteria: per-response diversity values, higher = more diverse (docs/method.md §5).

Each criterion answers many ``(group, indices)`` requests at once, so embedding metrics encode in
one batch and a language model scores in batches.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

import numpy as np

from divtools.api import Group, measure_groups
from divtools.errors import UserError

__all__ = ["DeviationValues", "ModelProbabilityValues", "WordRarityValues", "build_criterion", "word_rarity"]

Request = tuple[Group, list[int]]

_WORD = re.compile(r"\w+")


class DeviationValues:
    """A registered metric's per-response deviation within the requested set."""

    def __init__(self, spec) -> None:
        from divtools.components import build

        self.metric = build("metric", spec.metric)

    def values(self, requests: Sequence[Request]) -> list[np.ndarray]:
        texts = [[g.responses[i].text for i in idx] for g, idx in requests]
        results = measure_groups(self.metric, texts)
        # a set with an empty or token-less text has no deviation (measure_groups's rule): its
        # members tie at 0 rather than the NaNs ranking arbitrarily
        return [np.zeros(len(r.deviation)) if r.degenerate else np.asarray(r.deviation, dtype=np.float64)
                for r in results]


def word_rarity(texts: Sequence[str], *, lowercase: bool = True) -> np.ndarray:
    """mean over a text's words of -log p(word), p = the word's frequency among all ``texts``'
    words; a text without words gets 0."""
    words = [_WORD.findall(t.lower() if lowercase else t) for t in texts]
    counts = Counter(w for ws in words for w in ws)
    total = sum(counts.values())
    return np.array(
        [float(np.mean([-math.log(counts[w] / total) for w in ws])) if ws else 0.0 for ws in words],
        dtype=np.float64,
    )


class WordRarityValues:
    """DivPO's word-frequency criterion within the requested set."""

    def __init__(self, spec) -> None:
        self.lowercase = spec.lowercase

    def values(self, requests: Sequence[Request]) -> list[np.ndarray]:
        return [word_rarity([g.responses[i].text for i in idx], lowercase=self.lowercase) for g, idx in requests]


class ModelProbabilityValues:
    """-log pi(y | x) under a causal LM: summed (or mean) over the response's tokens.

    The prompt is the tokenizer's chat template with a generation prompt (when it has one and
    ``chat_template`` is on), else the prompt text and a newline; prompt and response are
    tokenised separately and concatenated, so the boundary is exact.
    """

    def __init__(self, spec) -> None:
        self.spec = spec
        self._model = None
        self._tokenizer = None

    def _load(self):
        if self._model is None:
            try:
                import torch  # noqa: F401
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError:  # pragma: no cover
                raise UserError("the model_probability criterion needs torch and transformers: "
                                "pip install 'divtools[train]'", field="pair_builder.criteria") from None
            from divtools.models.resolve import resolve_model_ref

            # a preset or .gguf file loads from its float32 folder in the divtools cache
            source = resolve_model_ref(self.spec.model, field="pair_builder.criteria.model")
            revision = self.spec.revision if source == self.spec.model else None
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
                model = AutoModelForCausalLM.from_pretrained(source, revision=revision)
            except (OSError, ValueError) as exc:
                raise UserError(f"could not load model '{self.spec.model}': {exc}",
                                field="pair_builder.criteria.model") from None
            self._model = model.to(self.spec.device).eval()
        return self._model, self._tokenizer

    def _prompt_ids(self, tokenizer, prompt: str, system: str | None) -> list[int]:
        if self.spec.chat_template and getattr(tokenizer, "chat_template", None):
            head = [{"role": "system", "content": system}] if system else []
            text = tokenizer.apply_chat_template([*head, {"role": "user", "content": prompt}],
                                                 tokenize=False, add_generation_prompt=True)
            return tokenizer(text, add_special_tokens=False)["input_ids"]
        return tokenizer(prompt + "\n")["input_ids"]

    def nll(self, prompts: Sequence[str], responses: Sequence[str], systems: Sequence[str | None] | None = None) -> np.ndarray:
        """-log pi(response | prompt) per item (``reduction`` as configured)."""
        import torch

        model, tok = self._load()
        systems = systems or [None] * len(prompts)
        limit = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
        seqs: list[tuple[list[int], int]] = []
        for prompt, response, system in zip(prompts, responses, systems):
            p_ids = self._prompt_ids(tok, prompt, system)
            r_ids = tok(response, add_special_tokens=False)["input_ids"]
            ids = (p_ids + r_ids)[:limit]
            seqs.append((ids, min(len(p_ids), len(ids))))
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        out = np.zeros(len(seqs), dtype=np.float64)
        bs = self.spec.batch_size
        with torch.no_grad():
            for start in range(0, len(seqs), bs):
                batch = seqs[start : start + bs]
                width = max(len(ids) for ids, _ in batch)
                input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, (ids, _) in enumerate(batch):
                    input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
                    mask[row, : len(ids)] = 1
                logits = model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device)).logits
                logp = torch.log_softmax(logits.float(), dim=-1)[:, :-1]
                target = input_ids[:, 1:].to(logp.device)
                tok_logp = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1).cpu()
                for row, (ids, n_prompt) in enumerate(batch):
                    # token t is predicted at position t-1; response tokens are n_prompt..len-1
                    picked = tok_logp[row, max(n_prompt - 1, 0) : len(ids) - 1]
                    if n_prompt == 0:
                        picked = tok_logp[row, : len(ids) - 1]  # the first token has no context
                    total = -float(picked.sum())
                    out[start + row] = total / max(len(picked), 1) if self.spec.reduction == "mean" else total
        return out

    def values(self, requests: Sequence[Request]) -> list[np.ndarray]:
        prompts, responses, systems, sizes = [], [], [], []
        for g, idx in requests:
            for i in idx:
                prompts.append(g.prompt)
                responses.append(g.responses[i].text)
                systems.append(g.system)
            sizes.append(len(idx))
        flat = self.nll(prompts, responses, systems)
        out, start = [], 0
        for size in sizes:
            out.append(flat[start : start + size])
            start += size
        return out


def build_criterion(spec):
    """The implementation of one criterion spec."""
    kind = spec.type
    if kind == "deviation":
        return DeviationValues(spec)
    if kind == "word_rarity":
        return WordRarityValues(spec)
    if kind == "model_probability":
        return ModelProbabilityValues(spec)
    raise UserError(f"unknown DivPO criterion '{kind}'", field="pair_builder.criteria")  # pragma: no cover
