"""Run a backend over a fixed list of prompts and append the samples to a resumable JSONL file.

One row per sample::

    {"id": "SYSTEM/PROMPT_ID/K", "prompt_id": ..., "prompt": ..., "response": ...,
     "system": ..., "sample": K, "settings": {...backend settings, "num_samples", "seed"}}

Rows are appended as soon as a prompt's K samples exist, each prompt's rows in one write that is
flushed and fsynced, so a killed run loses at most the prompts in flight. On a rerun:

- a last line cut short by the kill (no newline) is discarded;
- a prompt with fewer than K rows (killed in the middle of its write) is discarded;
- the file is rewritten atomically without those, and only prompts without K rows are generated;
- rows of other systems are kept as they are, so one file can hold several systems;
- rows of this system made with different settings, seed or K, or for a prompt id whose text
  differs or that is not in this run's list, stop the run (UserError): runs never mix.

Seeds: prompts are cut into chunks of ``backend.prompts_per_call`` at fixed positions of the
full list, and each chunk's seed is derived from ``seed`` and the id of its first prompt, so a
run that resumes at a chunk boundary produces exactly the texts an uninterrupted run would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from divtools.api import Backend
from divtools.atomic import atomic_write
from divtools.errors import DivtoolsError, UserError
from divtools.generation.seeds import derive_seed

__all__ = ["generate_to_jsonl", "normalise_prompts", "read_generations", "row_settings"]


def normalise_prompts(prompts: Any) -> list[tuple[str, str]]:
    """(prompt_id, prompt) pairs from a mapping id->prompt, pairs, dicts or Group-like objects."""
    if isinstance(prompts, Mapping):
        items = [(str(k), v) for k, v in prompts.items()]
    else:
        items = []
        for item in prompts:
            if isinstance(item, Mapping):
                items.append((str(item["prompt_id"]), item["prompt"]))
            elif hasattr(item, "prompt_id") and hasattr(item, "prompt"):
                items.append((str(item.prompt_id), item.prompt))
            else:
                pid, text = item
                items.append((str(pid), text))
    seen: set[str] = set()
    for pid, text in items:
        if pid in seen:
            raise UserError(f"prompt id '{pid}' appears twice in the prompt list; prompt ids must be unique")
        if not isinstance(text, str):
            raise UserError(f"prompt '{pid}' is a {type(text).__name__}, expected text")
        seen.add(pid)
    return items


def row_settings(backend: Backend, *, num_samples: int, seed: int) -> dict[str, Any]:
    """The settings stored with (and compared against) every row of a run."""
    settings = dict(backend.settings())
    settings.update(num_samples=num_samples, seed=seed)
    # through JSON so that tuples/lists and the like compare as they will read back
    return json.loads(json.dumps(settings, sort_keys=True))


def read_generations(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The complete rows of a generations file (a last line cut short by a kill is skipped)."""
    rows, _, _ = _read_lines(Path(path))
    return [row for _, row in rows]


def _read_lines(path: Path) -> tuple[list[tuple[bytes, dict[str, Any]]], bool, int]:
    """(complete (line, row) pairs, whether a truncated tail was dropped, byte size)."""
    data = path.read_bytes()
    pieces = data.split(b"\n")
    truncated = bool(pieces and pieces[-1].strip())
    body = pieces[:-1]  # the piece after the last newline is empty or a truncated line
    rows = []
    for number, line in enumerate(body, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UserError(
                f"line {number} is not JSON; this is not a generations file divtools can resume "
                "(move it away or choose another output path)",
                file=str(path),
            ) from None
        if not isinstance(row, dict):
            raise UserError(f"line {number} is not a JSON object", file=str(path))
        rows.append((line, row))
    return rows, truncated, len(data)


def _diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    parts = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]
    return "; ".join(parts[:6])


def _existing(
    path: Path, *, system: str, settings: Mapping[str, Any], prompts: Mapping[str, str], num_samples: int
) -> set[str]:
    """Prompt ids already complete in ``path``; repairs a killed run's tail (atomically)."""
    if not path.exists():
        return set()
    rows, truncated, _ = _read_lines(path)
    where = str(path)
    samples: dict[str, list[int]] = {}
    for _, row in rows:
        if row.get("system") != system:
            continue
        pid = str(row.get("prompt_id"))
        if row.get("settings") != settings:
            raise UserError(
                f"holds generations of system '{system}' made with other settings "
                f"({_diff(row.get('settings') or {}, settings)}); use another output file, or delete "
                "this one to start over",
                file=where,
            )
        if pid not in prompts:
            raise UserError(
                f"holds generations of system '{system}' for prompt id '{pid}', which is not in this "
                "run's prompt list; use another output file, or delete this one to start over",
                file=where,
            )
        if row.get("prompt") != prompts[pid]:
            raise UserError(
                f"prompt id '{pid}' has a different prompt text in this file than in this run; "
                "use another output file, or delete this one to start over",
                file=where,
            )
        samples.setdefault(pid, []).append(row.get("sample"))
    complete: set[str] = set()
    for pid, got in samples.items():
        if all(type(g) is int for g in got) and sorted(got) == list(range(num_samples)):
            complete.add(pid)
        elif len(got) != len(set(map(repr, got))):
            raise UserError(f"prompt id '{pid}' of system '{system}' has duplicate sample rows", file=where)
    partial = set(samples) - complete
    if truncated or partial:
        keep = [
            line
            for line, row in rows
            if not (row.get("system") == system and str(row.get("prompt_id")) in partial)
        ]
        with atomic_write(path, "wb") as fh:
            fh.write(b"".join(line + b"\n" for line in keep))
    return complete


def _chunks(items: Sequence[tuple[str, str]], size: int) -> Iterable[list[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def generate_to_jsonl(
    backend: Backend,
    prompts: Any,
    out_path: str | os.PathLike[str],
    *,
    num_samples: int,
    seed: int,
    system: str,
    quiet: bool = False,
) -> Path:
    """Generate ``num_samples`` responses for every prompt not yet complete in ``out_path``.

    ``prompts``: a mapping prompt_id -> prompt, or (prompt_id, prompt) pairs, dicts with those
    keys, or :class:`divtools.Group` objects, in the order to generate. Returns ``out_path``.
    """
    from divtools.progress import progress

    if num_samples < 1:
        raise UserError(f"num_samples must be at least 1, got {num_samples}")
    path = Path(out_path)
    items = normalise_prompts(prompts)
    by_id = dict(items)
    settings = row_settings(backend, num_samples=num_samples, seed=seed)
    done = _existing(path, system=system, settings=settings, prompts=by_id, num_samples=num_samples)
    size = max(1, int(getattr(backend, "prompts_per_call", 1) or 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    # a bar on a terminal, plain periodic lines in a log file
    bar = progress(len(items), f"generate {system}", unit="prompt", quiet=quiet, initial=len(done & set(by_id)), leave=True)
    try:
        with open(path, "ab") as fh:
            for chunk in _chunks(items, size):
                todo = [(pid, text) for pid, text in chunk if pid not in done]
                if not todo:
                    continue
                chunk_seed = derive_seed(seed, "chunk", chunk[0][0])
                answers = backend.generate([text for _, text in todo], num_samples=num_samples, seed=chunk_seed)
                _check_answers(backend, answers, len(todo), num_samples)
                for (pid, text), responses in zip(todo, answers):
                    lines = []
                    for k, response in enumerate(responses):
                        row = {
                            "id": f"{system}/{pid}/{k}",
                            "prompt_id": pid,
                            "prompt": text,
                            "response": response,
                            "system": system,
                            "sample": k,
                            "settings": settings,
                        }
                        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
                    fh.write("".join(lines).encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
                    done.add(pid)
                    bar.update(1)
    finally:
        bar.close()
    return path


def _check_answers(backend: Backend, answers: Any, n_prompts: int, k: int) -> None:
    name = type(backend).__name__
    if not isinstance(answers, list) or len(answers) != n_prompts:
        got = len(answers) if isinstance(answers, list) else type(answers).__name__
        raise DivtoolsError(f"backend {name} returned {got} answers for {n_prompts} prompts")
    for i, responses in enumerate(answers):
        if not isinstance(responses, list) or len(responses) != k:
            got = len(responses) if isinstance(responses, list) else type(responses).__name__
            raise DivtoolsError(f"backend {name} returned {got} samples for prompt {i}, expected {k}")
        for text in responses:
            if not isinstance(text, str):
                raise DivtoolsError(f"backend {name} returned a {type(text).__name__} instead of text")
