"""Deviation -> training weights (docs/method.md §3).

For one prompt's pool of N responses and K metrics with raw deviations d_k,i:

1. normalise each metric within the pool to q_k,i in [0, 1]:
   ``minmax`` q = (d - min)/(max - min) = (s + 1)/2 with the paper's s = 2(d - min)/(max - min) - 1;
   ``rank``   q = (average rank - 1)/(N - 1);
   ``zscore`` q = Phi((d - mean)/std), Phi the standard normal CDF.
   A metric whose deviations are all equal gives q = 1/2 for every response (the paper: s = 0).
   "Equal" allows floating-point noise (:func:`is_constant`): with N = 2 the two cosine
   deviations are equal in exact arithmetic, but a matrix product can make them differ in the
   last bits, and min-max would blow that noise up to weights 0 and 2.
2. combine: ``geometric`` u_i = prod_k q_k,i^(1/K) (the paper's "both"); ``arithmetic`` u_i = mean_k q_k,i.
3. w_i = u_i / mean_pool(u): weights are >= 0 and average exactly 1 over the pool. If every u is 0
   (possible with K >= 2 and N = 2) every weight is 1, and the pool is counted as ``zero_mean``.

The pair's weight is its chosen (winner) response's w (DDPO uses only the winner's deviation).
Then, optionally, every pair weight is divided by the split's mean pair weight (``renormalise:
dataset``), and last the floor and cap clip the chosen weight, so they hold for the final value.
The paper's pool is the set of responses appearing in the prompt's pairs (``pool: pairs``).
The reference code lists a response once per pair it is in (``dedupe_pool: false``); divtools
counts it once by default, so a response in many pairs does not crowd the pool's min, max and mean.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from divtools.api import Group, Pair, measure_groups
from divtools.errors import DivtoolsError

__all__ = [
    "PairWeights",
    "WeightSettings",
    "combine",
    "is_constant",
    "normalise",
    "pool_weights",
    "pooled_weights",
    "weigh_pairs",
    "weight_stats",
]


@dataclass(frozen=True)
class WeightSettings:
    """Resolved weight settings (see :class:`divtools.spec.prepare.WeightsSpec`)."""

    pool: str = "pairs"
    dedupe_pool: bool = True
    normalise: str = "minmax"
    combine: str = "geometric"
    floor: float | None = None
    cap: float | None = None
    renormalise: str = "none"
    preset: str = "paper"
    per_metric: bool = False

    @classmethod
    def from_spec(cls, spec) -> "WeightSettings":
        return cls(**spec.resolved())


#: deviations whose range is within this share of their magnitude (or 1e-12) count as equal
RELATIVE_TOLERANCE = 1e-9


def is_constant(d: np.ndarray) -> bool:
    """All values equal up to floating-point noise: max - min <= 1e-12 + 1e-9 * max|d|."""
    d = np.asarray(d, dtype=np.float64)
    if d.size < 2:
        return True
    return bool(d.max() - d.min() <= 1e-12 + RELATIVE_TOLERANCE * np.abs(d).max())


def normalise(d: np.ndarray, method: str) -> np.ndarray:
    """One metric's deviations over one pool -> values in [0, 1]; constant input -> all 1/2."""
    d = np.asarray(d, dtype=np.float64)
    n = d.size
    if n == 0:
        return d.copy()
    lo, hi = d.min(), d.max()
    if is_constant(d):
        return np.full(n, 0.5)
    if method == "minmax":
        return (d - lo) / (hi - lo)
    if method == "rank":
        from scipy.stats import rankdata

        return (rankdata(d, method="average") - 1.0) / (n - 1)
    if method == "zscore":
        from scipy.special import ndtr

        std = d.std()
        return ndtr((d - d.mean()) / std) if std > 0 else np.full(n, 0.5)
    raise ValueError(f"unknown normalisation '{method}'")


def combine(q: np.ndarray, method: str) -> np.ndarray:
    """(K, N) normalised values -> u of length N (geometric or arithmetic mean over metrics)."""
    q = np.asarray(q, dtype=np.float64)
    if method == "geometric":
        return np.prod(q ** (1.0 / q.shape[0]), axis=0)
    if method == "arithmetic":
        return q.mean(axis=0)
    raise ValueError(f"unknown combination '{method}'")


def pool_weights(deviations: np.ndarray, *, normalise_method: str = "minmax",
                 combine_method: str = "geometric") -> tuple[np.ndarray, bool]:
    """(K, N) raw deviations of one pool -> (weights averaging 1 over the pool, zero_mean flag)."""
    d = np.atleast_2d(np.asarray(deviations, dtype=np.float64))
    w, zero, _ = pooled_weights(d, np.array([0]), normalise_method=normalise_method,
                                combine_method=combine_method)
    return w, bool(zero[0]) if zero.size else False


def _segment(values: np.ndarray, starts: np.ndarray, ufunc) -> np.ndarray:
    return ufunc.reduceat(values, starts, axis=-1)


def pooled_weights(deviations: np.ndarray, starts: np.ndarray, *, normalise_method: str = "minmax",
                   combine_method: str = "geometric") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many pools at once: ``deviations`` (K, T) holds the pools side by side, pool p occupying
    columns ``starts[p]:starts[p+1]``. Returns (weights (T,), zero_mean flag per pool, constant
    flag per metric and pool (K, P)). Same numbers as :func:`normalise`/:func:`combine` pool by
    pool; min-max and z-score are vectorised over pools (segment reductions), rank loops."""
    d = np.asarray(deviations, dtype=np.float64)
    k, total = d.shape
    starts = np.asarray(starts, dtype=np.int64)
    n_pools = starts.size
    if total == 0 or n_pools == 0:
        return np.ones(total), np.zeros(n_pools, dtype=bool), np.zeros((k, n_pools), dtype=bool)
    sizes = np.diff(np.append(starts, total))
    pool_of = np.repeat(np.arange(n_pools), sizes)
    if k == 0:
        return np.ones(total), np.zeros(n_pools, dtype=bool), np.zeros((0, n_pools), dtype=bool)
    lo = _segment(d, starts, np.minimum)
    hi = _segment(d, starts, np.maximum)
    big = _segment(np.abs(d), starts, np.maximum)
    constant = (hi - lo <= 1e-12 + RELATIVE_TOLERANCE * big) | (sizes < 2)[None, :]
    if normalise_method == "minmax":
        span = np.where(constant, 1.0, hi - lo)
        q = (d - lo[:, pool_of]) / span[:, pool_of]
    elif normalise_method == "zscore":
        from scipy.special import ndtr

        mean = _segment(d, starts, np.add) / sizes
        centred = d - mean[:, pool_of]
        std = np.sqrt(_segment(centred**2, starts, np.add) / sizes)
        safe = np.where(std > 0, std, 1.0)
        q = ndtr(centred / safe[:, pool_of])
        constant = constant | (std <= 0)
    elif normalise_method == "rank":
        q = np.empty_like(d)
        bounds = np.append(starts, total)
        for m in range(k):
            for p in range(n_pools):
                a, b = bounds[p], bounds[p + 1]
                q[m, a:b] = normalise(d[m, a:b], "rank")
    else:
        raise ValueError(f"unknown normalisation '{normalise_method}'")
    q = np.where(constant[:, pool_of], 0.5, q)
    u = combine(q, combine_method)
    mean_u = _segment(u, starts, np.add) / sizes
    zero = ~(mean_u > 0)
    w = np.where(zero[pool_of], 1.0, u / np.where(zero, 1.0, mean_u)[pool_of])
    return w, zero, constant


@dataclass
class PairWeights:
    """Per pair: final weight, the chosen response's pool weight before renormalisation/floor/cap,
    and each metric's raw deviation of chosen and rejected (NaN never occurs)."""

    weight: np.ndarray
    pool_weight: np.ndarray
    deviation_chosen: dict[str, np.ndarray] = field(default_factory=dict)
    deviation_rejected: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    #: ``weights.per_metric``: label -> the final weight that metric alone gives each pair
    per_metric: dict[str, np.ndarray] = field(default_factory=dict)


def _pools(groups: Sequence[Group], pairs: Sequence[Pair], pool: str,
           dedupe: bool = True) -> tuple[list[tuple[Group, list[int]]], dict[str, int]]:
    """One pool per prompt that has pairs: indices into its responses (group order; with
    ``dedupe=False`` and ``pool='pairs'``, chosen then rejected of each pair, repeats kept)."""
    by_prompt: dict[str, list[Pair]] = {}
    for p in pairs:
        by_prompt.setdefault(p.prompt_id, []).append(p)
    pools: list[tuple[Group, list[int]]] = []
    index: dict[str, int] = {}
    for g in groups:
        these = by_prompt.get(g.prompt_id)
        if not these:
            continue
        if pool == "all":
            idx = list(range(len(g.responses)))
        elif not dedupe:
            where = {id(r): i for i, r in enumerate(g.responses)}
            idx = [where[id(x)] for p in these for x in (p.chosen, p.rejected)]
        else:
            used = {id(x) for p in these for x in (p.chosen, p.rejected)}
            idx = [i for i, r in enumerate(g.responses) if id(r) in used]
        index[g.prompt_id] = len(pools)
        pools.append((g, idx))
    return pools, index


def weigh_pairs(groups: Sequence[Group], pairs: Sequence[Pair], metrics: Sequence[tuple[str, Any]],
                settings: WeightSettings) -> PairWeights:
    """Weights and raw deviations for ``pairs`` (built from ``groups``); ``metrics`` are
    ``(label, Metric)``. Degenerate pools are counted in ``stats``."""
    pools, index = _pools(groups, pairs, settings.pool, settings.dedupe_pool)
    texts = [[g.responses[i].text for i in idx] for g, idx in pools]
    raw: dict[str, list[np.ndarray]] = {}
    degenerate: dict[str, int] = {}
    for label, metric in metrics:
        results = measure_groups(metric, texts) if texts else []
        devs = []
        degenerate[label] = 0
        for (g, idx), res in zip(pools, results):
            if res.degenerate:
                # a pool with an empty or token-less text has no deviation (measure_groups's
                # rule): constant 0, so every member gets weight 1, and it is counted
                degenerate[label] += 1
                devs.append(np.zeros(len(idx)))
                continue
            dev = np.asarray(res.deviation, dtype=np.float64)
            if dev.shape != (len(idx),) or not np.all(np.isfinite(dev)):
                raise DivtoolsError(
                    f"metric '{label}' returned deviations of shape {dev.shape} (finite: "
                    f"{bool(np.all(np.isfinite(dev)))}) for a pool of {len(idx)} responses of prompt '{g.prompt_id}'"
                )
            devs.append(dev)
        raw[label] = devs

    uniform = settings.preset == "uniform"  # deviations are recorded but do not weigh
    sizes = np.array([len(idx) for _, idx in pools], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if len(pools) else np.zeros(0, np.int64)
    constant: dict[str, int] = {label: 0 for label, _ in metrics}
    if not metrics or not pools:
        flat_w = np.ones(int(sizes.sum()))
        zero_mean = 0
    else:
        d = np.stack([np.concatenate(raw[label]) for label, _ in metrics])
        flat_w, zero, const = pooled_weights(d, starts, normalise_method=settings.normalise,
                                             combine_method=settings.combine)
        zero_mean = int(zero.sum())
        constant = {label: int(np.sum(const[m] & (sizes > 1))) for m, (label, _) in enumerate(metrics)}
        if uniform:
            flat_w, zero_mean = np.ones_like(flat_w), 0
    positions = [{id(g.responses[i]): j for j, i in enumerate(idx)} for g, idx in pools]
    n = len(pairs)
    # (pool index, chosen position, rejected position) of every pair
    where = np.array([(index[p.prompt_id], positions[index[p.prompt_id]][id(p.chosen)],
                       positions[index[p.prompt_id]][id(p.rejected)]) for p in pairs], dtype=np.int64).reshape(n, 3)
    flat_c = starts[where[:, 0]] + where[:, 1] if n else np.zeros(0, np.int64)
    flat_r = starts[where[:, 0]] + where[:, 2] if n else np.zeros(0, np.int64)
    chosen_w = flat_w[flat_c]
    dev_c = {label: np.concatenate(raw[label])[flat_c] if n else np.zeros(0) for label, _ in metrics}
    dev_r = {label: np.concatenate(raw[label])[flat_r] if n else np.zeros(0) for label, _ in metrics}

    final, before_clip = _finish(chosen_w, settings)
    per_metric: dict[str, np.ndarray] = {}
    if settings.per_metric and metrics and pools:
        for m, (label, _) in enumerate(metrics):
            w_m = np.ones(int(sizes.sum())) if uniform else pooled_weights(
                d[m : m + 1], starts, normalise_method=settings.normalise, combine_method=settings.combine)[0]
            per_metric[label] = _finish(w_m[flat_c], settings)[0]

    for p, w in zip(pairs, final):
        p.weight = float(w)  # the api's Pair.weight: filled by this step

    size_counts = Counter(min(len(idx), 5) for _, idx in pools)
    stats = {
        "pools": len(pools),
        "pool_sizes": {("5+" if s == 5 else str(s)): size_counts[s] for s in sorted(size_counts)},
        "pools_of_2": size_counts.get(2, 0),
        "pools_constant_deviation": constant,
        "pools_degenerate_text": degenerate,
        "pools_zero_mean": zero_mean,
        "pairs_zero_pool_weight": int(np.sum(chosen_w == 0)),
        "pairs_raised_by_floor": int(np.sum(final > before_clip)),
        "pairs_lowered_by_cap": int(np.sum(final < before_clip)),
        "weight": weight_stats(final),
    }
    return PairWeights(weight=final, pool_weight=chosen_w, deviation_chosen=dev_c,
                       deviation_rejected=dev_r, stats=stats, per_metric=per_metric)


def _finish(chosen_w: np.ndarray, settings: WeightSettings) -> tuple[np.ndarray, np.ndarray]:
    """Dataset renormalisation, then floor and cap (last, so they hold for the written value).
    Returns the final weights and the weights before floor/cap."""
    final = chosen_w.copy()
    if settings.renormalise == "dataset" and len(final) and final.mean() > 0:
        final = final / final.mean()
    before_clip = final.copy()
    if settings.floor is not None:
        final = np.maximum(final, settings.floor)
    if settings.cap is not None:
        final = np.minimum(final, settings.cap)
    return final, before_clip


def weight_stats(w: np.ndarray) -> dict[str, Any]:
    """Distribution of pair weights (rounded to 1e-12 so equal runs print equal numbers)."""
    w = np.asarray(w, dtype=np.float64)
    if w.size == 0:
        return {"count": 0}
    q = np.quantile(w, [0.05, 0.25, 0.5, 0.75, 0.95])
    r = lambda x: round(float(x), 12)  # noqa: E731
    return {
        "count": int(w.size),
        "mean": r(w.mean()),
        "std": r(w.std()),
        "min": r(w.min()),
        "max": r(w.max()),
        "p05": r(q[0]), "p25": r(q[1]), "median": r(q[2]), "p75": r(q[3]), "p95": r(q[4]),
        "share_zero": r(np.mean(w == 0)),
        "share_one": r(np.mean(np.isclose(w, 1.0, rtol=0, atol=1e-12))),
    }
