"""One redaction for everything divtools records or prints: specs, log lines, error messages.

:func:`redact` rewrites a text, :func:`redact_data` a JSON-like value (a spec dump, settings)
recursively. What is replaced by ``***``:

- the user and password of a URL (``https://user:PASSWORD@host`` -> ``https://***@host``);
- the value of a credential-like query parameter (``?api-key=...``, ``key``, ``token``,
  ``access_token``, ``sig``, ``password``, ...); other parameters (``api-version``) stay;
- the value of an ``Authorization`` / ``Proxy-Authorization`` / ``api-key`` / ``x-api-key``
  header, written as a header (``Name: value``), as JSON (``"name": "value"``) or as Python's
  repr of a dict, and any ``Bearer``/``Basic`` token;
- every value that a secret environment variable holds: the variables a client read a key
  from (:func:`remember`), and any variable whose name has a part saying it is a secret
  (``OPENAI_API_KEY``, ``HF_TOKEN``, ``*_SECRET``, ``*_PASSWORD``, ...; values of 8 characters
  or more, so a short flag value is not blanked everywhere);
- in :func:`redact_data`, the whole value of a mapping key named like a credential
  (``api_key``, ``password``, ``token``, ``authorization``, ...).

It is deliberately over-eager: a recorded spec losing a harmless value is better than a key in
``report.json``. Names of variables (``api_key_env: OPENAI_API_KEY``) are kept: they are not
secrets, and a user needs them to fix a run.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

__all__ = ["MASK", "redact", "redact_data", "remember"]

MASK = "***"

_remembered: set[str] = set()
_lock = threading.Lock()

#: environment variable names whose values are secrets
_SECRET_ENV = re.compile(r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH)(?:_|$)",
                         re.IGNORECASE)
_MIN_SECRET_LEN = 8

#: query parameters and mapping keys that hold credentials
_SECRET_NAME = (r"(?:api[-_]?key|apikey|x-api-key|key|token|access[-_]?token|refresh[-_]?token|id[-_]?token|"
                r"auth|authorization|proxy-authorization|password|passwd|pwd|secret|client[-_]?secret|"
                r"sig|signature|x-amz-signature|x-goog-signature|credential|session[-_]?token)")
_SECRET_KEY = re.compile(rf"^{_SECRET_NAME}$", re.IGNORECASE)

# scheme://user:pass@host or scheme://token@host
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@\"'<>]+(?::[^/\s@\"'<>]*)?@")
# ?name=value / &name=value / ;name=value with a credential-like name
_QUERY_SECRET = re.compile(rf"(?i)([?&;]{_SECRET_NAME}=)[^&#\s\"'<>]*")
# header-like "Name: value" (to the end of the line / a quote / a comma in a mapping repr)
_HEADER_NAMES = r"(?:authorization|proxy-authorization|api[-_]key|x-api-key|openai-api-key|ocp-apim-subscription-key)"
# quoted as JSON or a dict repr, possibly JSON-escaped once more (\"api-key\": \"...\")
_HEADER_QUOTED = re.compile(rf"(?i)(\\*[\"']{_HEADER_NAMES}\\*[\"']\s*[:=]\s*\\*[\"'])([^\"'\\]*)")
_HEADER_PLAIN = re.compile(rf"(?i)(\b{_HEADER_NAMES}\s*:\s*)(?![\"'\s])[^\r\n,;}}]*")
_BEARER = re.compile(r"(?i)\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}")


def remember(secret: str | None) -> None:
    """Redact ``secret`` from now on (a client calls this with each key it reads)."""
    if secret and len(secret) >= 4:
        with _lock:
            _remembered.add(secret)


def _secrets() -> list[str]:
    values = set(_remembered)
    for name, value in os.environ.items():
        if value and len(value) >= _MIN_SECRET_LEN and _SECRET_ENV.search(name) and not name.endswith("_ENV"):
            values.add(value)
    return sorted(values, key=len, reverse=True)  # longest first: a key containing another


def redact(text: str) -> str:
    """``text`` with every credential replaced by ``***`` (see the module docstring)."""
    if not isinstance(text, str) or not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _HEADER_QUOTED.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _HEADER_PLAIN.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return text


def redact_data(value: Any) -> Any:
    """A copy of a JSON-like ``value`` with every string redacted and credential-named keys'
    values masked whole."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and _SECRET_KEY.match(key) and isinstance(item, str) and item:
                out[key] = MASK
            else:
                out[key] = redact_data(item)
        return out
    if isinstance(value, (list, tuple)):
        return [redact_data(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value
