"""``report.html``: one self-contained page — figures, tables and a sample browser.

Nothing is fetched: the figures are SVG ``data:`` URIs (the plot reporter's SVG files when it
ran first, as in the default reporters; else drawn with this reporter's figure parameters), the style and the script are inline, and
a Content-Security-Policy forbids every other source, so the page works from ``file://`` and
offline. The samples come from ``samples.jsonl`` (published next to the report before the
reporters run); the page's script renders them with ``textContent`` only, and the data block is
JSON with ``<`` written as ``\\u003c``, so no text of a sample, a prompt or a system name can
become markup. Without ``samples.jsonl`` (e.g. a report made by ``divtools compare``) the page
says so and shows the figures and tables.
"""

from __future__ import annotations

import base64
import html
import io
import json
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from divtools.api import Reporter
from divtools.atomic import write_text
from divtools.reporters import display_name, headline_labels, label_order, metric_labels, system_order

__all__ = ["HtmlReporter", "page_data", "render_html"]

TEMPLATE = "report_page.html"
SAMPLES_FILE = "samples.jsonl"

CAPTIONS = {
    "quality_vs_diversity": "Quality against diversity: one point per system, bars = 95% bootstrap CI over "
                            "prompts; the star is the human data; right = more diverse.",
    "quality_vs_diversity_grid": "Every quality scorer against every diversity metric (arrows point to more "
                                 "diversity; rev. = reversed axis, lower values are more diverse).",
    "effective_diversity": "Effective diversity: diversity of the samples whose quality passes τ against the "
                           "share that pass, one point per τ; n = prompts with at least 2 passing samples, "
                           "shown where it is small.",
}


def _json_for_script(data: Any) -> str:
    """JSON that cannot close its ``<script>`` element or start markup."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def read_samples(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def page_data(report: Mapping[str, Any], samples: list[dict], max_prompts: int) -> dict:
    """What the sample browser shows: prompts, systems, per-prompt values and samples."""
    prompts = report.get("prompts") or {}
    pids = [pid for pid in (report["protocol"].get("prompt_ids") or list(prompts))][:max_prompts]
    keep = set(pids)
    by_prompt: dict[str, dict[str, list]] = {}
    for row in samples:
        if row.get("prompt_id") not in keep or "response" not in row:
            continue
        by_prompt.setdefault(row["prompt_id"], {}).setdefault(row["system"], []).append(
            {"k": row["k"], "text": row["response"], "scores": row.get("scores") or {},
             "deviations": row.get("deviations") or {}})
    for systems in by_prompt.values():
        for rows in systems.values():
            rows.sort(key=lambda r: r["k"])
    per_prompt = {
        name: {pid: {label: (report["results"][name].get(label) or {}).get("per_prompt", {}).get(pid)
                     for label in label_order(report)} for pid in pids}
        for name in system_order(report) if name in report["results"]
    }
    total = len(report["protocol"].get("prompt_ids") or prompts)
    note = ""
    if not samples:
        note = "No samples.jsonl next to this report: the sample browser is empty."
    elif total > len(pids):
        note = f"The first {len(pids)} of {total} prompts (html reporter's max_prompts)."
    return {
        "prompts": [{"id": pid, "text": prompts.get(pid, "")} for pid in pids] if samples else [],
        "systems": [{"name": n, "role": report["systems"][n].get("role"),
                     "label": display_name(n, report["systems"][n])} for n in system_order(report)],
        "scorers": [k for k in label_order(report) if report["labels"][k].get("type") == "scorer"],
        "metrics": metric_labels(report),
        "per_prompt": per_prompt,
        "samples": by_prompt,
        "note": note,
    }


def _svgs(report: Mapping[str, Any], params: Any, out_dir: Path | None) -> dict[str, bytes]:
    """stem -> SVG bytes: the plot reporter's SVG files when it already wrote them into
    ``out_dir`` (the same figures, drawn once), else drawn here with this reporter's params."""
    if out_dir is not None and (Path(out_dir) / "quality_vs_diversity.svg").exists():
        return {stem: (Path(out_dir) / f"{stem}.svg").read_bytes() for stem in CAPTIONS
                if (Path(out_dir) / f"{stem}.svg").exists()}
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from divtools.reporters.plot_report import _rc, figures

    out = {}
    for stem, fig in figures(report, params).items():
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        with matplotlib.rc_context(_rc(params)):
            fig.savefig(buf, format="svg", metadata={"Date": None})
        out[stem] = buf.getvalue()
    return out


def _figures_html(report: Mapping[str, Any], params: Any, out_dir: Path | None = None) -> str:
    parts = []
    for stem, svg in _svgs(report, params, out_dir).items():
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        parts.append(f'<figure id="fig-{stem}"><img alt="{html.escape(stem)}" src="{uri}">'
                     f"<figcaption>{html.escape(CAPTIONS.get(stem, stem))}</figcaption></figure>")
    return '<div class="figures">' + "".join(parts) + "</div>" if parts else "<p class=\"muted\">No figures.</p>"


def _table_html(report: Mapping[str, Any], cols: list[str], digits: int, table_id: str) -> str:
    from divtools.reporters.markdown_report import format_interval

    labels = report["labels"]

    def head(label: str) -> str:
        meta = labels[label]
        arrow = (" ↑" if meta.get("higher_is_more_diverse", True) else " ↓") if meta.get("type") == "metric" else ""
        return f"<th>{html.escape(label)}{arrow}</th>"

    rows = []
    for name in system_order(report):
        info = report["systems"][name]
        cells = [f"<td>{html.escape(display_name(name, info))}</td>",
                 f"<td>{info.get('n_prompts_complete', '')}</td>"]
        cells += [f"<td>{html.escape(format_interval(report['results'].get(name, {}).get(c), digits))}</td>"
                  for c in cols]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="{table_id}"><thead><tr><th>system</th><th>prompts</th>' + "".join(head(c) for c in cols)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def render_html(report: Mapping[str, Any], samples: list[dict], params: Any, out_dir: Path | None = None) -> str:
    from divtools.reporters.markdown_report import protocol_line

    template = resources.files("divtools.builtins").joinpath("data", TEMPLATE).read_text(encoding="utf-8")
    protocol = protocol_line(report, esc=html.escape)
    body = ["<h1>Evaluation report</h1>", f"<p>{protocol}</p>",
            "<h2>Figures</h2>", _figures_html(report, params, out_dir),
            "<h2>Headline</h2>", _table_html(report, headline_labels(report), params.digits, "headline"),
            "<details><summary>All metrics and scorers</summary>",
            _table_html(report, label_order(report), params.digits, "full"), "</details>"]
    data = page_data(report, samples, params.max_prompts)
    return (template.replace("<!--DIVTOOLS:BODY-->", "\n".join(body))
            .replace("<!--DIVTOOLS:DATA-->", _json_for_script(data)))


class HtmlReporter(Reporter):
    def __init__(self, params: Any) -> None:
        self.params = params

    def write(self, report: Mapping[str, Any], out_dir: Path) -> list[Path]:
        out_dir = Path(out_dir)
        samples = read_samples(out_dir / SAMPLES_FILE)
        return [write_text(out_dir / "report.html", render_html(report, samples, self.params, out_dir))]
