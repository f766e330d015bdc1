"""Cleaning rules and drop report, the split by prompt, and the vote transform."""

from __future__ import annotations

import math

import numpy as np
import pytest

from divtools.data.cleaning import clean_groups, strip_title_tag
from divtools.data.score_transform import ScoreTransform
from divtools.data.split import split_groups
from divtools.spec.prepare import CleaningSpec

from .conftest import make_group


def test_strip_title_tag_removes_only_the_first_leading_tag():
    assert strip_title_tag("[WP] A title") == "A title"
    assert strip_title_tag("  [ WP ]A title [OT]") == "A title [OT]"
    assert strip_title_tag("[WP][EU] Both") == "[EU] Both"
    assert strip_title_tag("No tag [WP]") == "No tag [WP]"


def test_every_rule_is_counted_and_one_response_prompts_are_dropped():
    big = "x" * 1_000_000
    g1 = make_group("a", ["Good story.", "  ", "[deleted]", "[removed]", "**Welcome to the Prompt!** read the rules",
                          "Mods: this submission has been removed", "Good story. ", big, "Another one."])
    g2 = make_group("b", ["Lonely answer.", "[deleted]"])  # one response left -> prompt dropped
    kept, report = clean_groups([g1, g2], CleaningSpec())
    assert [g.prompt_id for g in kept] == ["a"]
    assert [r.text for r in kept[0].responses] == ["Good story.", "Another one."]
    assert report.responses == {"empty": 1, "deleted": 3, "bot_comment": 2, "duplicate": 1,
                                "too_long_chars": 1, "prompt_too_few_responses": 1}
    assert report.prompts == {"too_few_responses": 1}
    total_in = len(g1.responses) + len(g2.responses)
    assert report.as_dict()["responses_total"] + sum(len(g.responses) for g in kept) == total_in  # nothing lost silently


def test_rules_can_be_switched_off():
    g = make_group("a", ["[deleted]", "same", "same", "y" * 200_001])
    spec = CleaningSpec(drop_deleted=False, drop_duplicates=False, max_chars=None)
    kept, report = clean_groups([g], spec)
    assert len(kept[0].responses) == 4 and not report.responses


def test_token_budget_uses_the_chat_template(tmp_path):
    from divtools.models.tiny import build_tiny_tokenizer, default_texts

    tok = build_tiny_tokenizer(default_texts())
    tok.save_pretrained(tmp_path)
    texts = ["the king walks", "the old king walks by the river " * 20, "a star"]
    g = make_group("t", texts)
    lengths = [len(tok.apply_chat_template([{"role": "user", "content": g.prompt},
                                            {"role": "assistant", "content": t}], tokenize=False)) for t in texts]
    ids = [len(tok(tok.apply_chat_template([{"role": "user", "content": g.prompt},
                                            {"role": "assistant", "content": t}], tokenize=False),
                   add_special_tokens=False)["input_ids"]) for t in texts]
    limit = sorted(ids)[1]  # keeps the two shorter ones
    assert lengths[1] > lengths[0]
    spec = CleaningSpec(max_tokens={"tokenizer": str(tmp_path), "limit": limit})
    kept, report = clean_groups([g], spec)
    assert [r.text for r in kept[0].responses] == [texts[0], texts[2]]
    assert report.responses == {"too_long_tokens": 1}


def test_split_by_prompt_is_seeded_and_order_free():
    groups = [make_group(f"p{i:03d}", ["a", "b"]) for i in range(200)]
    train, held = split_groups(groups, eval_fraction=0.1, seed=42)
    assert len(held) == 20 and len(train) == 180
    assert not {g.prompt_id for g in train} & {g.prompt_id for g in held}
    again = split_groups(list(reversed(groups)), eval_fraction=0.1, seed=42)[1]
    assert {g.prompt_id for g in again} == {g.prompt_id for g in held}
    other = split_groups(groups, eval_fraction=0.1, seed=43)[1]
    assert {g.prompt_id for g in other} != {g.prompt_id for g in held}
    assert split_groups(groups, eval_fraction=0.0, seed=1) == (groups, [])
    assert len(split_groups(groups[:3], eval_fraction=0.1, seed=1)[1]) == 1  # never an empty eval side


def hand_transform(votes, x):
    """docs/method.md §2 written out: shift so min is 1, log(1+x) 100 times, min-max to [-1, 1]."""
    shift = 1 - min(votes)

    def squash(v):
        v = v + shift
        for _ in range(100):
            v = math.log(1 + v)
        return v

    lo, hi = squash(min(votes)), squash(max(votes))
    return 2 * (squash(x) - lo) / (hi - lo) - 1


@pytest.mark.parametrize("votes", [[1, 2, 5, 40, 900], [0, 0, 3, 7, 120], [-12, -1, 0, 4, 55]])
def test_score_transform_matches_the_formula_for_any_minimum(votes):
    t = ScoreTransform.fit(votes)
    got = t(votes)
    assert got.tolist() == pytest.approx([hand_transform(votes, v) for v in votes], abs=1e-9)
    assert got[0] == -1.0 and got[-1] == 1.0 and np.all(np.diff(got) >= 0) and np.all(np.isfinite(got))


def test_score_transform_is_shift_invariant_unlike_the_reference():
    votes = np.array([0.0, 1, 2, 5, 10, 100, 1000])
    base = ScoreTransform.fit(votes)(votes)
    for c in (-50.0, 1.0, 7.0):
        assert ScoreTransform.fit(votes + c)(votes + c).tolist() == pytest.approx(base.tolist(), abs=1e-9)
    # the reference (no shift) crowds every non-minimal vote into [0.93, 1] when min is 0
    f = votes.copy()
    for _ in range(100):
        f = np.log1p(f)
    reference = 2 * (f - f.min()) / (f.max() - f.min()) - 1
    assert reference[1:].min() > 0.93 and base[1] < -0.2
    assert ScoreTransform.fit([3, 3])([3, 3]).tolist() == [0.0, 0.0]
    assert np.isfinite(ScoreTransform.fit(votes)([-1e6])).all()  # below the fitted range: clipped
