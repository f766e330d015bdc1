"""Cleaning (docs/method.md §2): the paper's rules plus the ones the reference code forgot.

Every dropped response is counted under a reason in a :class:`DropReport`; a prompt left with
fewer than ``min_responses`` responses is dropped with all of them (reason
``prompt_too_few_responses``). Rules run in this order, and a response is counted under the
first rule that drops it: empty, deleted, bot comment, too long (characters), duplicate, too
long (tokens).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from divtools.api import Group, Response
from divtools.errors import UserError

__all__ = ["DELETED_BODIES", "DropReport", "clean_groups", "strip_title_tag", "TokenCounter"]

#: bodies Reddit leaves behind for deleted or removed comments
DELETED_BODIES = frozenset({"[deleted]", "[removed]"})

_LEADING_TAG = re.compile(r"^\s*\[[^\]]*\]\s*")


def strip_title_tag(title: str) -> str:
    """Remove the first leading bracket tag (``[WP] Title`` -> ``Title``); only one, only leading."""
    return _LEADING_TAG.sub("", title, count=1).strip()


@dataclass
class DropReport:
    """What cleaning dropped, by reason (responses), and how many prompts were dropped."""

    responses: Counter[str] = field(default_factory=Counter)
    prompts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "responses": dict(sorted(self.responses.items())),
            "prompts": dict(sorted(self.prompts.items())),
            "responses_total": sum(self.responses.values()),
            "prompts_total": sum(self.prompts.values()),
        }


class TokenCounter:
    """Counts tokens of prompt + response the way the paper's 2048-token filter does."""

    def __init__(self, spec) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError:  # pragma: no cover
            raise UserError("cleaning.max_tokens needs transformers: pip install 'divtools[train]'",
                            field="cleaning.max_tokens") from None
        from divtools.models.resolve import resolve_model_ref

        # a preset or .gguf file: the tokenizer of its float32 folder in the divtools cache, the
        # very tokenizer training and generation load
        source = resolve_model_ref(spec.tokenizer, field="cleaning.max_tokens.tokenizer")
        revision = spec.revision if source == spec.tokenizer else None
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
        except (OSError, ValueError) as exc:
            raise UserError(f"could not load tokenizer '{spec.tokenizer}': {exc}",
                            field="cleaning.max_tokens.tokenizer") from None
        self.use_template = bool(spec.chat_template and getattr(self.tokenizer, "chat_template", None))

    def count(self, prompt: str, responses: Sequence[str], system: str | None = None) -> list[int]:
        if self.use_template:
            head = [{"role": "system", "content": system}] if system else []
            texts = [
                self.tokenizer.apply_chat_template(
                    [*head, {"role": "user", "content": prompt}, {"role": "assistant", "content": r}],
                    tokenize=False,
                )
                for r in responses
            ]
            # the template already holds the special tokens
            enc = self.tokenizer(texts, add_special_tokens=False)
        else:
            enc = self.tokenizer([f"{prompt}\n{r}" for r in responses])
        return [len(ids) for ids in enc["input_ids"]]


def clean_groups(groups: Sequence[Group], spec) -> tuple[list[Group], DropReport]:
    """Apply the cleaning rules of ``spec`` (a :class:`~divtools.spec.prepare.CleaningSpec`)."""
    report = DropReport()
    counter = TokenCounter(spec.max_tokens) if spec.max_tokens is not None else None
    markers = list(spec.bot_markers) if spec.drop_bot_comments else []
    out: list[Group] = []
    for group in groups:
        kept: list[Response] = []
        seen: set[str] = set()
        for r in group.responses:
            body = r.text.strip()
            reason = None
            if spec.drop_empty and not body:
                reason = "empty"
            elif spec.drop_deleted and body in DELETED_BODIES:
                reason = "deleted"
            elif markers and any(m in r.text for m in markers):
                reason = "bot_comment"
            elif spec.max_chars is not None and len(r.text) > spec.max_chars:
                reason = "too_long_chars"
            elif spec.drop_duplicates and body in seen:
                reason = "duplicate"
            if reason is not None:
                report.responses[reason] += 1
                continue
            seen.add(body)
            kept.append(r)
        if counter is not None and kept:
            lengths = counter.count(group.prompt, [r.text for r in kept], group.system)
            limit = spec.max_tokens.limit
            report.responses["too_long_tokens"] += sum(n > limit for n in lengths)
            kept = [r for r, n in zip(kept, lengths) if n <= limit]
        if len(kept) < spec.min_responses:
            report.prompts["too_few_responses"] += 1
            report.responses["prompt_too_few_responses"] += len(kept)
            continue
        out.append(Group(prompt_id=group.prompt_id, prompt=group.prompt, responses=kept, system=group.system))
    report.responses = Counter({k: v for k, v in report.responses.items() if v})
    return out, report
