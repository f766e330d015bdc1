"""Blinded items for a set-vs-set study, built from an evaluate run's ``samples.jsonl``.

An item is a prompt and two sets of k samples (k = 4, as in the paper), one set from each of two
systems. Which system's set is shown on the left is a seeded coin flip per item; the k samples
of a set are a seeded draw from the system's N samples for the prompt (all N when k = N); the
order of the items is a seeded shuffle. Optional repeated items show an earlier item again, later
and with its sides swapped, so an annotator's consistency can be measured free of position.

What annotators see (``items.jsonl``, ``annotate.html``) names no system; which system is on
which side is written only to the key file, kept apart (default: next to the items folder, not
in it), which ``analyze`` needs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from divtools.errors import UserError

__all__ = ["KEY_FORMAT", "Study", "load_key", "load_run", "make_study", "read_items", "write_study"]

KEY_FORMAT = "divtools.human_eval.key/1"
ITEMS_FORMAT = "divtools.human_eval.items/1"


@dataclass
class Study:
    """The items annotators see and the key that un-blinds them."""

    study_id: str
    items: list[dict]  # {item_id, prompt, left: [texts], right: [texts]}
    key: dict  # KEY_FORMAT document


def load_run(run_dir: Path) -> tuple[dict, dict[str, dict[str, list[dict]]]]:
    """(report.json, prompt_id -> system -> samples ordered by k) of an evaluate output folder."""
    run_dir = Path(run_dir)
    report_path, samples_path = run_dir / "report.json", run_dir / "samples.jsonl"
    for path in (report_path, samples_path):
        if not path.exists():
            raise UserError("not found: give the output folder of a `run: evaluate` (it holds report.json "
                            "and samples.jsonl)", file=str(path))
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"not a JSON report: {exc}", file=str(report_path)) from None
    from divtools.jsonl import read_jsonl

    grouped: dict[str, dict[str, list[dict]]] = {}
    for number, row in read_jsonl(samples_path):
        if "response" not in row:
            raise UserError(f"line {number}: no 'response' (a samples.jsonl from an older divtools: re-run the "
                            "evaluation to record the texts)", file=str(samples_path))
        grouped.setdefault(str(row["prompt_id"]), {}).setdefault(str(row["system"]), []).append(row)
    for systems in grouped.values():
        for rows in systems.values():
            rows.sort(key=lambda r: r["k"])
    return report, grouped


def make_study(run_dir: Path, system_a: str, system_b: str, *, k: int = 4, seed: int = 0,
               n_items: int | None = None, repeats: int = 0, study_id: str | None = None) -> Study:
    """Items comparing ``system_a`` with ``system_b`` on every prompt where both have ≥ k
    samples (or ``n_items`` of them, a seeded draw), plus ``repeats`` repeated items."""
    from divtools.evaluate.protocol import seeded_rng

    if system_a == system_b:
        raise UserError("compare two different systems", field="--systems")
    if k < 1:
        raise UserError("k must be at least 1", field="--k")
    report, grouped = load_run(run_dir)
    known = list((report.get("order") or {}).get("systems") or report.get("systems") or [])
    for name in (system_a, system_b):
        if name not in known:
            raise UserError(f"no system '{name}' in this run; systems: {', '.join(known)}", file=str(run_dir),
                            field="--systems")
    order = [str(p) for p in (report.get("protocol") or {}).get("prompt_ids") or grouped]
    eligible = [pid for pid in order
                if len(grouped.get(pid, {}).get(system_a, [])) >= k and len(grouped.get(pid, {}).get(system_b, [])) >= k]
    if not eligible:
        raise UserError(f"no prompt has {k} samples of both '{system_a}' and '{system_b}'", file=str(run_dir),
                        field="--k")
    if n_items is not None:
        if n_items < 1:
            raise UserError("--items must be at least 1", field="--items")
        if n_items < len(eligible):
            picked = seeded_rng(seed, "human-eval", "prompts").choice(len(eligible), size=n_items, replace=False)
            eligible = [eligible[i] for i in sorted(picked)]
    if not 0 <= repeats <= len(eligible):
        raise UserError(f"--repeats must be between 0 and the number of items ({len(eligible)})", field="--repeats")
    prompts = report.get("prompts") or {}
    base: list[dict] = []
    for pid in eligible:
        sets = {}
        for name in (system_a, system_b):
            rows = grouped[pid][name]
            idx = sorted(seeded_rng(seed, "human-eval", "subset", pid, name).choice(len(rows), size=k, replace=False))
            sets[name] = [rows[i] for i in idx]
        a_left = bool(seeded_rng(seed, "human-eval", "side", pid).integers(0, 2))
        left, right = (system_a, system_b) if a_left else (system_b, system_a)
        base.append({"prompt_id": pid, "prompt": prompts.get(pid) or sets[system_a][0].get("prompt", ""),
                     "left": left, "right": right, "sets": sets})
    rng = seeded_rng(seed, "human-eval", "order")
    shuffled = [base[i] for i in rng.permutation(len(base))]
    # the repeats: a seeded choice of items, shown again after all the originals, sides swapped
    repeated = [shuffled[i] for i in sorted(rng.choice(len(shuffled), size=repeats, replace=False))] if repeats else []
    entries = [(e, False) for e in shuffled] + [(e, True) for e in repeated]
    items, key_items = [], {}
    width = max(3, len(str(len(entries))))
    first_id: dict[str, str] = {}
    for i, (entry, is_repeat) in enumerate(entries, start=1):
        item_id = f"item-{i:0{width}d}"
        left, right = (entry["right"], entry["left"]) if is_repeat else (entry["left"], entry["right"])
        items.append({"item_id": item_id, "prompt": entry["prompt"],
                      "left": [r["response"] for r in entry["sets"][left]],
                      "right": [r["response"] for r in entry["sets"][right]]})
        key_items[item_id] = {
            "prompt_id": entry["prompt_id"], "left": left, "right": right,
            "left_k": [r["k"] for r in entry["sets"][left]], "right_k": [r["k"] for r in entry["sets"][right]],
            "repeat_of": first_id[entry["prompt_id"]] if is_repeat else None,
        }
        first_id.setdefault(entry["prompt_id"], item_id)
    # annotators see the study id: it must not name the systems
    study_id = study_id or "study-" + hashlib.sha256(
        json.dumps([system_a, system_b, seed, k, str(run_dir), len(items)]).encode("utf-8")).hexdigest()[:10]
    key = {"format": KEY_FORMAT, "study_id": study_id, "systems": {"A": system_a, "B": system_b}, "k": k,
           "seed": seed, "run": str(Path(run_dir)), "n_items": len(items), "n_repeats": repeats,
           "items": key_items}
    return Study(study_id=study_id, items=items, key=key)


def load_key(path: Path) -> dict:
    path = Path(path)
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read the key: {exc.strerror}", file=str(path)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"not a JSON key file: {exc}", file=str(path)) from None
    if not isinstance(key, dict) or key.get("format") != KEY_FORMAT:
        raise UserError(f"not a human-eval key (format '{KEY_FORMAT}' expected); give the key file "
                        "`divtools human-eval make` wrote", file=str(path))
    return key


def items_document(study: Study) -> dict[str, Any]:
    """What items.jsonl's readers and the annotation page share (no system names)."""
    return {"format": ITEMS_FORMAT, "study_id": study.study_id, "items": study.items}


def write_study(study: Study, out_dir: Path, key_path: Path, overwrite: bool = False) -> list[Path]:
    """items.jsonl and annotate.html under ``out_dir``, the key at ``key_path`` (outside it).
    An existing key of another study is replaced only with ``overwrite``; the same study's
    (same run, systems, seed, k) is rewritten with the same content."""
    from divtools.atomic import write_json, write_text
    from divtools.human_eval.page import render_page

    out_dir, key_path = Path(out_dir), Path(key_path)
    if out_dir.resolve() in key_path.resolve().parents:
        raise UserError("the key must not be inside the items folder (annotators get that folder): "
                        "give --key a path outside it", field="--key")
    if key_path.exists() and not overwrite:
        try:
            old = json.loads(key_path.read_text(encoding="utf-8")).get("study_id")
        except (OSError, ValueError, AttributeError):
            old = None
        if old != study.study_id:
            raise UserError(f"a key of another study ({old}) is here: judgements made with it would be read "
                            "through the wrong key; choose another --out/--key, or pass --force to replace it",
                            file=str(key_path))
    lines = "".join(json.dumps({"study_id": study.study_id, **item}, ensure_ascii=False, sort_keys=True) + "\n"
                    for item in study.items)
    return [write_json(key_path, study.key), write_text(out_dir / "items.jsonl", lines),
            write_text(out_dir / "annotate.html", render_page(study.study_id, study.items))]


def read_items(items_dir: Path) -> dict[str, Any]:
    """The items document (study id and items) of a folder ``make`` wrote."""
    from divtools.jsonl import read_jsonl

    path = Path(items_dir) / "items.jsonl"
    if not path.exists():
        raise UserError("no items.jsonl here: give the folder `divtools human-eval make` wrote", file=str(path))
    items, studies = [], set()
    for number, row in read_jsonl(path):
        missing = [f for f in ("study_id", "item_id", "prompt", "left", "right") if f not in row]
        if missing:
            raise UserError(f"line {number}: missing {', '.join(missing)}", file=str(path))
        studies.add(row.pop("study_id"))
        items.append(row)
    if len(studies) != 1:
        raise UserError(f"items of {len(studies)} studies in one file; expected one", file=str(path))
    return {"format": ITEMS_FORMAT, "study_id": studies.pop(), "items": items}
