"""Report writers (registry kind ``reporter``): ``json``, ``markdown``, ``plot`` and ``html``.

Each takes the evaluation report (the dict ``report.json`` holds) and an output folder, and
returns the files it wrote. :mod:`divtools.evaluate.publish` runs them all-or-nothing; the files
published alongside the report (``samples.jsonl``) are already in that folder when they run.

This module holds what several reporters agree on: the orders of systems and labels, which
labels the headline shows, and which scorer and metric the default figure plots.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["default_axes", "display_name", "headline_labels", "is_length", "label_order", "metric_labels", "quality_labels",
           "system_order"]


def system_order(report: Mapping[str, Any]) -> list[str]:
    """System names in report order (``order.systems``; report.json's own keys are sorted)."""
    names = list((report.get("order") or {}).get("systems") or [])
    return names + [n for n in report["systems"] if n not in names]


def display_name(name: str, info: Mapping[str, Any]) -> str:
    """A system's name as figures and tables show it: the gold system marked as human data."""
    if info.get("role") == "gold" and "human" not in name.lower():
        return f"{name} (human)"
    return name


def label_order(report: Mapping[str, Any]) -> list[str]:
    """Metric and scorer labels in spec order (``order.labels``)."""
    names = list((report.get("order") or {}).get("labels") or [])
    return names + [n for n in report["labels"] if n not in names]


def is_length(meta: Mapping[str, Any]) -> bool:
    """A scorer that measures length (``length`` or a kind naming it): it is never plotted as
    quality, since longer is not better writing and length drives most diversity metrics."""
    return meta.get("type") == "scorer" and "length" in str(meta.get("kind", ""))


def metric_labels(report: Mapping[str, Any]) -> list[str]:
    return [k for k in label_order(report) if report["labels"][k].get("type") == "metric"]


def quality_labels(report: Mapping[str, Any]) -> list[str]:
    """Scorers that may stand on a quality axis (every scorer but length)."""
    return [k for k in label_order(report)
            if report["labels"][k].get("type") == "scorer" and not is_length(report["labels"][k])]


#: the default headline: this many metrics (the spec's first) ...
HEADLINE_METRICS = 3
#: ... then the scorers, up to this many columns in all (the full table is in the appendix)
HEADLINE_COLUMNS = 6


def headline_labels(report: Mapping[str, Any]) -> list[str]:
    """The spec's ``headline`` labels (those the report has); by default the first
    HEADLINE_METRICS metrics, then the scorers, HEADLINE_COLUMNS labels at most."""
    asked = (report.get("spec") or {}).get("headline")
    if asked:
        return [label for label in asked if label in report["labels"]]
    scorers = [k for k in label_order(report) if report["labels"][k].get("type") == "scorer"]
    return (metric_labels(report)[:HEADLINE_METRICS] + scorers)[:HEADLINE_COLUMNS]


def default_axes(report: Mapping[str, Any], quality: str | None = None,
                 diversity: str | None = None) -> tuple[str | None, str | None]:
    """(quality scorer, diversity metric) of the default figure: the ones asked for, else the
    first of the headline that fits, else the first of the report. Quality is ``None`` without
    a (non-length) scorer, diversity ``None`` without a metric."""
    head = headline_labels(report)
    scorers, metrics = quality_labels(report), metric_labels(report)
    if quality is None:
        quality = next((h for h in head if h in scorers), scorers[0] if scorers else None)
    if diversity is None:
        diversity = next((h for h in head if h in metrics), metrics[0] if metrics else None)
    return quality, diversity
