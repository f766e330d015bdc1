# Excerpt of novelty-bench/novelty-bench src/score.py (commit 5b22b53), MIT licence,
# Copyright (c) 2025 Yiming Zhang (see LICENSE in this folder). reward_thresholds and
# transform_raw_reward are verbatim; generation_and_partition_scores is the body of
# score_partition_rm after the reward model, and utility is the utility line of
# process_instances, each wrapped in a function. The reward model and file handling are left out.
import bisect

import numpy as np

reward_thresholds = [
    -7.71875,
    -6.28125,
    -6.0,
    -5.71875,
    -5.5,
    -5.0,
    -4.375,
    -3.4375,
    -2.046875,
]


def transform_raw_reward(reward: float) -> int:
    # score of 1 to 10
    return bisect.bisect_left(reward_thresholds, reward) + 1


def generation_and_partition_scores(raw_rewards, partition):
    scores = [transform_raw_reward(r) for r in raw_rewards]

    generation_scores = []
    partition_scores = []

    for s, p in zip(scores, partition, strict=False):
        if p == len(partition_scores):
            generation_scores.append(s)
            partition_scores.append(s)
        else:
            generation_scores.append(0)

    assert len(partition_scores) == (max(partition) + 1), (
        f"partition_scores: {partition_scores}, partition: {partition}"
    )
    return generation_scores, partition_scores


def utility(generations, generation_scores, patience):
    return np.average(
        generation_scores,
        weights=patience ** np.arange(len(generations)),
    )
