"""Read the prepared preference data and shape it for each stage's TRL trainer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from divtools.errors import UserError

__all__ = ["read_pairs", "preference_rows", "regression_rows", "sft_rows", "use_chat"]

REQUIRED = ("prompt", "chosen", "rejected")


def read_pairs(path: Path, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of a JSONL or Parquet preference file (written by ``run: prepare``)."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    else:
        rows = []
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise UserError(f"line {number} is not JSON: {exc}", file=str(path)) from None
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise UserError("the preference file holds no rows", file=str(path))
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise UserError(
            f"missing column(s) {', '.join(missing)}; a preference file needs prompt, chosen, rejected "
            "(write it with 'run: prepare')",
            file=str(path),
        )
    for i, row in enumerate(rows):
        for c in REQUIRED:
            if not isinstance(row.get(c), str):
                raise UserError(f"row {i}: column '{c}' must be a string", file=str(path))
    return rows


def use_chat(tokenizer: Any, setting: str) -> bool:
    """Whether to wrap texts as chat messages (``data.chat_template``)."""
    has = bool(getattr(tokenizer, "chat_template", None))
    if setting == "always" and not has:
        raise UserError("data.chat_template is 'always' but the tokenizer has no chat template", field="data.chat_template")
    return has if setting == "auto" else setting == "always"


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def preference_rows(rows: Sequence[dict[str, Any]], *, chat: bool, columns: Sequence[str] = ()) -> list[dict[str, Any]]:
    """prompt/chosen/rejected (+ the objective's numeric columns) for ``DPOTrainer``."""
    out = []
    for row in rows:
        item: dict[str, Any] = (
            {"prompt": _user(row["prompt"]), "chosen": _assistant(row["chosen"]), "rejected": _assistant(row["rejected"])}
            if chat
            else {"prompt": row["prompt"], "chosen": row["chosen"], "rejected": row["rejected"]}
        )
        for c in columns:
            item[c] = float(row[c])
        out.append(item)
    return out


def sft_rows(rows: Sequence[dict[str, Any]], *, chat: bool, responses: str) -> list[dict[str, Any]]:
    """Distinct (prompt, completion) pairs: the chosen responses, or every response."""
    seen: set[tuple[str, str]] = set()
    out = []
    sides = ("chosen",) if responses == "chosen" else ("chosen", "rejected")
    for row in rows:
        for side in sides:
            key = (row["prompt"], row[side])
            if key in seen:
                continue
            seen.add(key)
            if chat:
                out.append({"prompt": _user(row["prompt"]), "completion": _assistant(row[side])})
            else:
                out.append({"prompt": row["prompt"], "completion": row[side]})
    return out


def regression_rows(
    rows: Sequence[dict[str, Any]], *, template: str, targets: str, file: str | None = None
) -> list[dict[str, Any]]:
    """One (text, label) per distinct response, labels = transformed (or raw) scores."""
    from divtools.train.reward_targets import transform_votes

    if not rows or "chosen_score" not in rows[0] or "rejected_score" not in rows[0]:
        raise UserError(
            "a reward model with loss 'l1' needs chosen_score and rejected_score columns", file=file, field="data.train"
        )
    seen: dict[tuple[str, str], float] = {}
    for row in rows:
        for side in ("chosen", "rejected"):
            score = row.get(f"{side}_score")
            if score is None:
                continue
            seen.setdefault((row["prompt"], row[side]), float(score))
    keys = list(seen)
    scores = [seen[k] for k in keys]
    labels = transform_votes(scores) if targets == "transformed_votes" else scores
    return [{"text": template.format(prompt=p, response=r), "label": float(y)} for (p, r), y in zip(keys, labels)]
