"""``report.md`` (one compact headline table) and ``report-appendix.md`` (every table).

The headline has the systems as rows and the spec's ``headline`` labels (default: every metric
and scorer) as columns, each cell ``mean [low, high]`` of the 95% bootstrap CI. A mean is given
to ``digits`` significant digits and its interval's bounds to the same decimal place, so a
column reads at one precision. Names and labels are escaped: a ``|``, a line break or raw HTML
in a system name stays text in its cell.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any, Mapping

from divtools.api import Reporter
from divtools.atomic import write_text
from divtools.reporters import display_name, headline_labels, label_order, system_order
from divtools.reporters.extras_markdown import Formats, extras_sections

__all__ = ["APPENDIX", "MarkdownReporter", "escape", "format_interval", "format_number", "protocol_line",
           "render_appendix", "render_markdown"]

APPENDIX = "report-appendix.md"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")


def escape(text: Any) -> str:
    """Text safe in a table cell or heading: HTML's ``<``, ``>``, ``&`` as entities; ``|``, ``*``,
    backticks and backslashes backslash-escaped; line breaks and other control characters shown
    as ``\\n``-style escapes (one line, nothing rendered)."""
    text = str(text).replace("\\", "\\\\")
    text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii").replace("\\", "\\\\"), text)
    text = html.escape(text, quote=False)
    return re.sub(r"([|*`])", r"\\\1", text)


def format_number(value: float | None, digits: int = 3) -> str:
    """``digits`` significant digits; plain integers for large magnitudes; ``–`` for none."""
    if value is None or not math.isfinite(value):
        return "–"
    if digits and abs(value) >= 10**digits:
        return f"{value:.0f}"
    return f"{value:.{max(digits, 1)}g}"


def decimals_for(value: float, digits: int) -> int:
    """Decimal places that give ``value`` ``digits`` significant digits (0 for large values)."""
    if value == 0 or not math.isfinite(value):
        return max(digits - 1, 0)
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def format_interval(entry: Mapping[str, Any] | None, digits: int = 3) -> str:
    """``mean [low, high]``: the mean to ``digits`` significant digits, the bounds to the same
    decimal place (so ``0.947 [0.912, 0.973]``, ``123 [118, 129]``); ``–`` when undefined."""
    if not entry or entry.get("mean") is None:
        return "–"
    mean = float(entry["mean"])
    places = min(decimals_for(mean, max(digits, 1)), 12)
    if entry.get("ci95") is None:
        return f"{mean:.{places}f}"
    low, high = entry["ci95"]
    return f"{mean:.{places}f} [{low:.{places}f}, {high:.{places}f}]"


def _header(label: str, meta: Mapping[str, Any]) -> str:
    if meta.get("type") == "metric":
        return f"{escape(label)} {'↑' if meta.get('higher_is_more_diverse', True) else '↓'}"
    return escape(label)


def _runs_setting(report: Mapping[str, Any], key: str) -> str:
    """A protocol setting; for a merged report, each input's value when they differ."""
    merged = report.get("merged_from")
    values = [m["protocol"].get(key) for m in merged] if merged else [report["protocol"].get(key)]
    distinct = list(dict.fromkeys(values))
    return str(distinct[0]) if len(distinct) == 1 else " / ".join(str(v) for v in values) + " (per report)"


def _system_cell(name: str, info: Mapping[str, Any]) -> str:
    return escape(display_name(name, info))


def protocol_line(report: Mapping[str, Any], esc: Any = None) -> str:
    """One sentence on N, the prompts and the intervals; ``esc`` escapes the gold system's name
    (default: for Markdown)."""
    esc = esc or escape
    protocol = report["protocol"]
    gold = protocol.get("gold")
    return (
        f"N = {protocol['samples_per_prompt']} samples per prompt ({protocol['samples_per_prompt_source']}); "
        f"{protocol['n_prompts']} prompts"
        + (f" (limit {protocol['limit']}: {protocol['n_prompts_requested']} requested, "
           f"{protocol.get('n_prompts_eligible')} of {protocol.get('n_prompts_listed')} listed eligible, "
           f"{protocol['n_prompts']} used)" if protocol.get("limit") is not None else "")
        + (f" ({protocol['n_dropped_prompts']} of {protocol['n_prompts_requested']} dropped: fewer than N "
           f"responses of the gold system '{esc(gold)}')" if protocol.get("n_dropped_prompts") and protocol.get("limit") is None else "")
        + (f" ({protocol['n_dropped_prompts']} passed over: fewer than N responses of the gold system "
           f"'{esc(gold)}')" if protocol.get("n_dropped_prompts") and protocol.get("limit") is not None else "")
        + f". Cells: mean over prompts [{protocol['ci']}, {_runs_setting(report, 'bootstrap_samples')} resamples, "
        f"seed {_runs_setting(report, 'seed')}]. ↑/↓: higher/lower is more diverse."
    )


def results_table(report: Mapping[str, Any], cols: list[str], digits: int) -> list[str]:
    """Systems as rows, ``cols`` as columns (mean [95% CI])."""
    labels, systems, results = report["labels"], report["systems"], report["results"]
    lines = ["| system | prompts | " + " | ".join(_header(c, labels[c]) for c in cols) + " |",
             "|---|---:|" + "---:|" * len(cols)]
    for name in system_order(report):
        info = systems[name]
        row = [_system_cell(name, info), str(info.get("n_prompts_complete", ""))]
        row += [format_interval(results.get(name, {}).get(c), digits) for c in cols]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _versions(report: Mapping[str, Any]) -> list[str]:
    versions = report.get("versions", {})
    if not versions:
        return []
    plugins = ", ".join(f"{escape(k)} {escape(v)}" for k, v in sorted((versions.get("plugins") or {}).items()))
    return ["", f"divtools {versions.get('divtools')}" + (f"; plugins: {plugins}" if plugins else "")]


def _incomplete(report: Mapping[str, Any]) -> list[str]:
    """The systems lacking N samples for some prompts (those prompts are left out of their numbers)."""
    systems, n = report["systems"], report["protocol"]["samples_per_prompt"]
    incomplete = {name: systems[name] for name in system_order(report) if systems[name].get("n_incomplete_prompts")}
    if not incomplete:
        return []
    lines = ["", "## Incomplete systems", ""]
    for name, info in incomplete.items():
        shown = ", ".join(f"{escape(pid)} ({k})" for pid, k in list(info["incomplete_prompts"].items())[:10])
        more = " ..." if info["n_incomplete_prompts"] > 10 else ""
        lines.append(f"- **{escape(name)}**: {info['n_incomplete_prompts']} prompt(s) with fewer than N = {n} "
                     f"samples, left out of its numbers: {shown}{more}")
    return lines


def _degenerate(report: Mapping[str, Any]) -> list[str]:
    """The systems with prompts whose samples hold an empty or token-less text: every metric is
    NaN there (docs/metrics.md, the degenerate-text rule), left out of the means and counted."""
    systems = report["systems"]
    found = {name: systems[name] for name in system_order(report) if systems[name].get("n_degenerate_prompts")}
    if not found:
        return []
    lines = ["", "## Degenerate samples", ""]
    for name, info in found.items():
        shown = ", ".join(escape(pid) for pid in info.get("degenerate_prompts", [])[:10])
        more = " ..." if info["n_degenerate_prompts"] > 10 else ""
        lines.append(f"- **{escape(name)}**: {info['n_degenerate_prompts']} prompt(s) with an empty or "
                     f"token-less sample (no letter or digit): no metric value, left out of its means: {shown}{more}")
    return lines


def _missing_scores(report: Mapping[str, Any]) -> list[str]:
    """Scorers that left samples without a score (e.g. an LLM judge's unreadable replies): counted
    per system, left out of the means (``max_missing_share`` bounds them)."""
    lines = []
    for name in system_order(report):
        for label, cell in report["results"].get(name, {}).items():
            missing = cell.get("missing") if isinstance(cell, Mapping) else None
            if missing and missing.get("count"):
                lines.append(f"- **{escape(name)}**, {escape(label)}: {missing['count']} of {missing['of']} samples "
                             f"({missing['share']:.1%}) without a score, left out of its mean")
                lines += [f"  - {escape(note)}" for note in missing.get("notes", [])]
    return ["", "## Missing scores", "", *lines] if lines else []


def render_markdown(report: Mapping[str, Any], digits: int = 3, *, samples_file: str | None = None) -> str:
    """report.md: the protocol line, the headline table and pointers to the rest (the samples
    file published next to it, when there is one)."""
    lines = ["# Evaluation report", ""]
    merged = report.get("merged_from")
    if merged:
        lines += [f"Merged from {len(merged)} reports: " + ", ".join(f"`{escape(m['path'])}`" for m in merged), ""]
    lines += [protocol_line(report), ""]
    lines += results_table(report, headline_labels(report), digits)
    lines += ["", f"Every metric and scorer and the effective-diversity sweep: [{APPENDIX}]({APPENDIX})."]
    if samples_file:
        lines += ["", f"Every sample (generated and human) with its prompt: [{samples_file}]({samples_file}), one JSON "
                      "object per line; `report.html`, when written, shows them side by side per prompt."]
    lines += _incomplete(report)
    lines += _degenerate(report)
    lines += _missing_scores(report)
    lines += _versions(report)
    return "\n".join(lines).rstrip() + "\n"


def render_appendix(report: Mapping[str, Any], digits: int = 3) -> str:
    """report-appendix.md: the full table, the incomplete prompts and the effective-diversity tables."""
    systems = report["systems"]
    lines = ["# Evaluation report: appendix", "", protocol_line(report), "", "## All metrics and scorers", ""]
    lines += results_table(report, label_order(report), digits)
    lines += _incomplete(report)
    lines += _degenerate(report)
    effective = report.get("effective_diversity")
    if effective:
        lines += ["", f"## Effective diversity (samples with {escape(effective['quality'])} ≥ τ)", "",
                  "share: passing samples / N; a metric: its diversity over the passing samples of "
                  "prompts where at least 2 pass (n = such prompts).", ""]
        swept = list(effective["metrics"])
        for name in [n for n in system_order(report) if n in effective["systems"]]:
            curves = effective["systems"][name]
            lines += [f"### {_system_cell(name, systems.get(name, {}))}", "",
                      "| τ | share | " + " | ".join(f"{escape(m)} (n)" for m in swept) + " |",
                      "|---:|---:|" + "---:|" * len(swept)]
            for i, share in enumerate(curves["share"]):
                row = [format_number(share["tau"], digits), format_interval(share, digits)]
                for m in swept:
                    point = curves[m][i]
                    row.append(f"{format_interval(point, digits)} ({point['n_prompts']})")
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
    # utility_k's patience sweep, length control, scorer validation (reporters/extras_markdown.py)
    lines += extras_sections(report, Formats(escape, format_number, format_interval), digits)
    lines += _versions(report)
    return "\n".join(lines).rstrip() + "\n"


class MarkdownReporter(Reporter):
    def __init__(self, params: Any) -> None:
        self.digits = params.digits

    def write(self, report: Mapping[str, Any], out_dir: Path) -> list[Path]:
        out_dir = Path(out_dir)
        # evaluate publishes samples.jsonl before the reporters run (divtools.reporters)
        samples = "samples.jsonl" if (out_dir / "samples.jsonl").exists() else None
        return [write_text(out_dir / "report.md", render_markdown(report, self.digits, samples_file=samples)),
                write_text(out_dir / APPENDIX, render_appendix(report, self.digits))]
