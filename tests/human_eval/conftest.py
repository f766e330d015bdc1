"""An evaluated run to build studies from (the reporters' fixture run, three systems + human)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("reporters_run", Path(__file__).parents[1] / "reporters" / "report_data.py")
reporters_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reporters_run)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("run")
    return reporters_run.build_run(root, {"sft": 1, "dpo": 2, "ddpo": 4}, reporters=[{"kind": "json"}])
