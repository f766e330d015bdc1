"""Length-controlled diversity: is a system's diversity just shorter texts?

Diversity metrics and reward models both favour short outputs (Deshpande et al., "Diverse, not
Short", EMNLP 2025). Beside the plain numbers, ``length_control`` reports for every system:

- **per length bin**: bins are the quantiles at 0, 1/B, ..., 1 of the *pooled* lengths of every
  system's samples (repeated edges merged), so all systems share them. For each prompt, the
  samples whose length falls in bin b are kept; a metric's value is its diversity over them, for
  the prompts where at least 2 fall in the bin (``n_prompts``); ``share`` = kept / N.
- **length-matched resamples** (coarsened exact matching on those bins): for each prompt that
  every system has, c_b = min over systems of the number of samples in bin b; each system keeps
  c_b of its bin-b samples drawn at random (seeded by seed, system, prompt and draw), so all
  systems are measured on the same length profile per prompt. A prompt's value is the mean over
  ``resamples`` draws; prompts with fewer than 2 matched samples are left out (``n_prompts``).
  ``mean_length`` shows how close the matched samples' lengths are.
- **deviation–length Spearman ρ**: over all of a system's samples, between each sample's
  deviation under the metric and its length (negative: shorter texts deviate more). ``None``
  when either is constant.

Lengths are whitespace-separated words (``unit: words``) or characters.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from divtools.api import measure_groups
from divtools.correlation import spearman
from divtools.evaluate.bootstrap import aggregate
from divtools.evaluate.protocol import seeded_rng

__all__ = ["bin_edges", "bin_of", "length_control"]


def text_length(text: str, unit: str) -> int:
    return len(text.split()) if unit == "words" else len(text)


def bin_edges(lengths: Sequence[float], bins: int) -> list[float]:
    """Quantiles at 0, 1/B, ..., 1 of the pooled lengths (numpy's linear interpolation),
    repeated edges merged."""
    values = np.asarray(lengths, dtype=np.float64)
    if values.size == 0:
        return []
    return sorted({float(q) for q in np.quantile(values, np.linspace(0, 1, bins + 1))})


def bin_of(length: float, edges: Sequence[float]) -> int:
    """Bin index in 0..len(edges)-2: bin b holds edges[b] ≤ L < edges[b+1]; the last bin also
    holds its upper edge."""
    if len(edges) < 2:
        return 0
    inner = np.asarray(edges[1:-1], dtype=np.float64)
    return int(np.searchsorted(inner, length, side="right"))


def _summary(agg: dict) -> dict:
    return {"mean": agg["mean"], "ci95": agg["ci95"], "n_prompts": agg["n_prompts"]}


def _measure(metric: Any, groups: dict[str, list[Any]]) -> dict[str, float]:
    """Diversity per prompt over the given samples (prompts with at least 2)."""
    pids = [pid for pid, samples in groups.items() if len(samples) >= 2]
    if not pids:
        return {}
    results = measure_groups(metric, [[s.response for s in groups[pid]] for pid in pids],
                             [groups[pid][0].prompt for pid in pids])
    return {pid: float(r.diversity) for pid, r in zip(pids, results)}


def length_control(
    systems: Sequence[Any],
    metrics: Mapping[str, Any],
    deviations: Mapping[str, Mapping[str, Mapping[str, np.ndarray]]],
    *,
    bins: int,
    resamples: int,
    unit: str,
    n: int,
    seed: int,
    bootstrap_samples: int,
) -> dict[str, Any]:
    """The ``length_control`` section of report.json (see the module docstring).

    ``systems``: :class:`~divtools.evaluate.protocol.SystemSamples`; ``deviations``: system ->
    metric label -> prompt id -> per-sample deviations, as the evaluate run computed them.
    """
    lengths = {s.name: {pid: [text_length(x.response, unit) for x in samples] for pid, samples in s.groups.items()}
               for s in systems}
    pooled = [v for per in lengths.values() for ls in per.values() for v in ls]
    edges = bin_edges(pooled, bins)
    n_bins = max(len(edges) - 1, 1)
    binned = {s.name: {pid: [bin_of(v, edges) for v in ls] for pid, ls in lengths[s.name].items()} for s in systems}
    common = [pid for pid in (systems[0].groups if systems else {}) if all(pid in s.groups for s in systems)]

    # matched draws: per prompt and bin, the smallest count over systems
    target = {pid: [min(binned[s.name][pid].count(b) for s in systems) for b in range(n_bins)] for pid in common}
    out_systems: dict[str, Any] = {}
    for system in systems:
        name = system.name
        entry: dict[str, Any] = {}
        all_len = [v for ls in lengths[name].values() for v in ls]
        entry["mean_length"] = float(np.mean(all_len)) if all_len else None
        draws: list[dict[str, list[Any]]] = []
        for r in range(resamples):
            chosen: dict[str, list[Any]] = {}
            for pid in common:
                keep: list[int] = []
                for b, count in enumerate(target[pid]):
                    if count == 0:
                        continue
                    members = [i for i, x in enumerate(binned[name][pid]) if x == b]
                    rng = seeded_rng(seed, "length-match", name, pid, str(r), str(b))
                    keep += [members[i] for i in rng.choice(len(members), size=count, replace=False)]
                chosen[pid] = [system.groups[pid][i] for i in sorted(keep)]
            draws.append(chosen)
        matched_len = [text_length(x.response, unit) for chosen in draws[:1] for g in chosen.values() for x in g]
        entry["matched_mean_length"] = float(np.mean(matched_len)) if matched_len else None
        entry["matched_samples_per_prompt"] = (float(np.mean([sum(t) for t in target.values()])) if target else 0.0)
        per_bin: dict[str, list[dict]] = {}
        matched: dict[str, dict] = {}
        rho: dict[str, float | None] = {}
        for label, metric in metrics.items():
            rows = []
            for b in range(n_bins):
                kept = {pid: [x for x, bb in zip(system.groups[pid], binned[name][pid]) if bb == b] for pid in system.groups}
                share = {pid: len(v) / n for pid, v in kept.items()}
                agg = aggregate(_measure(metric, kept), seed=seed, samples=bootstrap_samples, system=name,
                                label=f"{label}@bin{b}")
                rows.append({"bin": b, "range": [edges[b], edges[b + 1]] if len(edges) > 1 else None,
                             "share": float(np.mean(list(share.values()))) if share else 0.0, **_summary(agg)})
            per_bin[label] = rows
            values = [_measure(metric, chosen) for chosen in draws]
            per_prompt = {pid: float(np.mean([v[pid] for v in values])) for pid in common if pid in values[0]}
            matched[label] = _summary(aggregate(per_prompt, seed=seed, samples=bootstrap_samples, system=name,
                                                label=f"{label}@matched"))
            devs = deviations.get(name, {}).get(label, {})
            xs, ys = [], []
            for pid, d in devs.items():
                xs += list(np.asarray(d, dtype=np.float64))
                ys += lengths[name].get(pid, [])
            rho[label] = spearman(xs, ys) if len(xs) == len(ys) else None
        entry.update(per_bin=per_bin, matched=matched, deviation_length_spearman=rho)
        out_systems[name] = entry
    return {"unit": unit, "bins": edges, "resamples": resamples, "common_prompts": len(common),
            "metrics": list(metrics), "systems": out_systems}
