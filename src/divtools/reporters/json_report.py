"""``report.json``: the evaluation's full record (see ``docs/evaluation.md`` for its keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from divtools.api import Reporter
from divtools.atomic import write_text

__all__ = ["JsonReporter", "dumps_report"]


def dumps_report(report: Mapping[str, Any]) -> str:
    """Key-sorted, indented JSON; NaN/inf are refused (the report stores them as null)."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


class JsonReporter(Reporter):
    def __init__(self, params: Any = None) -> None:
        self.params = params

    def write(self, report: Mapping[str, Any], out_dir: Path) -> list[Path]:
        return [write_text(Path(out_dir) / "report.json", dumps_report(report))]
