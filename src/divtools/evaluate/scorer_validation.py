"""Scorer validation: does a quality scorer agree with human preferences?

Input: human preference pairs (prompt, chosen, rejected), e.g. LitBench (Fein et al. 2025,
arXiv 2507.00769: Reddit story pairs, the more-upvoted story chosen; its reward models agree
with the humans on 78%, a Claude-3.7-Sonnet judge on 73%). The scorer scores every chosen and
rejected text with its prompt, and:

- accuracy = (1/n) Σ [1(s_c > s_r) + ½·1(s_c = s_r)] (a tie is half right, so a constant scorer
  gets exactly 0.5, never more); 95% Wilson score interval on it (Wilson 1927);
- the same within bins of the length gap |chosen| − |rejected| in words (quartiles of the
  pairs' gaps): a scorer that only reads length is right where the longer text won and wrong
  elsewhere; ``length_baseline`` is the accuracy of "the longer text wins";
- Spearman ρ between score and length over every scored text;
- for ``llm_judge`` scorers, with ``position_bias``: the judge compares the two texts of each pair
  in both orders (A = chosen, then A = rejected); ``first_position_rate`` is how often it picks
  the text shown first (0.5 = no position bias), ``consistency`` how often both orders pick the
  same text, ``pairwise_accuracy`` the mean accuracy over both orders.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from divtools.correlation import spearman
from divtools.errors import UserError

__all__ = ["accuracy", "read_pairs", "validate_scorer", "wilson_interval"]

#: z for a two-sided 95% interval
Z95 = 1.959963984540054


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion successes/n; None when n = 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy(chosen: np.ndarray, rejected: np.ndarray) -> dict[str, Any]:
    """``{accuracy, ci95, n, ties}`` for paired scores; NaN scores count as ties."""
    c, r = np.asarray(chosen, dtype=np.float64), np.asarray(rejected, dtype=np.float64)
    n = int(c.size)
    if n == 0:
        return {"accuracy": None, "ci95": None, "n": 0, "ties": 0}
    wins = np.where(np.isfinite(c) & np.isfinite(r), c > r, False)
    ties = ~(np.isfinite(c) & np.isfinite(r)) | (c == r)
    right = float(wins.sum() + 0.5 * ties.sum())
    ci = wilson_interval(right, n)
    return {"accuracy": right / n, "ci95": list(ci) if ci else None, "n": n, "ties": int(ties.sum())}


def read_pairs(path: str | Path, columns: Mapping[str, str]) -> list[dict[str, str]]:
    """Rows ``{prompt, chosen, rejected}`` from a JSONL, CSV or Parquet file, through the column
    mapping (divtools name -> the file's column)."""
    path = Path(path)
    if path.suffix == ".csv":
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                raw = [(i + 2, row) for i, row in enumerate(csv.DictReader(fh))]
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read: {exc}", file=str(path)) from None
    elif path.suffix == ".parquet":
        import pyarrow.parquet as pq

        raw = [(i + 1, row) for i, row in enumerate(pq.read_table(path).to_pylist())]
    else:
        from divtools.jsonl import read_jsonl

        raw = list(read_jsonl(path))
    rows = []
    for line, row in raw:
        out = {}
        for name in ("prompt", "chosen", "rejected"):
            col = columns[name]
            value = row.get(col)
            if not isinstance(value, str):
                raise UserError(f"row {line}: column '{col}' ({name}) is missing or not text; map it with "
                                f"--columns {name}=COLUMN (columns in the file: {', '.join(sorted(row))})",
                                file=str(path))
            out[name] = value
        rows.append(out)
    if not rows:
        raise UserError("holds no pairs", file=str(path))
    return rows


def _words(text: str) -> int:
    return len(text.split())


def _gap_bins(gaps: np.ndarray, bins: int = 4) -> list[float]:
    return sorted({float(q) for q in np.quantile(gaps, np.linspace(0, 1, bins + 1))})


_VERDICT = re.compile(r"\b([AB])\b")

PAIRWISE_TEMPLATE = (
    "{rubric}\n\nPrompt:\n{prompt}\n\nResponse A:\n{first}\n\nResponse B:\n{second}\n\n"
    "Which response is better? Answer with the letter A or B only."
)


def _pairwise(scorer: Any, pairs: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """Both orders of every pair to an llm_judge scorer's chat client."""
    p = scorer.params
    picks_first, agree, right = 0, 0, 0
    for i, pair in enumerate(pairs):
        verdicts = []
        for first, second in ((pair["chosen"], pair["rejected"]), (pair["rejected"], pair["chosen"])):
            message = PAIRWISE_TEMPLATE.format(rubric=p.rubric, prompt=pair["prompt"], first=first, second=second)
            messages = ([{"role": "system", "content": p.system_prompt}] if p.system_prompt else []) + [
                {"role": "user", "content": message}]
            reply = scorer.client.chat(messages, temperature=p.temperature, max_tokens=p.max_new_tokens,
                                       seed=p.seed)[0]
            found = _VERDICT.findall(reply.upper())
            if not found:
                from divtools.generation.openai_client import MalformedResponseError

                raise MalformedResponseError(f"validate-scorer: the judge's pairwise reply to pair {i + 1} names "
                                             f"neither A nor B: {' '.join(reply.split())[:200]!r}")
            verdicts.append(found[-1])
        first_order, second_order = verdicts  # chosen shown first, then rejected shown first
        picks_first += (first_order == "A") + (second_order == "A")
        agree += (first_order == "A") == (second_order == "B")
        right += (first_order == "A") + (second_order == "B")
    n = len(pairs)
    ci = wilson_interval(right, 2 * n)
    return {"n": n, "first_position_rate": picks_first / (2 * n), "consistency": agree / n,
            "pairwise_accuracy": right / (2 * n), "pairwise_ci95": list(ci) if ci else None,
            "template": PAIRWISE_TEMPLATE}


def validate_scorer(scorer: Any, pairs: Sequence[Mapping[str, str]], *, kind: str, position_bias: bool = False,
                    bins: int = 4) -> dict[str, Any]:
    """The validation record of one built scorer on ``pairs`` (see the module docstring)."""
    prompts = [p["prompt"] for p in pairs]
    scores = np.asarray(scorer.score([*prompts, *prompts], [p["chosen"] for p in pairs] + [p["rejected"] for p in pairs]),
                        dtype=np.float64)
    n = len(pairs)
    if scores.shape != (2 * n,):
        raise UserError(f"the scorer returned {scores.shape} scores for {2 * n} texts")
    chosen, rejected = scores[:n], scores[n:]
    c_len = np.array([_words(p["chosen"]) for p in pairs], dtype=np.float64)
    r_len = np.array([_words(p["rejected"]) for p in pairs], dtype=np.float64)
    gaps = c_len - r_len
    edges = _gap_bins(gaps, bins)
    by_gap = []
    inner = np.asarray(edges[1:-1])
    which = np.searchsorted(inner, gaps, side="right") if len(edges) > 1 else np.zeros(n, dtype=int)
    for b in range(max(len(edges) - 1, 1)):
        mask = which == b
        by_gap.append({"gap_words": [edges[b], edges[b + 1]] if len(edges) > 1 else [edges[0], edges[0]],
                       **accuracy(chosen[mask], rejected[mask])})
    record = {
        "kind": kind,
        **accuracy(chosen, rejected),
        "by_length_gap": by_gap,
        "length_baseline": accuracy(c_len, r_len)["accuracy"],
        "score_length_spearman": spearman(scores, np.concatenate([c_len, r_len])),
        "position_bias": None,
    }
    if position_bias and kind == "llm_judge":
        record["position_bias"] = _pairwise(scorer, pairs)
    return record


def check_minimum(label: str, record: Mapping[str, Any], minimum: float | None, where: str, field: str) -> None:
    """A UserError (exit 2) when the validated accuracy is below ``minimum``."""
    if minimum is None or record["accuracy"] is None or record["accuracy"] >= minimum:
        return
    lo, hi = record["ci95"]
    raise UserError(
        f"scorer '{label}' agrees with the human preferences in {where} on {record['accuracy']:.1%} of "
        f"{record['n']} pairs (95% CI {lo:.1%}-{hi:.1%}), below the required {minimum:.1%}; use a better "
        f"scorer or lower {field}", field=field)
