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
           "check_depth", "loads"]

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


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`InputTooComplex` if lists/mappings in ``value`` nest deeper than ``limit``
    (iterative, so it cannot overflow the stack itself)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise InputTooComplex(f"lists/mappings nested more than {limit} levels deep; flatten it")
        stack.extend((child, depth + 1) for child in children)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def _count_keys(value: Any) -> int:
    count, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            count += len(node)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return count


def loads(text: str) -> Any:
    """``json.loads`` within the limits: :class:`DuplicateKey`, :class:`InputTooComplex`, or
    ``json.JSONDecodeError`` for bad syntax."""
    # the scanner recurses per level: a cheap count first, so 100,000 "[" never reach it
    if text.count("[") + text.count("{") > MAX_DEPTH:
        depth = best = 0
        in_string = escaped = False
        for ch in text:
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "[{":
                depth += 1
                best = max(best, depth)
                if best > MAX_DEPTH:
                    raise InputTooComplex(f"lists/objects nested more than {MAX_DEPTH} levels deep; flatten it")
            elif ch in "]}":
                depth -= 1
    try:
        value = json.loads(text)
        # a key written '"key":' (as JSON writers do) shows as one '":'; when the text holds
        # exactly as many as the parsed objects have keys, none was dropped (the common case, at
        # json.loads' own speed); otherwise parse again, checking each object's pairs
        if (text.count('":') != _count_keys(value)) if "{" in text else False:
            value = json.loads(text, object_pairs_hook=_pairs)
        return value
    except RecursionError:  # pragma: no cover - the count above comes first
        raise InputTooComplex(f"lists/objects nested more than {MAX_DEPTH} levels deep; flatten it") from None
    except ValueError as exc:
        if isinstance(exc, (json.JSONDecodeError, DuplicateKey)):
            raise
        if "integer string conversion" in str(exc) or "digits" in str(exc):
            raise InputTooComplex(f"an integer has more than {MAX_INT_DIGITS} digits, which Python refuses "
                                  "to read; use a smaller number") from None
        raise
