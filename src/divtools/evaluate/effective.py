"""Effective diversity: diversity among the samples whose quality is at least τ.

For each system, threshold τ and prompt: keep the prompt's N samples with quality ≥ τ (a NaN
score never passes). ``share`` is kept/N per prompt (averaged over all prompts); a metric's value
is its diversity over the kept samples, for the prompts where at least 2 pass (``n_prompts``
counts them). A system that looks diverse only because it writes bad text loses that diversity
as τ rises, and its share falls. Note that most diversity metrics depend on how many texts they
see, and the kept count varies with τ and prompt: read the curves together with the share.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from divtools.api import measure_groups
from divtools.errors import UserError
from divtools.evaluate.bootstrap import aggregate

__all__ = ["effective_diversity", "thresholds_for"]


def thresholds_for(pooled: np.ndarray, given: Sequence[float] | None, quantiles: int) -> list[float]:
    """The τ sweep: ``given`` sorted, else the pooled scores' quantiles at 0, 1/q, ..., (q-1)/q
    (numpy's linear interpolation), repeated values removed."""
    if given is not None:
        return sorted(float(t) for t in set(given))
    finite = pooled[np.isfinite(pooled)]
    if len(finite) == 0:
        raise UserError("effective_diversity: the quality scorer gave no finite score", field="effective_diversity")
    levels = np.arange(quantiles) / quantiles
    return sorted({float(v) for v in np.quantile(finite, levels)})


def _summary(agg: dict, tau: float) -> dict:
    return {"tau": tau, "mean": agg["mean"], "ci95": agg["ci95"], "n_prompts": agg["n_prompts"]}


def effective_diversity(
    system: Any,
    scores: Mapping[str, np.ndarray],
    metrics: Mapping[str, Any],
    taus: Sequence[float],
    *,
    n: int,
    seed: int,
    samples: int,
    quiet: bool = False,
) -> dict[str, list[dict]]:
    """``{"share": [...], metric_label: [...]}``: one ``{tau, mean, ci95, n_prompts}`` per τ."""
    from divtools.progress import progress

    out: dict[str, list[dict]] = {"share": [], **{label: [] for label in metrics}}
    pids = [pid for pid in scores]
    bar = progress(len(taus), f"effective diversity [{system.name}]", unit="τ", quiet=quiet)
    for tau in taus:
        passing: dict[str, list[str]] = {}
        share: dict[str, float] = {}
        for pid in pids:
            keep = [s.response for s, q in zip(system.groups[pid], scores[pid]) if np.isfinite(q) and q >= tau]
            passing[pid] = keep
            share[pid] = len(keep) / n
        key = f"share@{tau!r}"
        out["share"].append(_summary(aggregate(share, seed=seed, samples=samples, system=system.name, label=key), tau))
        multi = [pid for pid in pids if len(passing[pid]) >= 2]
        for label, metric in metrics.items():
            results = measure_groups(metric, [passing[pid] for pid in multi],
                                     [system.groups[pid][0].prompt for pid in multi]) if multi else []
            values = {pid: float(r.diversity) for pid, r in zip(multi, results)}
            agg = aggregate(values, seed=seed, samples=samples, system=system.name, label=f"{label}@{tau!r}")
            out[label].append(_summary(agg, tau))
        bar.update(1)
    bar.close()
    return out
