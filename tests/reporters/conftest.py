"""Fixtures of the reporter tests (the data builders live in report_data.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_data import build_run  # noqa: E402


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return build_run(tmp_path, {"sft": 1, "dpo": 2, "ddpo": 4})
