"""report-appendix.md sections for the evaluation extras: metric sweeps (``extras``, e.g.
utility_k's patience sweep), length control and scorer validation (docs/evaluation.md).

The markdown reporter passes its own formatters in (:class:`Formats`), so this module imports
nothing from it and the import graph stays a tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["Formats", "extras_sections"]


@dataclass(frozen=True)
class Formats:
    escape: Callable[[Any], str]
    number: Callable[..., str]
    interval: Callable[..., str]


def _sweeps(report: Mapping[str, Any], systems: list[str], digits: int, f: Formats) -> list[str]:
    lines: list[str] = []
    labels = [label for label in report.get("order", {}).get("labels", [])
              if any("extras" in (report["results"].get(s, {}).get(label) or {}) for s in systems)]
    for label in labels:
        names = list(next(report["results"][s][label]["extras"] for s in systems if "extras" in report["results"][s][label]))
        lines += ["", f"## {f.escape(label)}: sweep", "", "| system | " + " | ".join(f.escape(n) for n in names) + " |",
                  "|---|" + "---:|" * len(names)]
        for s in systems:
            extras = (report["results"].get(s, {}).get(label) or {}).get("extras", {})
            lines.append(f"| {f.escape(s)} | " + " | ".join(f.interval(extras.get(n), digits) for n in names) + " |")
    return lines


def _length(report: Mapping[str, Any], systems: list[str], digits: int, f: Formats) -> list[str]:
    lc = report.get("length_control")
    if not lc:
        return []
    edges = lc["bins"]
    lines = ["", f"## Length control (length in {lc['unit']}; bins {', '.join(f.number(e, 3) for e in edges)})", "",
             "plain: the run's value; matched: on length-matched resamples of the prompts every system has "
             f"({lc['common_prompts']}); ρ: Spearman between a sample's deviation and its length.", "",
             "| system | metric | plain | matched | ρ(dev, length) | mean length (matched) | "
             + " | ".join(f"bin {i + 1}" for i in range(max(len(edges) - 1, 1))) + " |",
             "|---|---|---:|---:|---:|---:|" + "---:|" * max(len(edges) - 1, 1)]
    for s in [s for s in systems if s in lc["systems"]]:
        entry = lc["systems"][s]
        for label in lc["metrics"]:
            plain = report["results"].get(s, {}).get(label)
            rho = entry["deviation_length_spearman"].get(label)
            bins = " | ".join(f"{f.number(b['mean'], digits)} ({b['n_prompts']})" for b in entry["per_bin"][label])
            lines.append(f"| {f.escape(s)} | {f.escape(label)} | {f.interval(plain, digits)} | "
                         f"{f.interval(entry['matched'][label], digits)} | {f.number(rho, 2)} | "
                         f"{f.number(entry['mean_length'], 1)} ({f.number(entry['matched_mean_length'], 1)}) | {bins} |")
    return lines


def _validation(report: Mapping[str, Any], f: Formats) -> list[str]:
    records = report.get("scorer_validation")
    if not records:
        return []
    lines = ["", "## Scorer validation (human preference pairs)", "",
             "| scorer | pairs | accuracy (95% CI) | longer-wins baseline | ρ(score, length) | required |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in records:
        ci = r.get("ci95") or [None, None]
        lines.append(f"| {f.escape(r['scorer'])} | {r['n']} | {f.number(r['accuracy'], 3)} [{f.number(ci[0], 3)}, {f.number(ci[1], 3)}] | "
                     f"{f.number(r['length_baseline'], 3)} | {f.number(r['score_length_spearman'], 2)} | "
                     f"{f.number(r.get('min_accuracy'), 3) if r.get('min_accuracy') is not None else '—'} |")
    return lines


def extras_sections(report: Mapping[str, Any], formats: Formats, digits: int = 3) -> list[str]:
    """Markdown lines (possibly none) for the sweeps, length control and scorer validation."""
    from divtools.reporters import system_order

    systems = [s for s in system_order(report) if s in report.get("results", {})]
    return (_sweeps(report, systems, digits, formats) + _length(report, systems, digits, formats)
            + _validation(report, formats))
