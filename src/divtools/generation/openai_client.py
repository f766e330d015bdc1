"""A small client for the OpenAI chat-completions API (``POST {base_url}/chat/completions``).

Standard library only (``urllib``). Retries timeouts, dropped connections, HTTP 429 and 5xx with
exponential backoff (``backoff_base_s * 2**attempt``, capped at ``backoff_max_s``; a server's
``Retry-After`` is honoured up to the cap). The API key is read from the environment variable the
params name, sent only in the ``Authorization`` header, and appears in no message or record.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Mapping, Sequence

from divtools.errors import DivtoolsError, UserError
from divtools.redact import redact, remember

__all__ = ["ChatClient", "DEFAULT_BASE_URL", "MalformedResponseError", "ServerError"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


class _Redacted(DivtoolsError):
    """A server problem whose message may quote the server (which may echo our headers): the
    message is redacted (:func:`divtools.redact.redact`) before anyone can print it."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class ServerError(_Redacted):
    """The server kept failing (after all retries) or refused the request (``status``: its HTTP
    status when it answered with one, e.g. 400 for a request field it does not accept)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class MalformedResponseError(_Redacted):
    """The server answered, but not with a chat completion divtools can read."""


def _excerpt(text: str, limit: int = 300) -> str:
    # redacted before cutting, so a cut cannot leave half a key that no pattern recognises
    text = redact(" ".join(text.split()))
    return text if len(text) <= limit else text[:limit] + "..."


def _base_url(connection: Any) -> str:
    """The server URL: the spec's ``base_url`` (checked by the spec), else the environment
    variable ``base_url_env`` (checked here the same way; the message never shows its value)."""
    if connection.base_url:
        return connection.base_url
    env = connection.base_url_env
    value = os.environ.get(env) if env else None
    if not value:
        return DEFAULT_BASE_URL
    value = value.strip()
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"the environment variable {env} must hold an http:// or https:// URL "
                        "(its value is not shown: it may hold a secret)", field="base_url_env")
    if "@" in parts.netloc:
        raise UserError(f"the environment variable {env} holds a URL with user:password@; remove the "
                        "credentials and put the key in the environment variable named by api_key_env "
                        "(the value is not shown)", field="base_url_env")
    return value


class ChatClient:
    """Chat completions against one server and model.

    ``connection`` is an :class:`~divtools.builtins.backends.OpenAIConnection` (or any object
    with its attributes). ``sleep`` is injectable so tests can record the backoff.
    """

    def __init__(self, connection: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.connection = connection
        self.model = connection.model
        self.base_url = _base_url(connection).rstrip("/")
        parts = urllib.parse.urlsplit(self.base_url)
        # a query (e.g. ?api-version=...) stays after the path
        self._request_url = urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, parts.path.rstrip("/") + "/chat/completions", parts.query, "")
        )
        #: the URL as recorded and shown: without user:password@ or a query string, which may
        #: carry credentials (keys belong in the environment variable, never in a record)
        self.url = _redact(self._request_url)
        self._sleep = sleep
        #: wait times of the retries made so far (seconds), for progress output and tests
        self.waits: list[float] = []

    # -- key handling: read at request time, never stored on the object
    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        env = self.connection.api_key_env
        key = os.environ.get(env) if env else None
        if key:
            remember(key)  # from now on redacted from every message and record
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def identity(self) -> dict[str, Any]:
        """Where requests go (no key): recorded with generations and scores."""
        return {"base_url": _redact(self.base_url), "model": self.model}

    def chat(self, messages: Sequence[Mapping[str, str]], **fields: Any) -> list[str]:
        """The text of every choice the server returns for ``messages``.

        ``fields`` (temperature, max_tokens, seed, n, ...) go into the request body after
        ``extra_body``; ``None`` values are left out.
        """
        body: dict[str, Any] = {"model": self.model, "messages": [dict(m) for m in messages]}
        body.update(self.connection.extra_body or {})
        body.update({k: v for k, v in fields.items() if v is not None})
        answer = self._post(body)
        return self._texts(answer, expected=int(body.get("n", 1)))

    def _post(self, body: dict[str, Any]) -> Any:
        data = json.dumps(body).encode("utf-8")
        retries = self.connection.max_retries
        last = ""
        last_status: int | None = None  # the last HTTP status of a retried failure
        for attempt in range(retries + 1):
            request = urllib.request.Request(self._request_url, data=data, headers=self._headers(), method="POST")
            retry_after: float | None = None
            try:
                with urllib.request.urlopen(request, timeout=self.connection.timeout_s) as response:
                    raw = response.read()
                break
            except urllib.error.HTTPError as exc:
                detail = _excerpt(exc.read().decode("utf-8", "replace")) if exc.fp is not None else ""
                if exc.code in (401, 403):
                    env = self.connection.api_key_env
                    hint = (
                        f"check the key in the environment variable {env}"
                        if env and os.environ.get(env)
                        else f"set the API key in the environment variable {env or '(api_key_env)'}"
                    )
                    raise UserError(
                        f"{self.url} answered HTTP {exc.code} ({exc.reason}): {hint}", field="api_key_env"
                    ) from None
                if exc.code not in _RETRY_STATUS:
                    raise ServerError(
                        f"{self.url} answered HTTP {exc.code} ({exc.reason}) for model '{self.model}': {detail}",
                        status=exc.code,
                    ) from None
                last = f"HTTP {exc.code} ({exc.reason}) {detail}".strip()
                last_status = exc.code
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            except (TimeoutError, socket.timeout) as exc:
                last, last_status = f"no answer within {self.connection.timeout_s:g} s ({type(exc).__name__})", None
            except urllib.error.URLError as exc:
                last_status = None
                if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                    last = f"no answer within {self.connection.timeout_s:g} s"
                else:
                    last = f"connection failed: {redact(str(exc.reason))}"
            except (ConnectionError, http.client.HTTPException) as exc:
                last, last_status = f"connection failed: {type(exc).__name__}: {redact(str(exc))}", None
            if attempt == retries:
                raise ServerError(
                    f"{self.url} failed {retries + 1} time(s) for model '{self.model}'; last: {last}. "
                    "Raise max_retries/timeout_s, or check the server",
                    status=last_status,
                )
            wait = min(self.connection.backoff_max_s, self.connection.backoff_base_s * 2**attempt)
            if retry_after is not None:
                wait = min(self.connection.backoff_max_s, max(wait, retry_after))
            self.waits.append(wait)
            self._sleep(wait)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MalformedResponseError(
                f"{self.url} returned something that is not JSON: {_excerpt(raw.decode('utf-8', 'replace'))!r}"
            ) from None

    def _texts(self, answer: Any, *, expected: int) -> list[str]:
        def bad(why: str) -> MalformedResponseError:
            return MalformedResponseError(
                f"{self.url} returned a malformed chat completion ({why}): {_excerpt(json.dumps(answer))!r}"
            )

        if not isinstance(answer, dict):
            raise bad("not a JSON object")
        if "error" in answer and "choices" not in answer:
            raise ServerError(f"{self.url} returned an error: {_excerpt(json.dumps(answer['error']))}")
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices:
            raise bad("no 'choices' list")
        if len(choices) != expected:
            raise bad(f"{len(choices)} choices, asked for {expected}")
        texts = []
        for i, choice in enumerate(sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)):
            message = choice.get("message") if isinstance(choice, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                reason = choice.get("finish_reason") if isinstance(choice, dict) else None
                raise bad(f"choice {i} has no text content" + (f" (finish_reason {reason})" if reason else ""))
            texts.append(content)
        return texts


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (RFC 9110
    §10.2.3); None when absent or unreadable (then our own backoff applies)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
