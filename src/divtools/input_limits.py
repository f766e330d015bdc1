"""Limits on untrusted structured input: spec files (YAML, JSON), ``--set`` values, JSONL rows.

A file a user did not write (a downloaded spec, a generations file from a server) can be built
to exhaust the machine with a few hundred bytes, or to be read differently by two tools:

- **nesting depth**: 100,000 nested ``[`` overflow Python's stack (``RecursionError``) in the
  parser or later in validation; divtools reads at most :data:`MAX_DEPTH` levels;
- **alias expansion** (YAML's "billion laughs": 9 levels of 10 aliases are 10^9 values, built
  lazily and blown up by the first tool that walks them): aliases may add at most
  :data:`MAX_ALIAS_EXPANSION` values beyond the file's own;
- **integer digits**: Python refuses to convert integer text of more than 4,300 digits
  (CVE-2020-10735) with a bare ``ValueError``; divtools names the place;
- **duplicate keys** in one mapping: YAML and JSON parsers silently keep the last one, so the
  file means something other than it shows; divtools refuses them.

The limits are far above any real spec or data row. Here are the shared checks; the YAML side
is :class:`divtools.spec.yaml_loader.SpecLoader`, the JSON side :func:`loads`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["DuplicateKey", "InputTooComplex", "MAX_ALIAS_EXPANSION", "MAX_DEPTH", "MAX_INT_DIGITS",
           "loads"]

MAX_DEPTH = 100
MAX_ALIAS_EXPANSION = 10_000
MAX_INT_DIGITS = 4300


class InputTooComplex(ValueError):
    """Nested too deeply, or an integer with too many digits."""


class DuplicateKey(ValueError):
    """One mapping holds the same key twice."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"the key '{key}' appears twice in one mapping; keep one (parsers silently keep the last)")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def _shape(value: Any) -> tuple[int, int]:
    """(keys in all objects, nesting depth) of a parsed JSON value; iterative, containers only."""
    keys = deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            keys += len(node)
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return keys, deepest


def loads(text: str) -> Any:
    """``json.loads`` within the limits: :class:`DuplicateKey`, :class:`InputTooComplex`, or
    ``json.JSONDecodeError`` for bad syntax."""
    too_deep = f"lists/objects nested more than {MAX_DEPTH} levels deep; flatten it"
    try:
        value = json.loads(text)  # its scanner stops a 100,000-deep text with a RecursionError
        keys, depth = _shape(value)
        if depth > MAX_DEPTH:
            raise InputTooComplex(too_deep)
        # a key written '"key":' (as JSON writers do) shows as one '":'; when the text holds
        # exactly as many as the parsed objects have keys, none was dropped (the common case, at
        # json.loads' own speed); otherwise parse again, checking each object's pairs
        if keys and text.count('":') != keys:
            value = json.loads(text, object_pairs_hook=_pairs)
        return value
    except RecursionError:
        raise InputTooComplex(too_deep) from None
    except ValueError as exc:
        if isinstance(exc, (json.JSONDecodeError, DuplicateKey, InputTooComplex)):
            raise
        if "integer string conversion" in str(exc) or "digits" in str(exc):
            raise InputTooComplex(f"an integer has more than {MAX_INT_DIGITS} digits, which Python refuses "
                                  "to read; use a smaller number") from None
        raise
