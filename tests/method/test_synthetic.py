"""divtools.synthetic: the generator is seeded, its knobs do what they say, and the checker
recovers the truth exactly; the per-prompt statistics against hand values."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from divtools.synthetic import ADJECTIVES, MODES, TaskConfig, check, generate, prompt_stats, vocabulary_texts


def test_modes_share_no_word():
    words = [w for nouns in MODES.values() for w in nouns]
    assert len(words) == len(set(words))
    assert not set(words) & set(ADJECTIVES)


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
    assert check("the ship is old.") == check("The ship is old") == check("the ship is old")
    assert check("the ship is old.").well_formed and check("the ship is old.").mode == "sea"
    assert check("old is ship the.").mode == "sea" and not check("old is ship the.").well_formed
    assert check("the ship is oak.").mode is None  # two modes
    assert check("the ship is ship.").mode is None  # the noun twice
    assert check("the boat is old.").mode is None  # no noun of a mode
    assert check("").mode is None
    assert not check("the ship is old old.").well_formed
    assert not check("the ship is not old.").well_formed


def test_prompt_stats_hand_values():
    texts = ["the ship is old.", "the wave is small.", "the oak is quiet.", "quiet is fox the.", "gibberish"]
    s = prompt_stats(texts)
    # valid modes: sea, sea, forest, forest -> entropy 1 bit
    assert s["mode_entropy"] == pytest.approx(1.0)
    assert s["rare_share"] == pytest.approx(2 / 5)
    assert s["modes"] == 2
    assert s["quality_share"] == pytest.approx(3 / 5)
    assert s["valid_share"] == pytest.approx(4 / 5)
    three = prompt_stats(["the ship is old.", "the oak is old.", "the tram is old."])
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
    for w in ["the", "is", *ADJECTIVES, *(n for m in config.modes for n in MODES[m])]:
        assert len(tok.tokenize(w)) == 1 and len(tok.tokenize(" " + w)) == 1, w
