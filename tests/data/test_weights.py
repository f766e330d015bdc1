"""Deviation -> weights (docs/method.md §3) against an independent re-computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from divtools.api import GroupResult, Metric
from divtools.data.weights import WeightSettings, normalise, pool_weights, weigh_pairs
from divtools.spec.prepare import WeightsSpec

from .conftest import FixedEmbeddingMetric, make_group, make_pair

PAPER = WeightSettings.from_spec(WeightsSpec())


def reference_deviation(vectors):
    """d_i = 1/(N-1) sum_{j != i} (1 - cos(e_i, e_j)), written out with plain loops."""
    n = len(vectors)
    out = []
    for i in range(n):
        total = 0.0
        for j in range(n):
            if j != i:
                a, b = vectors[i], vectors[j]
                cos = sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
                total += 1.0 - cos
        out.append(total / (n - 1))
    return out


def reference_weights(devs_per_metric):
    """docs/method.md §3 verbatim: s in [-1, 1] (0 if constant), u = prod ((s+1)/2)^(1/K), w = u / mean(u)."""
    k = len(devs_per_metric)
    n = len(devs_per_metric[0])
    s = []
    for d in devs_per_metric:
        lo, hi = min(d), max(d)
        s.append([0.0] * n if hi == lo else [2 * (x - lo) / (hi - lo) - 1 for x in d])
    u = [math.prod(((s[m][i] + 1) / 2) ** (1 / k) for m in range(k)) for i in range(n)]
    mean = sum(u) / n
    return [x / mean for x in u]


RNG = np.random.default_rng(7)
# two "embedders" (semantic, style): fixed random vectors per text
TEXTS = [f"text {i}" for i in range(12)]
SEM = {t: RNG.normal(size=6) for t in TEXTS}
STY = {t: RNG.normal(size=4) for t in TEXTS}


@pytest.mark.parametrize("pool_size", [2, 3, 4])
@pytest.mark.parametrize("n_metrics", [1, 2])
def test_paper_preset_equals_method_section_3(pool_size, n_metrics):
    texts = TEXTS[:pool_size]
    group = make_group("g", texts, scores=[float(10 * i) for i in range(pool_size)])
    # pairs covering every response: (1,0), (3,2) ... with a 3-pool: (1,0), (2,1)
    pairs = [make_pair(group, i + 1, i) for i in range(0, pool_size - 1, 2 if pool_size != 3 else 1)]
    metrics = [("semantic", FixedEmbeddingMetric(SEM)), ("style", FixedEmbeddingMetric(STY))][:n_metrics]
    result = weigh_pairs([group], pairs, metrics, PAPER)

    tables = [SEM, STY][:n_metrics]
    devs = [reference_deviation([list(t[x]) for x in texts]) for t in tables]
    expected_w = reference_weights(devs)
    for k, p in enumerate(pairs):
        c = int(p.chosen.id.split("/")[1])
        r = int(p.rejected.id.split("/")[1])
        assert result.weight[k] == pytest.approx(expected_w[c], abs=1e-9)
        for label, d in zip(["semantic", "style"], devs):
            assert result.deviation_chosen[label][k] == pytest.approx(d[c], abs=1e-12)
            assert result.deviation_rejected[label][k] == pytest.approx(d[r], abs=1e-12)
    # the pool's weights average exactly 1
    full, _ = pool_weights(np.array(devs))
    assert full.mean() == pytest.approx(1.0, abs=1e-12)
    if pool_size == 2 and n_metrics == 1:
        # docs/method.md §3: with N = 2 both deviations are equal, so every weight is 1
        assert np.all(result.weight == 1.0)
        assert result.stats["pools_constant_deviation"] == {"semantic": 1}
    if pool_size >= 3 and n_metrics == 1:
        # the least deviant response gets weight exactly 0
        assert min(expected_w) == 0.0 and full.min() == 0.0


def test_constant_deviations_give_weight_one():
    same = {t: [1.0, 2.0, 3.0] for t in TEXTS[:4]}  # identical embeddings: all deviations 0
    group = make_group("c", TEXTS[:4])
    pairs = [make_pair(group, 1, 0), make_pair(group, 3, 2)]
    result = weigh_pairs([group], pairs, [("semantic", FixedEmbeddingMetric(same))], PAPER)
    assert np.all(result.weight == 1.0)
    assert reference_weights([[0.0] * 4]) == [1.0] * 4
    assert result.stats["pools_constant_deviation"] == {"semantic": 1}


def test_pool_is_the_paired_responses_or_all():
    texts = TEXTS[:6]
    group = make_group("p", texts)
    pairs = [make_pair(group, 5, 1), make_pair(group, 3, 2)]  # responses 0 and 4 unpaired
    metric = FixedEmbeddingMetric(SEM)
    paired = weigh_pairs([group], pairs, [("sem", metric)], PAPER)
    assert metric.calls == [[texts[1], texts[2], texts[3], texts[5]]]
    ref = reference_weights([reference_deviation([list(SEM[texts[i]]) for i in (1, 2, 3, 5)])])
    assert paired.weight.tolist() == pytest.approx([ref[3], ref[2]], abs=1e-9)

    metric_all = FixedEmbeddingMetric(SEM)
    everyone = weigh_pairs([group], pairs, [("sem", metric_all)],
                           WeightSettings.from_spec(WeightsSpec(pool="all")))
    assert metric_all.calls == [texts]
    ref_all = reference_weights([reference_deviation([list(SEM[t]) for t in texts])])
    assert everyone.weight.tolist() == pytest.approx([ref_all[5], ref_all[3]], abs=1e-9)
    assert not np.allclose(paired.weight, everyone.weight)


def _least_deviant_wins():
    """A 3-pool whose winner of the first pair is the least deviant response (weight 0 in the paper)."""
    texts = TEXTS[:3]
    devs = reference_deviation([list(SEM[t]) for t in texts])
    low = int(np.argmin(devs))
    others = [i for i in range(3) if i != low]
    group = make_group("f", texts, scores=[0.0, 0.0, 0.0])
    pairs = [make_pair(group, low, others[0]), make_pair(group, others[1], low)]
    return group, pairs


def test_floor_really_changes_the_chosen_weight():
    group, pairs = _least_deviant_wins()
    metrics = [("sem", FixedEmbeddingMetric(SEM))]
    paper = weigh_pairs([group], pairs, metrics, PAPER)
    assert paper.weight[0] == 0.0  # the paper's weight: this pair teaches nothing
    floored = weigh_pairs([group], pairs, metrics, WeightSettings.from_spec(WeightsSpec(preset="paper_floor")))
    assert floored.weight[0] == pytest.approx(0.2, abs=0)
    assert floored.weight[1] == paper.weight[1] and paper.weight[1] > 0.2  # others untouched
    assert floored.stats["pairs_raised_by_floor"] == 1 and paper.stats["pairs_zero_pool_weight"] == 1
    assert pairs[0].weight == 0.2  # Pair.weight carries the last computed weight
    # The reference code applied its 0.2 floor to the rejected response's value; the trainer
    # reads only the chosen weight, which that left at 0 (the paper-preset value asserted above).


def test_cap_and_explicit_floor_override_the_preset():
    group, pairs = _least_deviant_wins()
    metrics = [("sem", FixedEmbeddingMetric(SEM))]
    spec = WeightsSpec(preset="paper", floor=0.5, cap=1.1)
    assert spec.resolved()["floor"] == 0.5
    w = weigh_pairs([group], pairs, metrics, WeightSettings.from_spec(spec)).weight
    assert w.min() >= 0.5 and w.max() <= 1.1
    with pytest.raises(ValueError, match="must not exceed cap"):
        WeightsSpec(floor=2.0, cap=1.0)
    # explicit null floor on the floored preset removes the floor
    assert WeightsSpec(preset="paper_floor", floor=None).resolved()["floor"] is None


def test_normalisations_and_arithmetic_combination():
    d = np.array([0.1, 0.4, 0.4, 0.9])
    assert normalise(d, "minmax").tolist() == pytest.approx([0.0, 0.375, 0.375, 1.0])
    assert normalise(d, "rank").tolist() == pytest.approx([0.0, 0.5, 0.5, 1.0])
    z = (d - d.mean()) / d.std()
    assert normalise(d, "zscore").tolist() == pytest.approx(norm.cdf(z).tolist(), abs=1e-12)
    for method in ("minmax", "rank", "zscore"):
        assert normalise(np.full(3, 0.3), method).tolist() == [0.5, 0.5, 0.5]
    two = np.array([[0.1, 0.5, 0.9], [0.9, 0.5, 0.1]])
    w_arith, _ = pool_weights(two, combine_method="arithmetic")
    assert w_arith.tolist() == pytest.approx([1.0, 1.0, 1.0])  # opposite metrics cancel
    w_geo, _ = pool_weights(two, combine_method="geometric")
    assert w_geo.tolist() == pytest.approx([0.0, 3.0, 0.0])  # u = (0, 0.5, 0): geometric punishes a zero


def test_all_zero_u_falls_back_to_one_and_is_counted():
    # K = 2, N = 2 with opposite orders: u = (0, 0), mean 0 -> every weight 1
    w, zero = pool_weights(np.array([[0.1, 0.2], [0.2, 0.1]]))
    assert zero and w.tolist() == [1.0, 1.0]


class _Opposite:
    def __init__(self, sign):
        self.sign = sign

    def groups(self, groups):
        from divtools.api import GroupResult

        return [GroupResult(deviation=self.sign * np.arange(len(g), dtype=float), diversity=0.0) for g in groups]


def test_zero_mean_pools_are_counted_in_stats():
    group = make_group("z", TEXTS[:2])
    res = weigh_pairs([group], [make_pair(group, 1, 0)], [("a", _Opposite(1)), ("b", _Opposite(-1))], PAPER)
    assert res.stats["pools_zero_mean"] == 1 and res.weight.tolist() == [1.0]


def test_dataset_renormalisation_then_floor():
    groups = [make_group(f"g{i}", TEXTS[3 * i: 3 * i + 3]) for i in range(3)]
    pairs = [make_pair(g, 2, 0) for g in groups] + [make_pair(g, 1, 0) for g in groups]
    metrics = [("sem", FixedEmbeddingMetric(SEM))]
    plain = weigh_pairs(groups, pairs, metrics, PAPER)
    renorm = weigh_pairs(groups, pairs, metrics, WeightSettings.from_spec(WeightsSpec(renormalise="dataset")))
    assert renorm.weight.mean() == pytest.approx(1.0, abs=1e-12)
    assert renorm.weight.tolist() == pytest.approx((plain.weight / plain.weight.mean()).tolist(), abs=1e-12)
    both = weigh_pairs(groups, pairs, metrics,
                       WeightSettings.from_spec(WeightsSpec(renormalise="dataset", floor=0.3)))
    assert both.weight.min() >= 0.3  # the floor holds for the final value


def test_uniform_preset_and_no_metrics_give_ones():
    group = make_group("u", TEXTS[:4])
    pairs = [make_pair(group, 1, 0), make_pair(group, 3, 2)]
    res = weigh_pairs([group], pairs, [("sem", FixedEmbeddingMetric(SEM))],
                      WeightSettings.from_spec(WeightsSpec(preset="uniform")))
    assert res.weight.tolist() == [1.0, 1.0] and "sem" in res.deviation_chosen
    assert weigh_pairs([group], pairs, [], PAPER).weight.tolist() == [1.0, 1.0]


def test_metric_with_wrong_shape_is_an_error():
    from divtools.errors import DivtoolsError

    class Bad:
        def groups(self, groups):
            from divtools.api import GroupResult

            return [GroupResult(deviation=np.zeros(1), diversity=0.0) for _ in groups]

    group = make_group("b", TEXTS[:3])
    with pytest.raises(DivtoolsError, match="shape"):
        weigh_pairs([group], [make_pair(group, 1, 0), make_pair(group, 2, 1)], [("bad", Bad())], PAPER)


def test_floating_point_noise_counts_as_constant():
    # N = 2 cosine deviations are equal in exact arithmetic; noise must not become weights 0 and 2
    w, _ = pool_weights(np.array([[0.7, 0.7 + 1e-15]]))
    assert w.tolist() == [1.0, 1.0]
    w, _ = pool_weights(np.array([[0.7, 0.7 + 1e-6]]))  # a real difference still counts
    assert w.tolist() == [0.0, 2.0]


@pytest.mark.parametrize("method", ["minmax", "rank", "zscore"])
@pytest.mark.parametrize("how", ["geometric", "arithmetic"])
def test_vectorised_pools_equal_pool_by_pool(method, how):
    from divtools.data.weights import combine, pooled_weights

    rng = np.random.default_rng(3)
    sizes = [2, 3, 4, 7, 2, 5, 3]
    pools = [rng.random((2, n)).round(2) for n in sizes]
    pools[1][0] = 0.4  # a constant metric in one pool
    pools[4] = np.array([[0.1, 0.2], [0.2, 0.1]])  # u = 0 everywhere under the geometric mean
    starts = np.cumsum([0] + sizes[:-1])
    w, zero, const = pooled_weights(np.concatenate(pools, axis=1), starts, normalise_method=method, combine_method=how)
    for p, (a, n) in enumerate(zip(starts, sizes)):
        u = combine(np.stack([normalise(row, method) for row in pools[p]]), how)
        expected = np.ones(n) if u.mean() == 0 else u / u.mean()
        assert w[a:a + n].tolist() == pytest.approx(expected.tolist(), abs=1e-12)
        assert zero[p] == (u.mean() == 0)
    assert const[0, 1] and not const[1, 1]


@pytest.mark.parametrize("preset", ["paper", "paper_floor"])
def test_per_metric_columns_equal_single_metric_runs(preset):
    texts = TEXTS[:5]
    group = make_group("m", texts, scores=[float(10 * i) for i in range(5)])
    pairs = [make_pair(group, 4, 0), make_pair(group, 3, 1), make_pair(group, 2, 1)]
    sem, sty = ("semantic", FixedEmbeddingMetric(SEM)), ("style", FixedEmbeddingMetric(STY))
    both = weigh_pairs([group], pairs, [sem, sty],
                       WeightSettings.from_spec(WeightsSpec(preset=preset, per_metric=True)))
    settings = WeightSettings.from_spec(WeightsSpec(preset=preset))
    alone_sem = weigh_pairs([group], pairs, [sem], settings)
    alone_sty = weigh_pairs([group], pairs, [sty], settings)
    combined = weigh_pairs([group], pairs, [sem, sty], settings)
    np.testing.assert_allclose(both.per_metric["semantic"], alone_sem.weight, atol=1e-12)
    np.testing.assert_allclose(both.per_metric["style"], alone_sty.weight, atol=1e-12)
    np.testing.assert_allclose(both.weight, combined.weight, atol=1e-12)
    assert not np.allclose(both.per_metric["semantic"], both.per_metric["style"])
    assert combined.per_metric == {}


class _LineMetric(Metric):
    """Texts are points on a line: deviation_i = mean |x_i - x_j| over the others."""

    def group(self, texts):
        x = np.array([float(t) for t in texts])
        n = len(x)
        dev = np.abs(x[:, None] - x[None, :]).sum(axis=1) / (n - 1) if n > 1 else np.zeros(n)
        return GroupResult(deviation=dev, diversity=float(dev.mean()) if n else float("nan"))


def test_dedupe_pool_false_repeats_responses_as_the_reference_code():
    # A = 0, B = 1, C = 3; pairs (A, B) and (A, C): A is in both.
    group = make_group("d", ["0", "1", "3"], [10.0, 4.0, 0.0])
    pairs = [make_pair(group, 0, 1), make_pair(group, 0, 2)]
    # deduplicated pool [A, B, C]: d = 2, 1.5, 2.5 -> q = .5, 0, 1 -> mean .5 -> w_A = 1
    once = weigh_pairs([group], pairs, [("line", _LineMetric())], PAPER)
    assert once.weight.tolist() == pytest.approx([1.0, 1.0])
    # reference pool [A, B, A, C]: d = 4/3, 4/3, 4/3, 8/3 -> q = 0, 0, 0, 1 -> w_A = 0
    settings = WeightSettings.from_spec(WeightsSpec(dedupe_pool=False))
    repeated = weigh_pairs([group], [make_pair(group, 0, 1), make_pair(group, 0, 2)], [("line", _LineMetric())], settings)
    assert repeated.weight.tolist() == pytest.approx([0.0, 0.0])
    # disjoint pairs (gap_disjoint) are unaffected
    disjoint = [make_pair(group, 0, 1)]
    assert weigh_pairs([group], disjoint, [("line", _LineMetric())], settings).weight.tolist() == \
        weigh_pairs([group], [make_pair(group, 0, 1)], [("line", _LineMetric())], PAPER).weight.tolist()
