"""Pair builders (docs/method.md §2, §5): scored groups -> preference pairs, seeded.

Every random choice for a prompt comes from a generator seeded with ``(seed, hash(prompt_id))``,
so a prompt's pairs depend only on the seed and that prompt's responses: the same seed gives
the same pairs whatever the file order or the other prompts, and a different seed gives other
pairs. The reference code did not seed its pairing.
"""

from __future__ import annotations

import hashlib
import math
from itertools import combinations
from typing import Sequence

import numpy as np

from divtools.api import Group, Pair, PairBuilder
from divtools.errors import UserError

__all__ = ["AllPairs", "BestVsWorst", "Divpo", "GapDisjoint", "divpo_set_size", "group_rng"]


def group_rng(seed: int, prompt_id: str) -> np.random.Generator:
    """The generator for one prompt's random choices."""
    key = int.from_bytes(hashlib.sha256(prompt_id.encode("utf-8")).digest()[:8], "big")
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, key])


def _scores(group: Group, builder: str) -> np.ndarray:
    if any(r.score is None for r in group.responses):
        raise UserError(
            f"pair builder '{builder}' needs a score for every response, but prompt "
            f"'{group.prompt_id}' has responses without one; map source.columns.score to a score column",
            field="pair_builder",
        )
    return np.array([r.score for r in group.responses], dtype=np.float64)


def _pair(group: Group, win: int, lose: int, builder: str) -> Pair:
    return Pair(
        prompt_id=group.prompt_id,
        prompt=group.prompt,
        chosen=group.responses[win],
        rejected=group.responses[lose],
        meta={"pair_builder": builder},
    )


def _oriented(group: Group, scores: np.ndarray, a: int, b: int, builder: str) -> Pair:
    return _pair(group, a, b, builder) if scores[a] > scores[b] else _pair(group, b, a, builder)


class GapDisjoint(PairBuilder):
    """docs/method.md §2. Walk the responses in a seeded random order; pair each unused response with the
    next unused one whose score differs by at least ``gap``. Then (fallback) the same walk over the
    leftovers with any nonzero difference. Each response is in at most one pair; higher score wins.

    Doing all gap pairs first is the same as "a gap pair while one is left, else any unequal pair":
    once no unused gap pair exists, removing responses cannot create one.
    """

    name = "gap_disjoint"

    def __init__(self, params) -> None:
        self.params = params

    @staticmethod
    def _walk(unused: list[int], scores: np.ndarray, gap: float) -> list[tuple[int, int]]:
        made: list[tuple[int, int]] = []
        i = 0
        while i < len(unused):
            a = unused[i]
            partner = next(
                (j for j in range(i + 1, len(unused))
                 if scores[a] != scores[unused[j]] and abs(scores[a] - scores[unused[j]]) >= gap),
                None,
            )
            if partner is None:
                i += 1
                continue
            made.append((a, unused[partner]))
            del unused[partner]
            del unused[i]
        return made

    def build(self, groups: Sequence[Group], *, seed: int) -> list[Pair]:
        out: list[Pair] = []
        for group in groups:
            scores = _scores(group, self.name)
            unused = [int(i) for i in group_rng(seed, group.prompt_id).permutation(len(scores))]
            made = self._walk(unused, scores, self.params.gap)
            if self.params.fallback:
                made += self._walk(unused, scores, 0.0)
            if self.params.max_pairs_per_prompt is not None:
                made = made[: self.params.max_pairs_per_prompt]
            out.extend(_oriented(group, scores, a, b, self.name) for a, b in made)
        return out


class AllPairs(PairBuilder):
    """All pairs with different scores (difference >= ``min_gap``); at most ``max_pairs_per_prompt``
    per prompt, a seeded random sample kept in (i, j) order."""

    name = "all_pairs"

    def __init__(self, params) -> None:
        self.params = params

    def build(self, groups: Sequence[Group], *, seed: int) -> list[Pair]:
        out: list[Pair] = []
        cap = self.params.max_pairs_per_prompt
        for group in groups:
            scores = _scores(group, self.name)
            cand = [
                (a, b) for a, b in combinations(range(len(scores)), 2)
                if scores[a] != scores[b] and abs(scores[a] - scores[b]) >= self.params.min_gap
            ]
            if cap is not None and len(cand) > cap:
                keep = np.sort(group_rng(seed, group.prompt_id).choice(len(cand), size=cap, replace=False))
                cand = [cand[int(i)] for i in keep]
            out.extend(_oriented(group, scores, a, b, self.name) for a, b in cand)
        return out


class BestVsWorst(PairBuilder):
    """One pair per prompt: a highest-scored response against a lowest-scored one; ties are broken
    by the seeded generator. Prompts whose scores are all equal (or closer than ``min_gap``) give none."""

    name = "best_vs_worst"

    def __init__(self, params) -> None:
        self.params = params

    def build(self, groups: Sequence[Group], *, seed: int) -> list[Pair]:
        out: list[Pair] = []
        for group in groups:
            scores = _scores(group, self.name)
            gap = scores.max() - scores.min()
            if gap <= 0 or gap < self.params.min_gap:
                continue
            rng = group_rng(seed, group.prompt_id)
            best = int(rng.choice(np.flatnonzero(scores == scores.max())))
            worst = int(rng.choice(np.flatnonzero(scores == scores.min())))
            out.append(_pair(group, best, worst, self.name))
        return out


def divpo_set_size(n: int, rho: float, min_set_size: int = 2) -> int:
    """k = min(max(min_set_size, floor(n * rho / 100)), floor(n / 2)) (docs/method.md §5)."""
    return min(max(min_set_size, math.floor(n * rho / 100 + 1e-9)), n // 2)


def _mean_rank(values: list[np.ndarray]) -> np.ndarray:
    """Mean over criteria of each response's rank (0 = least diverse; ties share the average)."""
    from scipy.stats import rankdata

    return np.mean([rankdata(v, method="average") - 1.0 for v in values], axis=0)


def _geometric_minmax(values: list[np.ndarray]) -> np.ndarray:
    """prod_k q_k^(1/K), q_k = criterion k min-maxed to [0, 1] within the set (1/2 when constant):
    the DDPO reference code's combination, the same normalisation as the training weights."""
    from divtools.data.weights import combine, normalise

    return combine(np.stack([normalise(v, "minmax") for v in values]), "geometric")


#: how several criteria's values become one diversity order (``DivpoParams.combine``)
_COMBINE = {"mean_rank": _mean_rank, "geometric_minmax": _geometric_minmax}


class Divpo(PairBuilder):
    """DivPO selection (docs/method.md §5). Per prompt with n responses:

    1. k = min(max(2, floor(n * rho / 100)), floor(n / 2)); high set = the k best scores, low set
       = the k worst (score ties broken at random, seeded).
    2. Each criterion gives a diversity value per response (higher = more diverse), computed
       within each set (``criterion_pool: set``, the paper) or over the whole prompt; each
       criterion ranks the set and the mean rank orders it. With one criterion the order is that
       criterion's order (the reference re-implementation reversed it in that case).
    3. The m = min(pairs_per_prompt, k) most diverse of the high set are chosen, the m least
       diverse of the low set rejected, and they are paired in a seeded random order; a pair
       whose chosen score is not above the rejected one (a tie), or below ``min_gap`` above
       it, is dropped.

    ``combine: geometric_minmax`` merges several criteria as the reference code does; ``pool:
    paired`` first restricts each prompt to the responses of its ``gap_disjoint`` pairs (the
    reference code's input).

    Note: with the paper's rho = 25 and 2 pairs, k <= 2 for n < 12, so every high/low response is
    used and the criterion only decides pairs for prompts with at least 12 responses.
    """

    name = "divpo"

    def __init__(self, params) -> None:
        from divtools.data.criteria import build_criterion

        self.params = params
        self.criteria = [build_criterion(c) for c in params.criteria]

    def _values(self, requests: list[tuple[Group, list[int]]]) -> list[np.ndarray]:
        """Mean-rank diversity of each requested (group, indices) set."""
        if not requests:
            return []
        if self.params.criterion_pool == "group":
            whole = [(g, list(range(len(g.responses)))) for g, _ in requests]
            per_crit = [c.values(whole) for c in self.criteria]
            per_crit = [[v[idx] for v, (_, idx) in zip(vals, requests)] for vals in per_crit]
        else:
            per_crit = [c.values(requests) for c in self.criteria]
        merge = _COMBINE[self.params.combine]
        return [merge([np.asarray(vals[r], dtype=np.float64) for vals in per_crit]) for r in range(len(requests))]

    @staticmethod
    def _paired_only(groups: Sequence[Group], seed: int) -> list[Group]:
        """Each group restricted to the responses its paper pairs (gap_disjoint, gap 5, fallback)
        use, in group order; the Response objects are the same, so weights find them."""
        from divtools.builtins.pair_builders import GapDisjointParams

        out = []
        for group in groups:
            used = {id(x) for pr in GapDisjoint(GapDisjointParams()).build([group], seed=seed)
                    for x in (pr.chosen, pr.rejected)}
            out.append(Group(prompt_id=group.prompt_id, prompt=group.prompt, system=group.system,
                             responses=[r for r in group.responses if id(r) in used]))
        return out

    def warnings(self, groups: Sequence[Group]) -> list[str]:
        """Prompts whose sets hold no more responses than the pairs taken from them: every high
        and low response is paired, so the diversity criterion decides nothing there."""
        p = self.params
        sizes = [divpo_set_size(len(g.responses), p.rho, p.min_set_size) for g in groups]
        sizes = [k for k in sizes if k >= 1]
        blind = sum(1 for k in sizes if k <= p.pairs_per_prompt)
        if not sizes or blind / len(sizes) <= 0.5:
            return []
        need = next((n for n in range(2, 10_000) if divpo_set_size(n, p.rho, p.min_set_size) > p.pairs_per_prompt), None)
        return [f"{blind / len(sizes):.0%} of prompts give DivPO sets of at most pairs_per_prompt = {p.pairs_per_prompt} "
                f"responses (k = min(max({p.min_set_size}, floor(n*rho/100)), floor(n/2)) with rho = {p.rho:g}), so "
                "every high and low response is paired and the diversity criterion decides nothing: these pairs are "
                "quality-only. Raise rho (e.g. 50) or lower pairs_per_prompt"
                + (f" (with rho = {p.rho:g}, prompts need at least {need} responses)" if need else "")]

    def build(self, groups: Sequence[Group], *, seed: int) -> list[Pair]:
        p = self.params
        if p.pool == "paired":
            groups = self._paired_only(groups, seed)
        plans = []  # (group, scores, rng, high, low)
        requests: list[tuple[Group, list[int]]] = []
        for group in groups:
            scores = _scores(group, self.name)
            n = len(scores)
            k = divpo_set_size(n, p.rho, p.min_set_size)
            if k < 1:
                continue
            rng = group_rng(seed, group.prompt_id)
            tiebreak = rng.permutation(n)
            order = np.lexsort((tiebreak, -scores))  # best first, seeded among equal scores
            high = [int(i) for i in order[:k]]
            low = [int(i) for i in order[::-1][:k]]  # worst first
            plans.append((group, scores, rng, high, low))
            if k > 1:  # with one response per set there is nothing to rank
                requests += [(group, high), (group, low)]
        values = iter(self._values(requests))
        out: list[Pair] = []
        for group, scores, rng, high, low in plans:
            k = len(high)
            m = min(p.pairs_per_prompt, k)
            if k > 1:
                v_high, v_low = next(values), next(values)
                tb_h, tb_l = rng.permutation(k), rng.permutation(k)
                chosen = [high[i] for i in np.lexsort((tb_h, -v_high))[:m]]  # most diverse first
                rejected = [low[i] for i in np.lexsort((tb_l, v_low))[:m]]  # least diverse first
            else:
                chosen, rejected = high[:1], low[:1]
            rejected = [rejected[int(i)] for i in rng.permutation(len(rejected))]
            for c, r in zip(chosen, rejected):
                if scores[c] > scores[r] and scores[c] - scores[r] >= p.min_gap:  # never a tie
                    out.append(_pair(group, c, r, self.name))
        return out
