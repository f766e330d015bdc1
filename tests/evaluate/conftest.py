"""Fixtures for the evaluation tests (data builders live in evaluate_data.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from evaluate_data import generation_rows, write_jsonl  # noqa: E402


@pytest.fixture
def gens(tmp_path: Path) -> Path:
    """A generations file: systems ``diverse`` and ``echo``, 8 prompts, 4 samples each."""
    return write_jsonl(tmp_path / "gens.jsonl", generation_rows())
