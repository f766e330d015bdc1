"""Reading generations and prompt files: JSONL rows -> :class:`Sample` records.

A generations row holds ``prompt`` and ``response`` (strings), and optionally ``system``,
``id``, ``prompt_id`` and ``sample`` (or ``sample_index``, as the generation driver writes it),
plus any other columns, kept for scorers such as ``dataset_score``. A row without ``prompt_id``
gets one derived from its prompt text (:func:`prompt_id_of`), so the same prompt has the same id
in every file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from divtools.api import Group, Response
from divtools.errors import UserError
from divtools.jsonl import read_jsonl

__all__ = [
    "DEFAULT_SYSTEM",
    "Sample",
    "groups_from_samples",
    "prompt_id_of",
    "read_jsonl",
    "read_prompt_ids",
    "read_prompts",
    "read_samples",
    "samples_from_groups",
]

#: the system of rows that name none
DEFAULT_SYSTEM = "default"


@dataclass
class Sample:
    """One response to one prompt by one system, with its input row."""

    system: str
    prompt_id: str
    prompt: str
    response: str
    sample: int | None
    order: int
    row: dict[str, Any] = field(repr=False)


def prompt_id_of(prompt: str) -> str:
    """A stable id for a prompt text, the same one ``run: prepare`` gives it
    (:func:`divtools.data.sources.prompt_id_for`: ``p`` + 16 hex digits of its SHA-1)."""
    from divtools.data.sources import prompt_id_for

    return prompt_id_for(prompt)


def _text(row: dict[str, Any], key: str, number: int, name: str) -> str:
    value = row.get(key)
    if not isinstance(value, str):
        got = "missing" if key not in row else f"a {type(value).__name__}"
        raise UserError(f"line {number}: '{key}' must be a string ({got})", file=name)
    return value


def _prompt(row: dict[str, Any], number: int, name: str) -> str:
    """The row's prompt, under prepare's rule (:func:`divtools.data.sources.rows.prompt_problem`):
    a prompt prepare refuses is refused here too."""
    from divtools.data.sources.rows import prompt_problem

    prompt = _text(row, "prompt", number, name)
    problem = prompt_problem(prompt)
    if problem:
        raise UserError(f"line {number}: {problem}", file=name, field="prompt")
    return prompt


def _optional_id(row: dict[str, Any], key: str, number: int, name: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UserError(f"line {number}: '{key}' must be a string or an integer", file=name)
    return str(value)


def _sample_index(row: dict[str, Any], number: int, name: str) -> int | None:
    for key in ("sample", "sample_index"):
        if key in row and row[key] is not None:
            value = row[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UserError(f"line {number}: '{key}' must be a non-negative integer", file=name)
            return value
    return None


def read_samples(path: Path, *, system: str | None = None, only_system: str | None = None) -> list[Sample]:
    """Every row of a generations file as a :class:`Sample`.

    ``system`` forces the system name of all kept rows; ``only_system`` keeps only the rows whose
    ``system`` column (``default`` when absent) equals it. Rows are checked: a repeated response
    ``id`` or a repeated (system, prompt, sample index) is an error, and so is one prompt id with
    two different prompt texts.
    """
    name = str(path)
    out: list[Sample] = []
    texts: dict[str, str] = {}
    ids: set[str] = set()
    keys: set[tuple[str, str, int]] = set()
    for number, row in read_jsonl(path):
        own = row.get("system")
        if own is not None and not isinstance(own, str):
            raise UserError(f"line {number}: 'system' must be a string", file=name)
        own = own or DEFAULT_SYSTEM
        if only_system is not None and own != only_system:
            continue
        prompt = _prompt(row, number, name)
        response = _text(row, "response", number, name)
        pid = _optional_id(row, "prompt_id", number, name) or prompt_id_of(prompt)
        if texts.setdefault(pid, prompt) != prompt:
            raise UserError(f"line {number}: prompt_id '{pid}' appears with two different prompt texts", file=name)
        sys_name = system or own
        rid = _optional_id(row, "id", number, name)
        if rid is not None:
            if rid in ids:
                raise UserError(f"line {number}: id '{rid}' appears twice", file=name)
            ids.add(rid)
        index = _sample_index(row, number, name)
        if index is not None:
            key = (sys_name, pid, index)
            if key in keys:
                raise UserError(
                    f"line {number}: system '{sys_name}', prompt '{pid}', sample {index} appears twice", file=name
                )
            keys.add(key)
        out.append(Sample(sys_name, pid, prompt, response, index, len(out), row))
    if not out:
        which = f" for system '{only_system}'" if only_system is not None else ""
        raise UserError(f"no generations{which} in this file", file=name)
    return out


def samples_from_groups(groups: list[Group], system: str) -> list[Sample]:
    """Samples of a data source's groups; each row holds prompt, prompt_id, response, id,
    ``score`` and the response's meta columns (what ``dataset_score`` reads)."""
    out: list[Sample] = []
    for group in groups:
        for r in group.responses:
            row = {**r.meta, "prompt": group.prompt, "prompt_id": group.prompt_id, "response": r.text,
                   "id": r.id, "score": r.score}
            out.append(Sample(system, group.prompt_id, group.prompt, r.text, None, len(out), row))
    return out


def groups_from_samples(samples: list[Sample]) -> list[Group]:
    """The inverse of :func:`samples_from_groups` (rows kept in ``meta``), for cleaning."""
    groups: dict[str, Group] = {}
    for s in samples:
        group = groups.setdefault(s.prompt_id, Group(prompt_id=s.prompt_id, prompt=s.prompt, responses=[]))
        group.responses.append(Response(id=str(s.row.get("id", s.order)), text=s.response, meta=s.row))
    return list(groups.values())


def read_prompts(path: Path) -> dict[str, str]:
    """prompt id -> prompt text, in file order (``prompt`` required; ``prompt_id`` or ``id``)."""
    name = str(path)
    prompts: dict[str, str] = {}
    for number, row in read_jsonl(path):
        prompt = _prompt(row, number, name)
        pid = _optional_id(row, "prompt_id", number, name) or _optional_id(row, "id", number, name) or prompt_id_of(prompt)
        if pid in prompts and prompts[pid] != prompt:
            raise UserError(f"line {number}: prompt id '{pid}' appears with two different prompt texts", file=name)
        prompts.setdefault(pid, prompt)
    if not prompts:
        raise UserError("no prompts in this file", file=name)
    return prompts


def read_prompt_ids(path: Path) -> list[str]:
    """One prompt id per non-blank line (surrounding spaces stripped); duplicates are an error."""
    name = str(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark is accepted
    except UnicodeDecodeError:
        raise UserError("not valid UTF-8", file=name) from None
    ids = [line.strip() for line in lines if line.strip()]
    seen: set[str] = set()
    for pid in ids:
        if pid in seen:
            raise UserError(f"prompt id '{pid}' is listed twice", file=name)
        seen.add(pid)
    if not ids:
        raise UserError("no prompt ids in this file", file=name)
    return ids
