"""Read the prepared preference data and shape it for each stage's TRL trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from divtools.errors import UserError
from divtools.jsonl import read_jsonl

__all__ = ["REQUIRED", "read_pairs", "preference_rows", "regression_rows", "reward_pair_rows", "sft_rows", "use_chat"]

REQUIRED = ("prompt", "chosen", "rejected")


def _hf_rows(source: Any, limit: int | None) -> list[dict[str, Any]]:
    """Rows of a Hugging Face dataset (``data.train: {hf_dataset: ...}``), read by the same loader
    as prepare's ``hf_dataset`` source; ``columns`` renames the dataset's columns to divtools'."""
    from divtools.data.sources.hf import load_hf

    ds = load_hf(source, source.hf_dataset, source.config)
    if limit is not None:
        ds = ds.select(range(min(limit, len(ds))))
    missing = [theirs for theirs in source.columns.values() if theirs not in ds.column_names]
    if missing:
        raise UserError(
            f"columns: the dataset has no column {', '.join(missing)}; it has: {', '.join(ds.column_names)}",
            file=str(source),
        )
    renames = {theirs: ours for ours, theirs in source.columns.items()}
    return [{renames.get(k, k): v for k, v in row.items()} for row in ds.to_list()]


def read_pairs(path: Any, *, limit: int | None = None, required: Sequence[str] = REQUIRED) -> list[dict[str, Any]]:
    """Rows of a JSONL or Parquet preference (or reward) file written by ``run: prepare``, or of a
    Hugging Face dataset (a :class:`divtools.spec.train.HfDataSpec`)."""
    if hasattr(path, "hf_dataset"):
        rows = _hf_rows(path, limit)
    else:
        path = Path(path)
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
        else:
            rows = [row for _, row in read_jsonl(path)]
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise UserError("the preference file holds no rows", file=str(path))
    missing = [c for c in required if c not in rows[0]]
    if missing:
        raise UserError(
            f"missing column(s) {', '.join(missing)}; this file needs {', '.join(required)} "
            "(write it with 'run: prepare')",
            file=str(path),
        )
    for i, row in enumerate(rows):
        for c in required:
            value = row.get(c)
            if isinstance(value, list) and all(isinstance(m, dict) and "content" in m for m in value):
                raise UserError(
                    f"row {i}: column '{c}' holds chat messages (TRL's conversational format); this version "
                    "reads text columns only: give prompt, chosen and rejected as text (the chat template "
                    "is applied by data.chat_template)",
                    file=str(path),
                )
            if not isinstance(value, str):
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
    """One (text, label) per distinct response.

    Reads either preference pairs (``chosen``/``rejected`` with ``chosen_score``/``rejected_score``)
    or ``run: prepare``'s reward file (``response``, ``score``, ``target``). Labels are the paper's
    vote transform (:class:`divtools.data.score_transform.ScoreTransform`, fitted on these scores;
    a ``target`` column is used as written) or the raw scores.
    """
    from divtools.data.score_transform import ScoreTransform

    first = rows[0] if rows else {}
    if "response" in first:
        keyed = [((r["prompt"], r["response"]), r.get("score"), r.get("target")) for r in rows]
    elif "chosen_score" in first and "rejected_score" in first:
        keyed = [((r["prompt"], r[side]), r.get(f"{side}_score"), None) for r in rows for side in ("chosen", "rejected")]
    else:
        raise UserError(
            "a reward model with loss 'l1' needs scores: preference pairs with chosen_score and rejected_score, "
            "or a reward file (run: prepare with reward_data: true) with response and score",
            file=file,
            field="data",
        )
    seen: dict[tuple[str, str], tuple[Any, Any]] = {}
    for key, score, target in keyed:
        if score is not None or target is not None:
            seen.setdefault(key, (score, target))
    keys = list(seen)
    if targets == "transformed_votes" and all(seen[k][1] is not None for k in keys):
        labels = [float(seen[k][1]) for k in keys]
    else:
        if any(seen[k][0] is None for k in keys):
            raise UserError("every response needs a score for the reward model", file=file, field="data")
        scores = [float(seen[k][0]) for k in keys]
        labels = [float(x) for x in ScoreTransform.fit(scores)(scores)] if targets == "transformed_votes" else scores
    return [{"text": template.format(prompt=p, response=r), "label": y} for (p, r), y in zip(keys, labels)]


def reward_pair_rows(rows: Sequence[dict[str, Any]], *, template: str) -> list[dict[str, str]]:
    """(chosen, rejected) reward-model inputs of a Bradley-Terry stage: ``template`` filled with
    the prompt and each response, the format the L1 loss and the ``reward_model`` scorer use."""
    return [
        {"chosen": template.format(prompt=r["prompt"], response=r["chosen"]),
         "rejected": template.format(prompt=r["prompt"], response=r["rejected"])}
        for r in rows
    ]
