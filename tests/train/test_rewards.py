"""GRPO diversity rewards (divtools.train.rewards) against hand computations on fixed groups."""

from __future__ import annotations

import pytest

from divtools.train.rewards import darling_reward, diversity_reward, group_slices, partition_diversity

# prompt "a": four completions; prompt "b": two. TRL passes each prompt's completions together.
A = ["the cat sat down", "the cat ran", "a dog ran fast", "the cat sat"]
B = ["x y", "x z"]
PROMPTS = ["a"] * 4 + ["b"] * 2
COMPLETIONS = A + B
LENGTH = {"kind": "length"}  # quality = words: 4, 3, 4, 3 | 2, 2
UNIGRAMS = {"kind": "distinct_n", "n": 1}

# distinct-1 deviation = share of a text's words found in no other text of its group:
#   A: "down" only in t0 -> 1/4; t1: the, cat, ran all shared -> 0; t2: a, dog, fast -> 3/4; t3 -> 0
#   B: y, z -> 1/2 each
DEV = [0.25, 0.0, 0.75, 0.0, 0.5, 0.5]
WORDS = [4, 3, 4, 3, 2, 2]


def test_multiply_is_quality_times_deviation():
    reward = diversity_reward(quality=LENGTH, diversity=UNIGRAMS, combine="multiply", num_generations=None)
    got = reward(prompts=PROMPTS, completions=COMPLETIONS)
    assert got == pytest.approx([1.0, 0.0, 3.0, 0.0, 1.0, 1.0])
    assert got == pytest.approx([q * d for q, d in zip(WORDS, DEV)])


def test_add_is_quality_plus_weighted_deviation():
    reward = diversity_reward(quality=LENGTH, diversity=UNIGRAMS, combine="add", diversity_weight=0.5)
    got = reward(prompts=PROMPTS, completions=COMPLETIONS)
    assert got == pytest.approx([4.125, 3.0, 4.375, 3.0, 2.25, 2.25])


def test_darling_partition_share_floored():
    # NoveltyBench unigram test: ROUGE-1 F1 > 0.458.
    #   t0 vs t1: overlap 2, P = 2/3, R = 2/4, F = 4/7 = 0.571 -> same; t0 vs t3: F = 6/7 -> same;
    #   t0 vs t2: no shared word -> t2 opens its own class.  Classes {t0, t1, t3}, {t2}.
    #   share of the other 3 in another class: t0, t1, t3 -> 1/3; t2 -> 3/3.
    #   B: "x y" vs "x z": F = 0.5 > 0.458 -> one class -> share 0 -> DARLING's floor 0.1.
    div = [1 / 3, 1 / 3, 1.0, 1 / 3, 0.1, 0.1]
    reward = darling_reward(quality=LENGTH, partition={"kind": "unigram"}, num_generations=None)
    got = reward(prompts=PROMPTS, completions=COMPLETIONS)
    assert got == pytest.approx([q * d for q, d in zip(WORDS, div)])
    assert got == pytest.approx([4 / 3, 1.0, 4.0, 1.0, 0.2, 0.2])


def test_partition_diversity_formula():
    assert partition_diversity([0, 0, 1, 0]).tolist() == pytest.approx([1 / 3, 1 / 3, 1.0, 1 / 3])
    assert partition_diversity([0, 0]).tolist() == [0.1, 0.1]
    assert partition_diversity([0, 1, 2], floor=0.0).tolist() == [1.0, 1.0, 1.0]


def test_without_quality_the_reward_is_the_diversity():
    assert diversity_reward(diversity=UNIGRAMS)(prompts=PROMPTS, completions=COMPLETIONS) == pytest.approx(DEV)
    add = diversity_reward(diversity=UNIGRAMS, combine="add", diversity_weight=2.0)
    assert add(prompts=PROMPTS, completions=COMPLETIONS) == pytest.approx([2 * d for d in DEV])


def test_groups_by_num_generations_and_refuses_a_split_group():
    assert group_slices(["a", "a", "a", "a"], 2) == [slice(0, 2), slice(2, 4)]
    # the same prompt twice in a row is two groups when num_generations says so
    reward = diversity_reward(diversity=UNIGRAMS, num_generations=2)
    got = reward(prompts=["a"] * 4, completions=["p q", "p r", "s t", "s t"])
    assert got == pytest.approx([0.5, 0.5, 0.0, 0.0])
    with pytest.raises(ValueError, match="multiple of num_generations"):
        reward(prompts=["a"] * 3, completions=["x", "y", "z"])
    with pytest.raises(ValueError, match="different prompts"):
        reward(prompts=["a", "b", "b", "b"], completions=["x", "y", "z", "w"])


def test_degenerate_completion_is_least_diverse_and_siblings_keep_their_signal():
    reward = diversity_reward(diversity=UNIGRAMS)
    got = reward(prompts=["a"] * 3, completions=["", "p q", "p r"])
    assert got == pytest.approx([0.0, 0.5, 0.5])  # the empty one measured out; the others among themselves
    darling = darling_reward(partition={"kind": "unigram"})
    assert darling(prompts=["a"] * 2, completions=["...", "p q"]) == pytest.approx([0.1, 0.1])


def test_conversational_inputs_and_dataset_columns():
    prompts = [[{"role": "user", "content": "a"}]] * 2
    completions = [[{"role": "assistant", "content": t}] for t in ("x y", "x z")]
    reward = diversity_reward(quality={"kind": "dataset_score", "column": "stars"}, diversity=UNIGRAMS)
    got = reward(prompts=prompts, completions=completions, stars=[2.0, 4.0], trainer_state=None)
    assert got == pytest.approx([1.0, 2.0])


def test_bad_arguments_are_user_errors():
    from divtools.errors import UserError

    with pytest.raises(UserError, match="exactly one of diversity"):
        diversity_reward(quality=LENGTH)
    with pytest.raises(UserError, match="exactly one of diversity"):
        diversity_reward(diversity=UNIGRAMS, partition={"kind": "unigram"})
    with pytest.raises(UserError, match="combine"):
        diversity_reward(diversity=UNIGRAMS, combine="max")
    with pytest.raises(UserError, match="n_gram|unknown|kind"):
        diversity_reward(diversity={"kind": "no_such_metric"})
