"""METHOD.md §2 vote transform: bounds, order, shift invariance (the reference code's defect fixed)."""

from __future__ import annotations

import math

import pytest

from divtools.train.reward_targets import iterated_log1p, transform_votes


def test_hand_values():
    assert iterated_log1p(1.0, times=1) == pytest.approx(math.log(2))
    assert iterated_log1p(1.0, times=2) == pytest.approx(math.log(1 + math.log(2)))
    t = transform_votes([1, 5, 100])
    assert t[0] == -1.0 and t[-1] == 1.0 and t[0] < t[1] < t[2]
    # middle value by hand
    s = [iterated_log1p(x) for x in (1.0, 5.0, 100.0)]
    assert t[1] == pytest.approx(2 * (s[1] - s[0]) / (s[2] - s[0]) - 1)


def test_shift_makes_minimum_irrelevant():
    votes = [0, 3, 7, 50]
    assert transform_votes(votes) == pytest.approx(transform_votes([v + 1 for v in votes]))
    negative = transform_votes([-5, -2, 2, 45])
    assert all(math.isfinite(x) for x in negative) and min(negative) == -1.0 and max(negative) == 1.0


def test_equal_and_empty():
    assert transform_votes([4, 4, 4]) == [0.0, 0.0, 0.0]
    assert transform_votes([]) == []
    with pytest.raises(ValueError):
        transform_votes([1, float("nan")])
