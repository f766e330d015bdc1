"""divtools.synthetic: the generator is seeded, its knobs do what they say, and the checker
recovers the truth exactly; the per-prompt statistics against hand values."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from divtools.synthetic import MODES, TaskConfig, check, generate, prompt_stats, vocabulary_texts


def test_modes_share_no_word():
    words = [w for classes in MODES.values() for ws in classes for w in ws]
    assert len(words) == len(set(words))


def test_same_seed_same_rows_other_seed_differs():
    assert generate(TaskConfig(seed=3)) == generate(TaskConfig(seed=3))
    assert generate(TaskConfig(seed=3)) != generate(TaskConfig(seed=4))


def test_checker_recovers_mode_and_quality_of_every_row():
    rows = generate(TaskConfig(n_prompts=40, seed=1))
    for row in rows["train"] + rows["eval"]:
        got = check(row["response"])
        assert (got.mode, got.well_formed) == (row["mode"], row["well_formed"]), row


def test_upvotes_favour_quality_by_more_than_the_paper_gap():
    rows = generate(TaskConfig(seed=2))["train"]
    good = [r["score"] for r in rows if r["well_formed"]]
    bad = [r["score"] for r in rows if not r["well_formed"]]
    assert min(good) - max(bad) >= 5 + 11  # every good-vs-bad pair passes gap 5; no same-level pair does
    assert max(good) - min(good) < 5 and max(bad) - min(bad) < 5


@pytest.mark.parametrize("pool_size,share,n_major", [(8, 0.625, 5), (4, 0.5, 2), (12, 0.75, 9)])
def test_pool_size_and_skew(pool_size, share, n_major):
    config = TaskConfig(n_prompts=30, pool_size=pool_size, majority_share=share, seed=5)
    rows = generate(config)["train"]
    pools = Counter(r["prompt_id"] for r in rows)
    assert set(pools.values()) == {pool_size}
    for pid in pools:
        modes = [r["mode"] for r in rows if r["prompt_id"] == pid]
        assert modes.count("sea") == n_major
        rare = [m for m in modes if m != "sea"]
        assert len(set(rare)) == min(len(rare), config.n_modes - 1)  # distinct rare modes while they last


def test_quality_mode_correlation_knob():
    rows = generate(TaskConfig(n_prompts=400, good_majority=0.9, good_rare=0.2, seed=6))["train"]
    major = [r["well_formed"] for r in rows if r["mode"] == "sea"]
    rare = [r["well_formed"] for r in rows if r["mode"] != "sea"]
    assert abs(sum(major) / len(major) - 0.9) < 0.03
    assert abs(sum(rare) / len(rare) - 0.2) < 0.03


def test_check_edge_cases():
    assert check("salty ship sails.") == check("Salty ship sails") == check("salty ship sails")
    assert check("salty ship sails.").well_formed and check("salty ship sails.").mode == "sea"
    assert check("sails ship salty.") .mode == "sea" and not check("sails ship salty.").well_formed
    assert check("salty oak sails.").mode is None  # two modes
    assert check("salty ship xyz.").mode is None  # a word of no mode
    assert check("").mode is None
    assert not check("salty ship sails sails.").well_formed


def test_prompt_stats_hand_values():
    texts = ["salty ship sails.", "calm wave rocks.", "green oak hides.", "roots fox tall.", "gibberish"]
    s = prompt_stats(texts)
    # valid modes: sea, sea, forest, forest -> entropy 1 bit
    assert s["mode_entropy"] == pytest.approx(1.0)
    assert s["rare_share"] == pytest.approx(2 / 5)
    assert s["modes"] == 2
    assert s["quality_share"] == pytest.approx(3 / 5)
    assert s["valid_share"] == pytest.approx(4 / 5)
    three = prompt_stats(["salty ship sails.", "green oak hides.", "busy tram honks."])
    assert three["mode_entropy"] == pytest.approx(math.log2(3))
    # text of no mode never looks diverse
    assert prompt_stats(["x y z", "a b c"])["mode_entropy"] == 0.0


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="n_modes"):
        TaskConfig(n_modes=1)
    with pytest.raises(ValueError, match="good_rare"):
        TaskConfig(good_rare=1.5)


def test_vocabulary_keeps_every_word_whole_in_a_tiny_tokenizer():
    from divtools.models.tiny import build_tiny_tokenizer

    config = TaskConfig()
    tok = build_tiny_tokenizer(vocabulary_texts(config), vocab_size=1024)
    for mode in config.modes:
        for words in MODES[mode]:
            for w in words:
                assert len(tok.tokenize(w)) == 1 and len(tok.tokenize(" " + w)) == 1, w
