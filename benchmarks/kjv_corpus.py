"""The benchmark texts: n real, human-written two-verse texts from the KJV Proverbs (public
domain; tests/metrics/data holds the copy, see its README). Shared by the metric benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "metrics" / "data" / "kjv_proverbs.jsonl"


def corpus(n: int) -> list[str]:
    """``n`` texts, each two verses, cycling through the 388 verses in a fixed order."""
    verses = [json.loads(line)["text"] for line in DATA.open(encoding="utf-8")]
    return [verses[i % len(verses)] + " " + verses[(i + 1 + i // len(verses)) % len(verses)] for i in range(n)]
