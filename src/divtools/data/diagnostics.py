"""Data diagnostics of a prepare run: what the weights do to the data, before any training.

Computed from prepare's own outputs (the pair rows and ``summary.json``), so ``divtools
inspect DIR`` gives the same numbers for a folder written by any earlier version:

- pool sizes: per prompt, the distinct responses that appear in its pairs (the paper's pool);
- the share of pairs whose weight is 0, and the share held at the floor (``weights.floor``);
- Spearman ρ between a pair's weight and its chosen response's length in words (the weight is
  the chosen response's; "Diverse, not Short", Deshpande et al. 2025: deviation metrics favour
  some lengths);
- the chosen-vs-rejected length gap (mean and median words, share of pairs whose chosen is longer):
  preference data whose winners are longer teaches length;
- per metric, the pools whose deviation is constant (every response gets weight 1: no signal).

Warnings (each names the option that changes it): more than :data:`ZERO_WEIGHT_WARN` of pairs at
weight 0, or |ρ(weight, length)| above :data:`LENGTH_RHO_WARN`.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from divtools.correlation import spearman
from divtools.errors import UserError

__all__ = ["CONSTANT_POOL_WARN", "LENGTH_RHO_WARN", "ZERO_WEIGHT_WARN", "diagnose_folder", "diagnose_rows", "format_diagnostics"]

#: share of pairs with weight 0 above which prepare warns
ZERO_WEIGHT_WARN = 0.2
#: |Spearman ρ| between weight and chosen length above which prepare warns
LENGTH_RHO_WARN = 0.3
#: share of pairs whose pool has one deviation for every response (weight 1) above which prepare warns
CONSTANT_POOL_WARN = 0.5
#: weights closer than this to the floor count as floored
_TOL = 1e-12


def _words(text: Any) -> int:
    return len(str(text or "").split())


def _split_diagnostics(rows: Sequence[Mapping[str, Any]], labels: Sequence[str], floor: float | None) -> dict[str, Any]:
    n = len(rows)
    if n == 0:
        return {"pairs": 0}
    weights = np.array([float(r["weight"]) for r in rows], dtype=np.float64)
    chosen_len = np.array([_words(r.get("chosen")) for r in rows], dtype=np.float64)
    rejected_len = np.array([_words(r.get("rejected")) for r in rows], dtype=np.float64)
    pools: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)  # prompt -> response id -> {label: dev}
    for r in rows:
        for side in ("chosen", "rejected"):
            rid = str(r.get(f"{side}_id") if r.get(f"{side}_id") is not None else r.get(side))
            pools[str(r.get("prompt_id"))][rid] = {lb: r.get(f"deviation_{lb}_{side}") for lb in labels}
    sizes = [len(p) for p in pools.values()]
    size_counts: dict[str, int] = {}
    for s in sorted(sizes):
        key = "5+" if s >= 5 else str(s)
        size_counts[key] = size_counts.get(key, 0) + 1
    constant = {}
    flat: dict[str, set[str]] = {}  # label -> prompts whose pool has one deviation for all its responses
    for lb in labels:
        flat[lb] = set()
        for prompt, members in pools.items():
            devs = [m[lb] for m in members.values() if m[lb] is not None]
            if len(devs) >= 2 and max(devs) - min(devs) <= 1e-12 + 1e-9 * max(abs(d) for d in devs):
                flat[lb].add(prompt)
        constant[lb] = len(flat[lb])
    flat_everywhere = set.intersection(*flat.values()) if flat else set()
    gap = chosen_len - rejected_len
    in_flat = [str(r.get("prompt_id")) in flat_everywhere for r in rows]
    in_two = [len(pools[str(r.get("prompt_id"))]) == 2 for r in rows]
    return {
        "pairs": n,
        "pools": len(pools),
        "pool_sizes": size_counts,
        "share_in_constant_pools": float(np.mean(in_flat)),
        "share_in_two_response_pools": float(np.mean(in_two)),
        "share_zero_weight": float(np.mean(weights == 0)),
        "share_at_floor": (float(np.mean(np.abs(weights - floor) <= _TOL)) if floor is not None else 0.0),
        "weight_length_spearman": spearman(weights, chosen_len),
        "length_gap": {
            "mean_words": float(gap.mean()),
            "median_words": float(np.median(gap)),
            "share_chosen_longer": float(np.mean(gap > 0)),
            "mean_chosen_words": float(chosen_len.mean()),
            "mean_rejected_words": float(rejected_len.mean()),
        },
        "pools_constant_deviation": constant,
    }


def _warnings(split: str, d: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    out = []
    if d.get("pairs", 0) == 0:
        return out
    preset = settings.get("preset", "paper")
    zero = d["share_zero_weight"]
    if zero > ZERO_WEIGHT_WARN:
        out.append(
            f"{split}: {zero:.0%} of pairs have weight 0 (more than {ZERO_WEIGHT_WARN:.0%}), so training ignores them: "
            f"weights.preset '{preset}' min-max normalises each pool, giving its least deviating response 0. "
            "Set weights.floor (e.g. 0.2) or weights.preset: paper_floor to keep them, or weights.normalise: zscore")
    flat = d.get("share_in_constant_pools", 0.0)
    if settings.get("preset") != "uniform" and flat > CONSTANT_POOL_WARN:
        msg = (f"{split}: {flat:.0%} of pairs come from pools whose responses all have the same deviation, so "
               "their weight is 1 and deviation changes nothing for them")
        if settings.get("pool", "pairs") == "pairs" and d.get("share_in_two_response_pools", 0.0) > CONSTANT_POOL_WARN:
            # a distance-based deviation of a two-response pool is the same for both: the distance between them
            msg += (". Most pools hold just the two responses of one pair (weights.pool: pairs, e.g. after "
                    "best_vs_worst), and a distance to the other response is the same for both: set "
                    "weights.pool: all to measure deviation over every response of the prompt")
        out.append(msg)
    rho = d.get("weight_length_spearman")
    if rho is not None and abs(rho) > LENGTH_RHO_WARN:
        side = "longer" if rho > 0 else "shorter"
        out.append(
            f"{split}: weights correlate with the chosen response's length (Spearman rho = {rho:+.2f}, beyond "
            f"±{LENGTH_RHO_WARN}): {side} winners weigh more, so the weighted objective also rewards {side} text. "
            "Choose deviation metrics that depend less on length (prepare 'metrics'), cap the weights "
            "(weights.cap), or compare with weights.preset: uniform")
    return out


def diagnose_rows(splits: Mapping[str, Sequence[Mapping[str, Any]]], summary: Mapping[str, Any]) -> dict[str, Any]:
    """Diagnostics of the pair rows of each split, with the warnings; ``summary`` is prepare's
    summary (for the metric labels and the weight settings)."""
    settings = dict(summary.get("weights_settings") or {})
    labels = list((summary.get("components") or {}).get("metrics") or {})
    floor = settings.get("floor")
    result: dict[str, Any] = {"thresholds": {"zero_weight_share": ZERO_WEIGHT_WARN, "weight_length_abs_rho": LENGTH_RHO_WARN},
                              "weights_preset": settings.get("preset"), "splits": {}, "warnings": []}
    for name, rows in splits.items():
        d = _split_diagnostics(rows, labels, floor)
        result["splits"][name] = d
        result["warnings"] += _warnings(name, d, settings)
    # what the pair builder said about its settings on these groups (PairBuilder.warnings)
    result["warnings"] += list(summary.get("pair_builder_warnings") or [])
    return result


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    from divtools.jsonl import read_jsonl

    return [row for _, row in read_jsonl(path)]


def diagnose_folder(folder: str | Path) -> dict[str, Any]:
    """:func:`diagnose_rows` for a prepare output folder (``summary.json`` + ``train``/``eval`` files)."""
    folder = Path(folder)
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise UserError("has no summary.json: not a finished prepare folder (run the prepare step first)",
                        file=str(folder))
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"is not JSON ({exc})", file=str(summary_path)) from None
    splits: dict[str, list[dict[str, Any]]] = {}
    for name in ("train", "eval"):
        for ext in ("jsonl", "parquet"):
            path = folder / f"{name}.{ext}"
            if path.is_file():
                splits[name] = _read_rows(path)
                break
    if "train" not in splits:
        raise UserError("has no train.jsonl or train.parquet", file=str(folder))
    missing = [c for c in ("weight", "chosen", "rejected", "prompt_id") if splits["train"] and c not in splits["train"][0]]
    if missing:
        raise UserError(f"train rows lack the column(s) {', '.join(missing)}: not prepare's pair file", file=str(folder))
    return diagnose_rows(splits, summary)


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def format_diagnostics(diag: Mapping[str, Any]) -> list[str]:
    """Short human-readable lines (what prepare prints at its end and ``divtools inspect`` shows)."""
    lines = []
    # train first, whatever order a JSON round trip (sorted keys) left the splits in
    for name, d in sorted(diag["splits"].items(), key=lambda item: (item[0] != "train", item[0])):
        if not d.get("pairs"):
            lines.append(f"{name}: no pairs")
            continue
        sizes = ", ".join(f"{v} of size {k}" for k, v in d["pool_sizes"].items())
        gap = d["length_gap"]
        constant = ", ".join(f"{k} {v}" for k, v in d["pools_constant_deviation"].items()) or "no metric"
        lines += [
            f"{name}: {d['pairs']} pairs in {d['pools']} pools ({sizes})",
            f"  weight 0: {d['share_zero_weight']:.1%} of pairs; at the floor: {d['share_at_floor']:.1%}",
            f"  weight vs chosen length: Spearman rho {_fmt(d['weight_length_spearman'], '+.2f')}",
            f"  chosen - rejected length: mean {gap['mean_words']:+.1f} words, median {gap['median_words']:+.1f}; "
            f"chosen longer in {gap['share_chosen_longer']:.0%} of pairs",
            f"  pools with constant deviation: {constant}",
        ]
    lines += [f"warning: {w}" for w in diag.get("warnings", [])]
    return lines
