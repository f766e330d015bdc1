"""``report.md``: systems as rows, metrics and scorers as columns, each ``mean [low, high]``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from divtools.api import Reporter
from divtools.atomic import write_text
from divtools.reporters import label_order, system_order

__all__ = ["MarkdownReporter", "format_number", "render_markdown"]


def format_number(value: float | None, digits: int = 3) -> str:
    """``digits`` significant digits; plain integers for large magnitudes; ``–`` for none."""
    if value is None or not math.isfinite(value):
        return "–"
    if digits and abs(value) >= 10**digits:
        return f"{value:.0f}"
    return f"{value:.{max(digits, 1)}g}"


def _cell(entry: Mapping[str, Any] | None, digits: int) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    low, high = entry["ci95"]
    return f"{format_number(entry['mean'], digits)} [{format_number(low, digits)}, {format_number(high, digits)}]"


def _header(label: str, meta: Mapping[str, Any]) -> str:
    if meta.get("type") == "metric":
        return f"{label} {'↑' if meta.get('higher_is_more_diverse', True) else '↓'}"
    return label


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def _runs_setting(report: Mapping[str, Any], key: str) -> str:
    """A protocol setting; for a merged report, each input's value when they differ."""
    merged = report.get("merged_from")
    values = [m["protocol"].get(key) for m in merged] if merged else [report["protocol"].get(key)]
    distinct = list(dict.fromkeys(values))
    return str(distinct[0]) if len(distinct) == 1 else " / ".join(str(v) for v in values) + " (per report)"


def render_markdown(report: Mapping[str, Any], digits: int = 3) -> str:
    protocol = report["protocol"]
    labels: Mapping[str, Any] = report["labels"]
    systems: Mapping[str, Any] = report["systems"]
    results: Mapping[str, Any] = report["results"]
    lines = ["# Evaluation report", ""]
    merged = report.get("merged_from")
    if merged:
        lines += [f"Merged from {len(merged)} reports: " + ", ".join(f"`{m['path']}`" for m in merged), ""]
    gold = protocol.get("gold")
    lines.append(
        f"N = {protocol['samples_per_prompt']} samples per prompt ({protocol['samples_per_prompt_source']}); "
        f"{protocol['n_prompts']} prompts"
        + (f" ({protocol['n_dropped_prompts']} of {protocol['n_prompts_requested']} dropped: fewer than N "
           f"responses of the gold system '{gold}')" if protocol.get("n_dropped_prompts") else "")
        + f". Cells: mean over prompts [{protocol['ci']}, {_runs_setting(report, 'bootstrap_samples')} resamples, "
        f"seed {_runs_setting(report, 'seed')}]. ↑/↓: higher/lower is more diverse."
    )
    lines.append("")
    cols = label_order(report)
    lines.append("| system | prompts | " + " | ".join(_escape(_header(c, labels[c])) for c in cols) + " |")
    lines.append("|---|---:|" + "---:|" * len(cols))
    for name in system_order(report):
        info = systems[name]
        shown = f"{name} (gold)" if info.get("role") == "gold" else name
        row = [_escape(shown), str(info.get("n_prompts_complete", ""))]
        row += [_cell(results.get(name, {}).get(c), digits) for c in cols]
        lines.append("| " + " | ".join(row) + " |")
    incomplete = {n: systems[n] for n in system_order(report) if systems[n].get("n_incomplete_prompts")}
    if incomplete:
        lines += ["", "## Incomplete systems", ""]
        for name, info in incomplete.items():
            shown = ", ".join(f"{pid} ({k})" for pid, k in list(info["incomplete_prompts"].items())[:10])
            more = " ..." if info["n_incomplete_prompts"] > 10 else ""
            lines.append(
                f"- **{_escape(name)}**: {info['n_incomplete_prompts']} prompt(s) with fewer than N = "
                f"{protocol['samples_per_prompt']} samples, left out of its numbers: {_escape(shown)}{more}"
            )
    effective = report.get("effective_diversity")
    if effective:
        lines += ["", f"## Effective diversity (samples with {effective['quality']} ≥ τ)", "",
                  "share: passing samples / N; a metric: its diversity over the passing samples of "
                  "prompts where at least 2 pass (n = such prompts).", ""]
        swept = list(effective["metrics"])
        for name in [n for n in system_order(report) if n in effective["systems"]]:
            curves = effective["systems"][name]
            lines += [f"### {_escape(name)}", "",
                      "| τ | share | " + " | ".join(f"{_escape(m)} (n)" for m in swept) + " |",
                      "|---:|---:|" + "---:|" * len(swept)]
            for i, share in enumerate(curves["share"]):
                row = [format_number(share["tau"], digits), _cell(share, digits)]
                for m in swept:
                    point = curves[m][i]
                    row.append(f"{_cell(point, digits)} ({point['n_prompts']})")
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
    versions = report.get("versions", {})
    if versions:
        plugins = ", ".join(f"{k} {v}" for k, v in sorted((versions.get("plugins") or {}).items()))
        lines += ["", f"divtools {versions.get('divtools')}" + (f"; plugins: {plugins}" if plugins else "")]
    return "\n".join(lines).rstrip() + "\n"


class MarkdownReporter(Reporter):
    def __init__(self, params: Any) -> None:
        self.digits = params.digits

    def write(self, report: Mapping[str, Any], out_dir: Path) -> list[Path]:
        return [write_text(Path(out_dir) / "report.md", render_markdown(report, self.digits))]
