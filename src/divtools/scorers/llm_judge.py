"""The ``llm_judge`` scorer: a chat model rates each (prompt, response) against a rubric.

Judgements are cached on disk (``$DIVTOOLS_CACHE``, see :mod:`divtools.embed_cache`) under a key
of everything that changes them (server, model, rubric, templates, sampling; never the API key),
16 at a time, so a run stopped by an error or a kill asks again only for what it lacks.

Each item is one chat-completions request (through :class:`~divtools.generation.openai_client.
ChatClient`: timeouts, retries with backoff, key from the environment).

- **Constrained output** (``constrained: auto``, the default): the request carries
  ``response_format`` with a JSON schema ``{"score": number in [min_score, max_score]}``, first in
  OpenAI's form (``json_schema``: OpenAI, vLLM, llama-server), then, if the server refuses it
  (HTTP 400/422, or any HTTP error whose message names ``response_format``: llama-cpp-python's
  server answers 500), as ``{type: json_object, schema}`` (llama-cpp-python's server), then none; a
  refused form is dropped for the rest of the run and ``notes`` says so.
- **Reading a reply:** a JSON object with a numeric ``score``, a bare number (``7``, ``7.5``,
  ``7/10``), or text containing ``Score: N`` (the last one counts); it must lie in
  ``[min_score, max_score]``.
- **Unreadable replies** are asked again up to ``reask`` times, with the reply and a one-line
  reminder added to the conversation. A reply still unreadable leaves the item **missing** (NaN,
  never cached, so a rerun asks again) and is quoted in ``unscored``; the evaluate run counts
  missing scores per system, leaves them out of every mean, and stops with exit 2 only when a
  system's missing share passes ``max_missing_share``.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, Mapping, Sequence

import numpy as np

from divtools.api import Scorer
from divtools.generation.openai_client import ChatClient, ServerError
from divtools.generation.openai_compatible import fill_template
from divtools.generation.seeds import derive_seed

__all__ = ["LLMJudgeScorer", "parse_score"]

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_BARE = re.compile(rf"^\s*\**\s*({_NUMBER})\s*(?:/\s*{_NUMBER})?\s*\**\s*\.?\s*$")
_LABELLED = re.compile(rf"(?i)\bscore\b\s*(?:is|of|:|=)?\s*\**\s*({_NUMBER})")


_REMINDER = "Your reply had no readable score. Reply with the score only: one number from {min_score} to {max_score}."


def _json_score(reply: str) -> float | None:
    """The ``score`` of a JSON-object reply (constrained output), else None."""
    text = reply.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text).get("score")
    except (json.JSONDecodeError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_score(reply: str, *, min_score: float, max_score: float) -> float:
    """The judge's score in ``reply``; ``ValueError`` with the reason when there is none."""
    match = _BARE.match(reply)
    value = _json_score(reply)
    if value is not None:
        pass
    elif match is None:
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
        #: one line per item left without a score (its reply quoted), in the order they happened
        self.unscored: list[str] = []
        #: what changed during the run, e.g. the server refused constrained output
        self.notes: list[str] = []
        #: the response_format forms still to try, best first (a refused one is dropped)
        self._forms = {"auto": ["json_schema", "json_object"], "off": []}.get(params.constrained, [params.constrained])
        self._lock = threading.Lock()

    def response_format(self) -> dict[str, Any] | None:
        """The ``response_format`` of a constrained request (None: unconstrained)."""
        if not self._forms:
            return None
        p = self.params
        schema = {"type": "object", "additionalProperties": False, "required": ["score"],
                  "properties": {"score": {"type": "number", "minimum": p.min_score, "maximum": p.max_score}}}
        if self._forms[0] == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "score", "strict": True, "schema": schema}}

    def identity(self) -> dict[str, Any]:
        p = self.params
        return {**self.client.identity(), "rubric": p.rubric, "prompt_template": p.prompt_template,
                "system_prompt": p.system_prompt, "min_score": p.min_score, "max_score": p.max_score,
                "temperature": p.temperature, "constrained": p.constrained, "reask": p.reask}

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

    def _ask(self, messages: list[dict[str, str]], fields: dict[str, Any]) -> str:
        while True:
            fmt = self.response_format()
            if fmt is None:
                return self.client.chat(messages, **fields)[0]
            try:
                return self.client.chat(messages, **fields, response_format=fmt)[0]
            except ServerError as exc:
                # a refusal: 400/422, or another status whose error names the field (llama-cpp-python's
                # server answers HTTP 500 "response_format.type: Input should be 'text' or 'json_object'")
                if not (exc.status in (400, 422) or (exc.status is not None and "response_format" in str(exc))):
                    raise
                with self._lock:  # another thread may have dropped this form already
                    if self._forms and self._forms[0] == fmt["type"]:
                        self._forms.pop(0)
                        then = f"trying {self._forms[0]}" if self._forms else "judged without constrained output"
                        self.notes.append(f"the server refused response_format {fmt['type']} (HTTP {exc.status}); {then}")

    def _judge(self, i: int, prompt: str, response: str) -> float:
        """The item's score, or NaN (recorded in ``unscored``) when no reply can be read."""
        p = self.params
        messages = ([{"role": "system", "content": p.system_prompt}] if p.system_prompt else []) + [
            {"role": "user", "content": self.message(prompt, response)}
        ]
        # the seed follows the item's content, not its position: same item, same request
        fields = {"temperature": p.temperature, "max_tokens": p.max_new_tokens,
                  "seed": derive_seed(p.seed, prompt, response) if p.seed is not None else None}
        reminder = _REMINDER.format(min_score=f"{p.min_score:g}", max_score=f"{p.max_score:g}")
        for attempt in range(p.reask + 1):
            reply = self._ask(messages, fields)
            try:
                return parse_score(reply, min_score=p.min_score, max_score=p.max_score)
            except ValueError as exc:
                why = exc
            messages = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": reminder}]
        shown = " ".join(reply.split())
        shown = shown if len(shown) <= 120 else shown[:120] + "..."
        with self._lock:
            self.unscored.append(f"item {i + 1}: {why}: {shown!r}")
        return float("nan")

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
            if np.isnan(value):  # missing: never cached, so a rerun asks again
                return
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
