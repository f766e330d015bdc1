"""Reading JSON Lines input files: one reader, one set of errors, for every stage.

Each line is decoded on its own, so an error names the line: invalid UTF-8, invalid JSON, or a
line that is not a JSON object are user errors (``FILE: line N...``); blank lines are skipped.
A byte-order mark is accepted. Lines are read within :mod:`divtools.input_limits`: nesting
depth, integer digits and duplicate keys in one object are refused with the line's number.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any, Iterator

from divtools import input_limits
from divtools.errors import UserError

__all__ = ["read_jsonl"]


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of ``path``."""
    name = str(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", file=name) from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]  # a byte-order mark, accepted as in spec files
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"line {number}: not valid UTF-8 (byte {exc.start} of the line); save the file as UTF-8",
                    file=name,
                ) from None
            if not line.strip():
                continue
            try:
                obj = input_limits.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"line {number}, column {exc.colno}: not valid JSON: {exc.msg}", file=name) from None
            except (input_limits.DuplicateKey, input_limits.InputTooComplex) as exc:
                raise UserError(f"line {number}: refused: {exc}", file=name) from None
            if not isinstance(obj, dict):
                raise UserError(f"line {number}: expected a JSON object, got {type(obj).__name__}", file=name)
            yield number, obj
