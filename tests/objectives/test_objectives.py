"""Objectives against hand computations (plain Python math) and their stated properties."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from divtools.builtins.objectives import DDPOParams, DivPOParams, DORPOParams, DPOParams, ORPOParams  # noqa: E402
from divtools.errors import UserError  # noqa: E402
from divtools.objectives import DDPO, DORPO, DPO, ORPO, DivPO, reduce_batch  # noqa: E402


def _sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _dpo_batch(weights=(1.0, 0.5, 0.0, 2.0)):
    g = torch.Generator().manual_seed(0)
    n = len(weights)
    return {
        "chosen_logps": -torch.rand(n, generator=g, dtype=torch.float64) * 20,
        "rejected_logps": -torch.rand(n, generator=g, dtype=torch.float64) * 20,
        "ref_chosen_logps": -torch.rand(n, generator=g, dtype=torch.float64) * 20,
        "ref_rejected_logps": -torch.rand(n, generator=g, dtype=torch.float64) * 20,
        "chosen_tokens": torch.tensor([3.0, 7.0, 1.0, 12.0][:n], dtype=torch.float64),
        "rejected_tokens": torch.tensor([5.0, 2.0, 9.0, 4.0][:n], dtype=torch.float64),
        "weight": torch.tensor(weights, dtype=torch.float64),
    }


def _hand_dpo(b, i, beta, loss_type):
    rw = float(b["chosen_logps"][i] - b["ref_chosen_logps"][i])
    rl = float(b["rejected_logps"][i] - b["ref_rejected_logps"][i])
    if loss_type == "sigmoid":
        return -math.log(_sig(beta * (rw - rl)))
    if loss_type == "hinge":
        return max(0.0, 1 - beta * (rw - rl))
    d = rw / float(b["chosen_tokens"][i]) - rl / float(b["rejected_tokens"][i])
    return (d - 1 / (2 * beta)) ** 2


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "hinge"])
def test_dpo_equals_hand_computation(loss_type):
    b = _dpo_batch()
    out = DPO(DPOParams(beta=0.3, loss_type=loss_type)).compute(b)
    for i in range(4):
        assert float(out.loss[i]) == pytest.approx(_hand_dpo(b, i, 0.3, loss_type), rel=1e-12)
    assert torch.allclose(out.chosen_rewards, 0.3 * (b["chosen_logps"] - b["ref_chosen_logps"]))


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "hinge"])
def test_ddpo_is_weight_times_dpo_and_all_ones_is_dpo(loss_type):
    b = _dpo_batch()
    dpo = DPO(DPOParams(beta=0.1, loss_type=loss_type)).compute(b).loss
    ddpo = DDPO(DDPOParams(beta=0.1, loss_type=loss_type))
    out = ddpo.compute(b)
    assert torch.allclose(out.loss, b["weight"] * dpo, rtol=0, atol=1e-15)
    assert torch.allclose(out.unweighted, dpo)
    ones = dict(b, weight=torch.ones(4, dtype=torch.float64))
    assert torch.equal(ddpo.compute(ones).loss, dpo)
    assert torch.equal(ddpo.reduce(ddpo.compute(ones).loss, ones), dpo.mean())


def test_batch_reductions():
    losses = torch.tensor([2.0, 4.0, 0.0])
    w = torch.tensor([1.0, 0.5, 0.0])
    assert float(reduce_batch(losses, w, "mean")) == pytest.approx(2.0)
    assert float(reduce_batch(losses, w, "weight_normalized")) == pytest.approx(6.0 / 1.5)
    assert float(reduce_batch(torch.zeros(2), torch.zeros(2), "weight_normalized")) == 0.0
    b = _dpo_batch()
    obj = DDPO(DDPOParams(reduction="weight_normalized"))
    per = obj.compute(b).loss
    unweighted = DPO(DPOParams()).compute(b).loss
    expected = float((b["weight"] * unweighted).sum() / b["weight"].sum())
    assert float(obj.reduce(per, b)) == pytest.approx(expected, rel=1e-12)


def test_zero_weight_gives_zero_gradient():
    b = _dpo_batch(weights=(1.0, 0.0, 1.0, 0.5))
    for k in ("chosen_logps", "rejected_logps"):
        b[k] = b[k].clone().requires_grad_(True)
    obj = DDPO(DDPOParams())
    obj.reduce(obj.compute(b).loss, b).backward()
    assert float(b["chosen_logps"].grad[1]) == 0.0 and float(b["rejected_logps"].grad[1]) == 0.0
    assert all(float(b["chosen_logps"].grad[i]) != 0.0 for i in (0, 2, 3))


def _orpo_batch(weights=(1.0, 0.25, 0.0, 1.75)):
    g = torch.Generator().manual_seed(1)
    return {
        "chosen_logps": -torch.rand(4, generator=g, dtype=torch.float64) * 3 - 0.01,
        "rejected_logps": -torch.rand(4, generator=g, dtype=torch.float64) * 3 - 0.01,
        "chosen_nll_sum": torch.rand(4, generator=g, dtype=torch.float64) * 30,
        "chosen_nll_tokens": torch.tensor([4.0, 10.0, 6.0, 3.0], dtype=torch.float64),
        "weight": torch.tensor(weights, dtype=torch.float64),
    }


def _hand_log_odds(c, r):
    return (c - math.log(1 - math.exp(c))) - (r - math.log(1 - math.exp(r)))


@pytest.mark.parametrize("nll_reduction", ["token_mean", "example_mean"])
def test_orpo_equals_hand_computation(nll_reduction):
    b = _orpo_batch()
    obj = ORPO(ORPOParams(beta=0.25, nll_reduction=nll_reduction))
    out = obj.compute(b)
    total_tokens = float(b["chosen_nll_tokens"].sum())
    hand = []
    for i in range(4):
        s, n = float(b["chosen_nll_sum"][i]), float(b["chosen_nll_tokens"][i])
        nll = 4 * s / total_tokens if nll_reduction == "token_mean" else s / n
        lo = _hand_log_odds(float(b["chosen_logps"][i]), float(b["rejected_logps"][i]))
        hand.append(nll - 0.25 * math.log(_sig(lo)))
        assert float(out.loss[i]) == pytest.approx(hand[-1], rel=1e-6)
    if nll_reduction == "token_mean":  # batch mean = token-mean NLL + mean odds term (TRL's form)
        trl_like = float(b["chosen_nll_sum"].sum()) / total_tokens - 0.25 * sum(
            math.log(_sig(_hand_log_odds(float(b["chosen_logps"][i]), float(b["rejected_logps"][i])))) for i in range(4)
        ) / 4
        assert float(obj.reduce(out.loss, b)) == pytest.approx(trl_like, rel=1e-6)


def test_dorpo_per_example_hand():
    b = _orpo_batch()
    orpo = ORPO(ORPOParams(nll_reduction="example_mean")).compute(b).loss
    out = DORPO(DORPOParams(nll_reduction="example_mean")).compute(b)
    for i in range(4):
        assert float(out.loss[i]) == pytest.approx(float(b["weight"][i]) * float(orpo[i]), rel=1e-12)
    assert torch.allclose(out.unweighted, orpo)


def test_dorpo_paper_code_hand():
    b = _orpo_batch()
    beta = 0.25
    out = DORPO(DORPOParams(weighting="paper_code", beta=beta, nll_reduction="example_mean")).compute(b)
    wbar = sum(float(w) for w in b["weight"]) / 4
    for i in range(4):
        nll = float(b["chosen_nll_sum"][i]) / float(b["chosen_nll_tokens"][i])
        lo = _hand_log_odds(float(b["chosen_logps"][i]), float(b["rejected_logps"][i]))
        w = float(b["weight"][i])
        hand = wbar * nll - beta * math.log(_sig(w * lo))
        assert float(out.loss[i]) == pytest.approx(hand, rel=1e-6)
    # the reference code's batch loss: mean(w)·NLL_batch − β·mean(log σ(w·Δ))
    per_ex_mean = float(out.loss.mean())
    nll_batch = float((b["chosen_nll_sum"] / b["chosen_nll_tokens"]).mean())
    odds = sum(
        math.log(_sig(float(b["weight"][i]) * _hand_log_odds(float(b["chosen_logps"][i]), float(b["rejected_logps"][i]))))
        for i in range(4)
    ) / 4
    assert per_ex_mean == pytest.approx(wbar * nll_batch - beta * odds, rel=1e-6)


@pytest.mark.parametrize("weighting", ["per_example", "paper_code"])
def test_dorpo_all_ones_equals_orpo(weighting):
    b = _orpo_batch(weights=(1.0, 1.0, 1.0, 1.0))
    orpo = ORPO(ORPOParams()).compute(b).loss
    dorpo = DORPO(DORPOParams(weighting=weighting)).compute(b).loss
    assert torch.allclose(dorpo, orpo, rtol=0, atol=1e-6)  # log-odds in float32, as TRL


def test_dorpo_per_example_zero_weight_zero_gradient():
    b = _orpo_batch(weights=(1.0, 0.0, 1.0, 1.0))
    for k in ("chosen_logps", "rejected_logps", "chosen_nll_sum"):
        b[k] = b[k].clone().requires_grad_(True)
    obj = DORPO(DORPOParams(nll_reduction="example_mean"))
    obj.reduce(obj.compute(b).loss, b).backward()
    for k in ("chosen_logps", "rejected_logps", "chosen_nll_sum"):
        assert float(b[k].grad[1]) == 0.0 and float(b[k].grad[0]) != 0.0


def test_declarations():
    assert DPO(DPOParams()).needs_reference and DPO(DPOParams()).logprob_reduction == "sum"
    assert DDPO(DDPOParams(weight_column="w")).columns == ("w",)
    orpo = ORPO(ORPOParams())
    assert not orpo.needs_reference and orpo.logprob_reduction == "mean" and orpo.needs_nll
    assert DORPO(DORPOParams()).columns == ("weight",)


def test_divpo_refuses_other_pair_builders():
    obj = DivPO(DivPOParams())
    rows = {"pair_builder": ["divpo", "divpo"]}
    obj.check_dataset(["prompt", "pair_builder"], rows.__getitem__)
    with pytest.raises(UserError, match="gap_disjoint"):
        obj.check_dataset(["pair_builder"], {"pair_builder": ["divpo", "gap_disjoint"]}.__getitem__)
    with pytest.raises(UserError, match="no 'pair_builder' column"):
        obj.check_dataset(["prompt"], {}.__getitem__)


def test_weighted_objective_refuses_missing_or_negative_weights():
    obj = DDPO(DDPOParams())
    with pytest.raises(UserError, match="weight"):
        obj.check_dataset(["prompt"], {}.__getitem__)
    with pytest.raises(UserError, match=">= 0"):
        obj.check_dataset(["weight"], {"weight": [1.0, -0.5]}.__getitem__)
