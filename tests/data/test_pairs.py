"""Pair builders: the paper's gap-disjoint pairs, all pairs, best-vs-worst, DivPO; all seeded."""

from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pytest

from divtools.builtins.pair_builders import AllPairsParams, BestVsWorstParams, DivpoParams, GapDisjointParams
from divtools.components import build
from divtools.data.pairs import divpo_set_size
from divtools.data.sources import JsonlSource
from divtools.builtins.sources import JsonlSourceParams
from divtools.errors import UserError

from .conftest import KJV, make_group


def kjv_groups():
    return JsonlSource(JsonlSourceParams(path=KJV)).load()


def ids(pairs):
    return [(p.prompt_id, p.chosen.id, p.rejected.id) for p in pairs]


def gap_builder(**kw):
    return build("pair_builder", GapDisjointParams(**kw))


def test_gap_disjoint_pairs_are_disjoint_oriented_and_maximal():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(2, 15))
        scores = [float(x) for x in rng.integers(0, 12, size=n)]
        g = make_group(f"g{trial}", [f"t{i}" for i in range(n)], scores)
        for fallback in (True, False):
            pairs = gap_builder(gap=5, fallback=fallback).build([g], seed=trial)
            used = [x.id for p in pairs for x in (p.chosen, p.rejected)]
            assert len(used) == len(set(used))  # each response in at most one pair
            assert all(p.chosen.score > p.rejected.score for p in pairs)
            left = [r.score for r in g.responses if r.id not in used]
            if fallback:  # nothing pairable is left: leftovers share one score
                assert len(set(left)) <= 1
            else:
                assert all(p.chosen.score - p.rejected.score >= 5 for p in pairs)
                assert not any(abs(a - b) >= 5 for a, b in combinations(left, 2))


def test_gap_pairs_come_before_fallback_pairs():
    # scores 0, 1, 6, 7: gap pairs must be (6|7 vs 0|1) twice, never (0,1) + (6,7)
    g = make_group("x", list("abcd"), [0.0, 1.0, 6.0, 7.0])
    for seed in range(20):
        pairs = gap_builder(gap=5).build([g], seed=seed)
        assert len(pairs) == 2 and all(p.chosen.score - p.rejected.score >= 5 for p in pairs)
    # scores 0, 1, 2: no gap pair; the fallback pairs two unequal ones
    g = make_group("y", list("abc"), [0.0, 1.0, 2.0])
    assert len(gap_builder(gap=5).build([g], seed=0)) == 1
    assert gap_builder(gap=5, fallback=False).build([g], seed=0) == []
    assert gap_builder(gap=5).build([make_group("z", list("ab"), [3.0, 3.0])], seed=0) == []


def test_same_seed_same_pairs_other_seed_other_pairs_and_order_independent():
    groups = kjv_groups()
    b = gap_builder()
    first = b.build(groups, seed=1)
    assert ids(first) == ids(b.build(kjv_groups(), seed=1))
    assert ids(first) != ids(b.build(groups, seed=2))
    shuffled = groups[:]
    random.Random(3).shuffle(shuffled)
    assert sorted(ids(b.build(shuffled, seed=1))) == sorted(ids(first))
    assert all(p.meta["pair_builder"] == "gap_disjoint" for p in first)


def test_max_pairs_per_prompt_and_missing_scores():
    g = make_group("m", [f"t{i}" for i in range(10)], [float(10 * i) for i in range(10)])
    assert len(gap_builder(max_pairs_per_prompt=2).build([g], seed=0)) == 2
    g.responses[3].score = None
    with pytest.raises(UserError, match="needs a score"):
        gap_builder().build([g], seed=0)


def test_all_pairs_cap_and_gap():
    g = make_group("a", [f"t{i}" for i in range(6)], [0.0, 0.0, 1.0, 2.0, 5.0, 9.0])
    unequal = sum(1 for a, b in combinations([0, 0, 1, 2, 5, 9], 2) if a != b)
    everything = build("pair_builder", AllPairsParams(max_pairs_per_prompt=None)).build([g], seed=0)
    assert len(everything) == unequal == 14
    assert all(p.chosen.score > p.rejected.score for p in everything)
    capped = build("pair_builder", AllPairsParams(max_pairs_per_prompt=5))
    assert len(capped.build([g], seed=0)) == 5
    assert ids(capped.build([g], seed=0)) == ids(capped.build([g], seed=0))
    assert ids(capped.build([g], seed=0)) != ids(capped.build([g], seed=9))
    gapped = build("pair_builder", AllPairsParams(min_gap=4, max_pairs_per_prompt=None)).build([g], seed=0)
    assert all(p.chosen.score - p.rejected.score >= 4 for p in gapped)
    assert len(gapped) == sum(1 for a, b in combinations([0, 0, 1, 2, 5, 9], 2) if abs(a - b) >= 4) == 8


def test_best_vs_worst_breaks_ties_by_seed():
    g = make_group("b", [f"t{i}" for i in range(6)], [1.0, 9.0, 9.0, 1.0, 5.0, 9.0])
    b = build("pair_builder", BestVsWorstParams())
    winners = {b.build([g], seed=s)[0].chosen.id for s in range(30)}
    losers = {b.build([g], seed=s)[0].rejected.id for s in range(30)}
    assert winners == {"b/1", "b/2", "b/5"} and losers == {"b/0", "b/3"}
    assert b.build([make_group("c", list("ab"), [2.0, 2.0])], seed=0) == []
    assert build("pair_builder", BestVsWorstParams(min_gap=10)).build([g], seed=0) == []


@pytest.mark.parametrize("n,k", [(2, 1), (3, 1), (4, 2), (7, 2), (8, 2), (11, 2), (12, 3), (16, 4), (21, 5), (500, 125)])
def test_divpo_set_size_formula(n, k):
    assert divpo_set_size(n, 25) == k == min(max(2, (n * 25) // 100), n // 2)


# A crafted pool of 16 responses, score = index. High set (k = 4): 12..15; low set: 0..3.
# In the high set 13 is long and made of words no other response uses: the most diverse by every
# criterion. In the low set 2 is one word that response 0 also uses: the least diverse.
UNIQUE = ("zebra quantum lantern violet harbor meadow cobalt thunder whisper granite falcon ember "
          "saffron glacier orchid velvet canyon mosaic")
CRAFTED = {
    0: "apple banana cherry date elder fig grape",
    1: "hazel iris juniper kiwi lemon mango",
    2: "apple",
    3: "nectar olive papaya quince",
    12: "the cat sat",
    13: UNIQUE,
    14: "the cat ran",
    15: "the cat sat down",
}


def crafted_group():
    texts = [CRAFTED.get(i, f"middle response number {i} about a boat") for i in range(16)]
    return make_group("crafted", texts, [float(i) for i in range(16)])


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    from divtools.models.tiny import build_tiny_causal_lm, default_texts

    return build_tiny_causal_lm(default_texts(), tmp_path_factory.mktemp("lm"))


def _criteria(name, tiny_lm):
    if name == "deviation":
        return {"type": "deviation", "metric": {"kind": "distinct_n", "n": 1}}
    if name == "word_rarity":
        return {"type": "word_rarity"}
    return {"type": "model_probability", "model": str(tiny_lm), "batch_size": 3}


@pytest.mark.parametrize(
    "names",
    [("deviation",), ("word_rarity",), ("model_probability",), ("deviation", "word_rarity"),
     ("deviation", "word_rarity", "model_probability")],
)
def test_divpo_picks_the_expected_pair_for_every_criterion(names, tiny_lm):
    params = DivpoParams.model_validate(
        {"kind": "divpo", "pairs_per_prompt": 1, "criteria": [_criteria(n, tiny_lm) for n in names]}
    )
    builder = build("pair_builder", params)
    for seed in range(3):
        (pair,) = builder.build([crafted_group()], seed=seed)
        # chosen = most diverse of the top 4, rejected = least diverse of the bottom 4; a reversed
        # ranking (the reference re-implementation's single-criterion defect) would give 12 vs 0/1/3
        assert (pair.chosen.id, pair.rejected.id) == ("crafted/13", "crafted/2")
        assert pair.meta["pair_builder"] == "divpo"


def test_divpo_two_pairs_use_sets_and_each_response_once():
    params = DivpoParams.model_validate({"kind": "divpo", "criteria": [{"type": "word_rarity"}]})
    pairs = build("pair_builder", params).build([crafted_group()], seed=0)
    assert len(pairs) == 2
    chosen = {p.chosen.id for p in pairs}
    rejected = {p.rejected.id for p in pairs}
    assert "crafted/13" in chosen and chosen <= {f"crafted/{i}" for i in (12, 13, 14, 15)}
    assert "crafted/2" in rejected and rejected <= {f"crafted/{i}" for i in (0, 1, 2, 3)}
    # small prompts: n = 3 gives k = 1: best against worst
    small = make_group("s", ["a b", "c d", "e f"], [1.0, 5.0, 3.0])
    (pair,) = build("pair_builder", params).build([small], seed=0)
    assert (pair.chosen.id, pair.rejected.id) == ("s/1", "s/0")


def test_model_probability_matches_an_unbatched_computation(tiny_lm):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from divtools.builtins.pair_builders import ModelProbabilityCriterion
    from divtools.data.criteria import ModelProbabilityValues

    prompts = ["Tell a story.", "Say something wise."]
    responses = ["The old king walks.", "A quiet river sings of the golden stone and the night."]
    crit = ModelProbabilityValues(ModelProbabilityCriterion(model=str(tiny_lm), batch_size=2))
    got = crit.nll(prompts, responses)
    tok = AutoTokenizer.from_pretrained(str(tiny_lm))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_lm)).eval()
    for prompt, response, value in zip(prompts, responses, got):
        head = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        p_ids = tok(head, add_special_tokens=False)["input_ids"]
        r_ids = tok(response, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p_ids + r_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0], dim=-1)
        expected = -sum(float(logp[len(p_ids) + t - 1, r_ids[t]]) for t in range(len(r_ids)))
        assert value == pytest.approx(expected, rel=1e-5)


def test_divpo_criterion_pool_group_computes_over_all_responses():
    from divtools.data.criteria import word_rarity

    g = crafted_group()
    params = DivpoParams.model_validate({"kind": "divpo", "pairs_per_prompt": 1, "criterion_pool": "group",
                                         "criteria": [{"type": "word_rarity"}]})
    (pair,) = build("pair_builder", params).build([g], seed=0)
    values = word_rarity(g.texts)  # over all 16 responses
    assert pair.chosen.id == f"crafted/{max((12, 13, 14, 15), key=lambda i: values[i])}" == "crafted/13"
    assert pair.rejected.id == f"crafted/{min((0, 1, 2, 3), key=lambda i: values[i])}" == "crafted/2"


# ------------------------------------------------------------------ DivPO: ties, combine, pool
def test_divpo_refuses_ties_by_default():
    params = DivpoParams.model_validate({"kind": "divpo", "criteria": [{"type": "word_rarity"}]})
    assert params.min_gap == 0  # the strict rule needs no gap: equal scores never pair
    builder = build("pair_builder", params)
    flat = make_group("flat", ["a b", "c d", "e f", "g h"], [3.0, 3.0, 3.0, 3.0])
    assert builder.build([flat], seed=0) == []  # k = 2: every candidate pair is a tie
    # high set {5, 3}, low set {1, 3}: the random pairing sometimes meets 3 vs 3; that pair goes
    mixed = make_group("mixed", ["a b", "c d", "e f", "g h"], [5.0, 3.0, 3.0, 1.0])
    counts = set()
    for seed in range(20):
        pairs = builder.build([mixed], seed=seed)
        assert all(p.chosen.score > p.rejected.score for p in pairs)
        counts.add(len(pairs))
    assert counts == {1, 2}  # (5 vs 1, 3 vs 3 dropped) or (5 vs 3, 3 vs 1)


class _HandCriterion:
    """Fixed diversity values per response index (stands in for a real criterion)."""

    def __init__(self, by_index):
        self.by_index = by_index

    def values(self, requests):
        return [np.array([self.by_index[int(g.responses[i].id.split("/")[1])] for i in idx]) for g, idx in requests]


def test_divpo_combine_geometric_minmax_against_hand_values():
    # 8 responses, score = index; k = 2 with rho 25 -> rho 50 gives k = 4: high 4..7, low 0..3.
    group = make_group("h", [f"t{i}" for i in range(8)], [float(i) for i in range(8)])
    # high set (4, 5, 6, 7): A = 0, 1, 10, 10 ; B = 10, 9, 0, 0.
    #   mean rank: A ranks 0, 1, 2.5, 2.5; B ranks 3, 2, 0.5, 0.5 -> 1.5, 1.5, 1.5, 1.5 (all tied)
    #   geometric min-max: qA = 0, .1, 1, 1; qB = 1, .9, 0, 0 -> u = 0, .3, 0, 0 -> 5 is the most diverse
    # low set (0, 1, 2, 3): A = 5, 5, 0, 6 ; B = 5, 5, 9, 6 -> qA = 5/6, 5/6, 0, 1; qB = 0, 0, 1, 1/4
    #   -> u = 0, 0, 0, .5: least diverse 0, 1, 2 (tied); mean rank (1, 1, 1.5, 2.5) would say 0 or 1
    a = {4: 0, 5: 1, 6: 10, 7: 10, 0: 5, 1: 5, 2: 0, 3: 6}
    b = {4: 10, 5: 9, 6: 0, 7: 0, 0: 5, 1: 5, 2: 9, 3: 6}
    params = DivpoParams.model_validate({"kind": "divpo", "rho": 50, "pairs_per_prompt": 1,
                                         "combine": "geometric_minmax", "criteria": [{"type": "word_rarity"}] * 2})
    builder = build("pair_builder", params)
    builder.criteria = [_HandCriterion(a), _HandCriterion(b)]
    chosen = {builder.build([group], seed=s)[0].chosen.id for s in range(10)}
    assert chosen == {"h/5"}
    rejected = {builder.build([group], seed=s)[0].rejected.id for s in range(30)}
    assert rejected == {"h/0", "h/1", "h/2"}
    # mean rank: the four high responses tie, so the seeded tie-break picks among all of them
    ranked = build("pair_builder", params.model_copy(update={"combine": "mean_rank"}))
    ranked.criteria = builder.criteria
    assert {ranked.build([group], seed=s)[0].chosen.id for s in range(30)} == {"h/4", "h/5", "h/6", "h/7"}


def test_divpo_pool_paired_selects_from_the_gap_disjoint_responses_only():
    # scores 0 x6 and 50 x2: gap 5 pairs each 50 with a 0; the other four 0s tie and stay unpaired
    group = make_group("p", [f"t{i}" for i in range(8)], [0.0] * 6 + [50.0, 50.0])
    crit = [{"type": "word_rarity"}]
    paired = build("pair_builder", DivpoParams.model_validate({"kind": "divpo", "pool": "paired", "criteria": crit}))
    everyone = build("pair_builder", DivpoParams.model_validate({"kind": "divpo", "criteria": crit}))
    differs = 0
    for seed in range(10):
        used = {x.id for p in gap_builder().build([group], seed=seed) for x in (p.chosen, p.rejected)}
        assert len(used) == 4
        pairs = paired.build([group], seed=seed)
        # n = 4 in the paired pool: k = 2, both 50s chosen against the two paired 0s
        assert len(pairs) == 2 and {x.id for p in pairs for x in (p.chosen, p.rejected)} == used
        differs += {x.id for p in everyone.build([group], seed=seed) for x in (p.chosen, p.rejected)} != used
    assert differs > 0  # over all 8 responses the low set is any two of the six 0s


def test_divpo_warns_when_its_sets_leave_no_choice(tmp_path, capfd):
    """rho 25 with 2 pairs per prompt: k = 2 for every n < 12, so DivPO pairs all of both sets and
    the criterion decides nothing; prepare says so, and rho 50 (k = 4 of 8) is silent."""
    from divtools.runs import run_spec_data

    criterion = [{"type": "deviation", "metric": {"kind": "distinct_n", "n": 1}}]
    groups = [make_group(f"p{i}", [f"text {i} {j} " + "w " * j for j in range(8)], scores=list(range(8)))
              for i in range(4)]
    (blind,) = build("pair_builder", DivpoParams(criteria=criterion)).warnings(groups)
    assert blind.startswith("100% of prompts give DivPO sets of at most pairs_per_prompt = 2")
    assert "at least 12 responses" in blind and divpo_set_size(11, 25) == 2 and divpo_set_size(12, 25) == 3
    assert build("pair_builder", DivpoParams(criteria=criterion, rho=50)).warnings(groups) == []
    assert build("pair_builder", DivpoParams(criteria=criterion, pairs_per_prompt=1)).warnings(groups) == []

    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(
        f'{{"prompt": "q{i}", "response": "answer {i} {j} {"w " * j}", "score": {j}}}\n' for i in range(4) for j in range(8)))
    out = tmp_path / "out"
    run_spec_data({"run": "prepare", "source": {"kind": "jsonl", "path": str(rows)}, "split": {"eval_fraction": 0.0},
                   "pair_builder": {"kind": "divpo", "criteria": criterion}, "output": {"dir": str(out)}},
                  file="s.yaml", base_dir=tmp_path, quiet=True)
    assert "prepare: warning: train: 100% of prompts give DivPO sets" in capfd.readouterr().err
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert any("DivPO sets" in w for w in summary["diagnostics"]["warnings"])
    from divtools.data.diagnostics import diagnose_folder

    assert diagnose_folder(out)["warnings"] == summary["diagnostics"]["warnings"]  # `divtools inspect` shows it too
