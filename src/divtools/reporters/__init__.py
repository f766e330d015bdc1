"""Report writers (registry kind ``reporter``): ``json``, ``markdown`` and ``plot``.

Each takes the evaluation report (the dict ``report.json`` holds) and an output folder, and
returns the files it wrote. :mod:`divtools.evaluate.publish` runs them all-or-nothing.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["label_order", "system_order"]


def system_order(report: Mapping[str, Any]) -> list[str]:
    """System names in report order (``order.systems``; report.json's own keys are sorted)."""
    names = list((report.get("order") or {}).get("systems") or [])
    return names + [n for n in report["systems"] if n not in names]


def label_order(report: Mapping[str, Any]) -> list[str]:
    """Metric and scorer labels in spec order (``order.labels``)."""
    names = list((report.get("order") or {}).get("labels") or [])
    return names + [n for n in report["labels"] if n not in names]
