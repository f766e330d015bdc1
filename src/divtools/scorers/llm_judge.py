"""The ``llm_judge`` scorer: a chat model rates each (prompt, response) against a rubric.

Judgements are cached on disk (``$DIVTOOLS_CACHE``, see :mod:`divtools.embed_cache`) under a key
of everything that changes them (server, model, rubric, templates, sampling; never the API key),
16 at a time, so a run stopped by an error or a kill asks again only for what it lacks.

Each item is one chat-completions request (through :class:`~divtools.generation.openai_client.
ChatClient`: timeouts, retries with backoff, key from the environment). The reply must be a bare
number (``7``, ``7.5``, ``7/10``) or contain ``Score: N``; the last such score counts and must lie
in ``[min_score, max_score]``. Any other reply stops scoring with an error that quotes it, so a
report is never built from half-parsed judgements.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Mapping, Sequence

import numpy as np

from divtools.api import Scorer
from divtools.generation.openai_client import ChatClient, MalformedResponseError
from divtools.generation.openai_compatible import fill_template
from divtools.generation.seeds import derive_seed

__all__ = ["LLMJudgeScorer", "parse_score"]

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_BARE = re.compile(rf"^\s*\**\s*({_NUMBER})\s*(?:/\s*{_NUMBER})?\s*\**\s*\.?\s*$")
_LABELLED = re.compile(rf"(?i)\bscore\b\s*(?:is|of|:|=)?\s*\**\s*({_NUMBER})")


def parse_score(reply: str, *, min_score: float, max_score: float) -> float:
    """The judge's score in ``reply``; ``ValueError`` with the reason when there is none."""
    match = _BARE.match(reply)
    if match is None:
        found = _LABELLED.findall(reply)
        if not found:
            raise ValueError("no score in the reply (expected a bare number or 'Score: N')")
        value = float(found[-1])
    else:
        value = float(match.group(1))
    if not (min_score <= value <= max_score):
        raise ValueError(f"score {value:g} is outside [{min_score:g}, {max_score:g}]")
    return value


class LLMJudgeScorer(Scorer):
    """``concurrency`` requests in flight; progress is shown by the caller (the evaluate run)."""

    def __init__(self, params: Any, *, client: ChatClient | None = None) -> None:
        self.params = params
        self.client = client or ChatClient(params)

    def identity(self) -> dict[str, Any]:
        p = self.params
        return {**self.client.identity(), "rubric": p.rubric, "prompt_template": p.prompt_template,
                "system_prompt": p.system_prompt, "min_score": p.min_score, "max_score": p.max_score,
                "temperature": p.temperature}

    def message(self, prompt: str, response: str) -> str:
        """The judge's user message for one item."""
        p = self.params
        return fill_template(
            p.prompt_template,
            rubric=p.rubric,
            prompt=prompt,
            response=response,
            min_score=f"{p.min_score:g}",
            max_score=f"{p.max_score:g}",
        )

    def _judge(self, i: int, prompt: str, response: str) -> float:
        p = self.params
        messages = ([{"role": "system", "content": p.system_prompt}] if p.system_prompt else []) + [
            {"role": "user", "content": self.message(prompt, response)}
        ]
        # the seed follows the item's content, not its position: same item, same request
        fields = {"temperature": p.temperature, "max_tokens": p.max_new_tokens,
                  "seed": derive_seed(p.seed, prompt, response) if p.seed is not None else None}
        reply = self.client.chat(messages, **fields)[0]
        try:
            return parse_score(reply, min_score=p.min_score, max_score=p.max_score)
        except ValueError as exc:
            shown = " ".join(reply.split())
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            raise MalformedResponseError(
                f"llm_judge: the judge's reply to item {i + 1} cannot be read: {exc}: {shown!r}. "
                "Make the prompt_template ask for 'Score: N', or use a stronger judge model"
            ) from None

    def cache_identity(self) -> dict[str, Any]:
        """Everything that changes a judgement: the cache key (no API key)."""
        p = self.params
        return {"scorer": "llm_judge", **self.identity(), "max_new_tokens": p.max_new_tokens, "seed": p.seed,
                "extra_body": p.extra_body}

    def score(
        self,
        prompts: Sequence[str],
        responses: Sequence[str],
        rows: Sequence[Mapping[str, Any]] | None = None,
    ) -> np.ndarray:
        if len(prompts) != len(responses):
            raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
        items = list(zip(prompts, responses))
        out = np.full(len(items), np.nan, dtype=np.float64)
        cache = None
        keys = [json.dumps([prompt, response], ensure_ascii=False) for prompt, response in items]
        if self.params.cache and items:
            from divtools.embed_cache import EmbeddingCache

            cache = EmbeddingCache(self.cache_identity())
            for i, vec in enumerate(cache.get_many(keys)):
                if vec is not None:
                    out[i] = _unpack(vec)
        todo = [i for i in range(len(items)) if np.isnan(out[i])]
        fresh: list[int] = []

        def record(i: int, value: float) -> None:
            out[i] = value
            fresh.append(i)
            if cache is not None and len(fresh) >= _FLUSH_EVERY:
                flush()

        def flush() -> None:
            if cache is not None and fresh:
                cache.put_many([keys[i] for i in fresh], np.stack([_pack(out[i]) for i in fresh]))
            fresh.clear()

        try:
            if self.params.concurrency <= 1:
                for i in todo:
                    record(i, self._judge(i, *items[i]))
            else:
                with ThreadPoolExecutor(max_workers=self.params.concurrency) as pool:
                    futures = {pool.submit(self._judge, i, *items[i]): i for i in todo}
                    try:
                        for future in as_completed(futures):
                            record(futures[future], future.result())
                    except BaseException:
                        for future in futures:  # stop what has not started; report the error as is
                            future.cancel()
                        raise
        finally:
            flush()  # judgements already paid for survive an error: a rerun asks only for the rest
        return out


#: judgements are written to the cache in packs of this many (a crash loses at most these)
_FLUSH_EVERY = 16


def _pack(value: float) -> np.ndarray:
    # the cache stores float32 rows: keep a float64 as float32 head + float32 remainder
    head = np.float32(value)
    return np.array([head, np.float32(value - float(head))], dtype=np.float32)


def _unpack(vec: np.ndarray) -> float:
    # scores are parsed from short decimal strings: 12 significant digits give back the same float
    return float(f"{float(vec[0]) + float(vec[1]):.12g}")
