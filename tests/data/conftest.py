"""Shared helpers for the data tests: hand-made groups, a metric with fixed embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from divtools.api import Group, GroupResult, Metric, Pair, Response

HERE = Path(__file__).parent
KJV = HERE / "kjv_groups.jsonl"


def make_group(pid: str, texts: Sequence[str], scores: Sequence[float] | None = None) -> Group:
    scores = scores if scores is not None else [float(i) for i in range(len(texts))]
    return Group(prompt_id=pid, prompt=f"prompt {pid}",
                 responses=[Response(id=f"{pid}/{i}", text=t, score=s) for i, (t, s) in enumerate(zip(texts, scores))])


def make_pair(group: Group, chosen: int, rejected: int) -> Pair:
    return Pair(prompt_id=group.prompt_id, prompt=group.prompt, chosen=group.responses[chosen],
                rejected=group.responses[rejected], meta={"pair_builder": "hand"})


class FixedEmbeddingMetric(Metric):
    """Mean cosine distance to the other texts, from a fixed text -> vector table."""

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = {k: np.asarray(v, dtype=np.float64) / np.linalg.norm(v) for k, v in table.items()}
        self.calls: list[list[str]] = []

    def group(self, texts: Sequence[str]) -> GroupResult:
        self.calls.append(list(texts))
        e = np.stack([self.table[t] for t in texts])
        n = len(texts)
        dist = 1.0 - e @ e.T
        dev = dist.sum(axis=1) / (n - 1) if n > 1 else np.zeros(n)
        return GroupResult(deviation=dev, diversity=float(dev.mean()))


@pytest.fixture
def kjv_path() -> Path:
    return KJV
