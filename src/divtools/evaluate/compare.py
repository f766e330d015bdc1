"""``divtools compare``: merge the reports of separate evaluation runs into one table and plot.

Numbers are copied, never recomputed: each system's results in the merged report are exactly
those of the report it came from. Reports are merged only when they were made under the same
protocol — the same prompt ids and the same N — and when every label shared by two reports
means the same metric or scorer (same kind and parameters); otherwise divtools refuses.
A system name found in several reports is kept once when it is the same system: the same
source and equal results for every label both reports have (the same gold data evaluated with
different metrics gives one row holding the union of its labels). Otherwise the later one is
suffixed with its report's folder name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from divtools.errors import UserError

__all__ = ["compare_reports", "load_report", "merge_reports", "merge_samples"]


def load_report(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """(report.json path, report) for a report file or a folder holding ``report.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    if not path.exists():
        raise UserError("no report here (expected a report.json or a folder holding one)", file=str(path))
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"not a JSON report: {exc}", file=str(path)) from None
    from divtools.evaluate.run import REPORT_FORMAT

    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
        raise UserError(f"not a divtools evaluation report (format '{REPORT_FORMAT}' expected)", file=str(path))
    return path, report


def _same_protocol(first: tuple[Path, dict], other: tuple[Path, dict]) -> None:
    (p0, r0), (p1, r1) = first, other
    n0, n1 = r0["protocol"]["samples_per_prompt"], r1["protocol"]["samples_per_prompt"]
    if n0 != n1:
        raise UserError(f"made with N = {n1} samples per prompt, but {p0} with N = {n0}; "
                        "compare only runs with the same N", file=str(p1))
    ids0, ids1 = r0["protocol"]["prompt_ids"], r1["protocol"]["prompt_ids"]
    if sorted(ids0) != sorted(ids1):
        only0 = len(set(ids0) - set(ids1))
        only1 = len(set(ids1) - set(ids0))
        raise UserError(
            f"evaluated other prompts than {p0} ({only1} prompt id(s) only here, {only0} only there); "
            "compare only runs over the same prompt ids (fix them with prompts.ids or prompts.ids_file)",
            file=str(p1),
        )


def _definition(meta: dict) -> dict:
    params = {k: v for k, v in (meta.get("params") or {}).items() if k != "label"}
    return {"type": meta.get("type"), "kind": meta.get("kind"), "params": params}


def merge_reports(loaded: Sequence[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """One report holding every system of ``loaded`` (same protocol checked first)."""
    from divtools import __version__

    if not loaded:
        raise UserError("give at least one report")
    for other in loaded[1:]:
        _same_protocol(loaded[0], other)
    from divtools.reporters import label_order, system_order

    labels: dict[str, Any] = {}
    owner: dict[str, Path] = {}
    for path, report in loaded:
        for label in label_order(report):
            meta = report["labels"][label]
            if label in labels and _definition(labels[label]) != _definition(meta):
                raise UserError(
                    f"label '{label}' means {_definition(meta)} here but {_definition(labels[label])} in "
                    f"{owner[label]}; relabel one of them so a column means one thing",
                    file=str(path),
                )
            labels.setdefault(label, meta)
            owner.setdefault(label, path)

    systems: dict[str, Any] = {}
    results: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    renamed: dict[tuple[int, str], str] = {}
    for index, (path, report) in enumerate(loaded):
        for name in system_order(report):
            info = report["systems"][name]
            res = report["results"].get(name, {})
            target = name
            if name in systems:
                kept = results[name]
                same = systems[name].get("source") == info.get("source") and all(
                    kept[label] == res[label] for label in set(kept) & set(res))
                if same:  # one system: add the labels only this report has
                    results[name] = {**kept, **{label: v for label, v in res.items() if label not in kept}}
                    renamed[(index, name)] = name
                    continue
                target = f"{name}@{path.parent.name}"
                k = 2
                while target in systems:
                    target = f"{name}@{path.parent.name}#{k}"
                    k += 1
            systems[target] = {**info, "report": str(path)}
            results[target] = res
            origin[target] = path
            renamed[(index, name)] = target

    effective = _merge_effective(loaded, renamed)
    first = loaded[0][1]
    plugins: dict[str, Any] = {}
    components: list[dict] = []
    for _, report in loaded:
        plugins.update(report.get("versions", {}).get("plugins", {}))
        components += [c for c in report.get("components", []) if c not in components]
    return {
        "format": first["format"],
        "versions": {"divtools": __version__, "plugins": plugins},
        "components": components,
        "spec": None,
        "merged_from": [
            {"path": str(path), "versions": report.get("versions"), "spec": report.get("spec"),
             "protocol": report["protocol"],
             # each input system's name in the merged report (samples.jsonl is merged by it)
             "systems": {name: renamed[(index, name)] for name in system_order(report)}}
            for index, (path, report) in enumerate(loaded)
        ],
        "protocol": first["protocol"],
        "prompts": first.get("prompts", {}),
        "labels": labels,
        "order": {"systems": list(systems), "labels": list(labels)},
        "systems": systems,
        "results": results,
        "effective_diversity": effective,
    }


def _merge_effective(loaded: Sequence[tuple[Path, dict]], renamed: dict[tuple[int, str], str]) -> dict | None:
    sweeps = [(i, r["effective_diversity"]) for i, (_, r) in enumerate(loaded) if r.get("effective_diversity")]
    if not sweeps:
        return None
    quality = {s["quality"] for _, s in sweeps}
    if len(quality) != 1:
        return None  # different quality axes cannot share a plot; each report keeps its own
    metrics = [m for m in sweeps[0][1]["metrics"] if all(m in s["metrics"] for _, s in sweeps)]
    thresholds = sweeps[0][1]["thresholds"] if all(s["thresholds"] == sweeps[0][1]["thresholds"] for _, s in sweeps) else None
    systems: dict[str, Any] = {}
    for i, sweep in sweeps:
        for name, curves in sweep["systems"].items():
            target = renamed.get((i, name), name)
            systems.setdefault(target, {k: curves[k] for k in ["share", *metrics]})
    return {"quality": quality.pop(), "thresholds": thresholds, "metrics": metrics, "systems": systems}


def compare_reports(paths: Sequence[str | Path], out_dir: str | Path) -> Path:
    """Merge the reports at ``paths`` and write report.json, report.md, the plots and
    report.html (with the inputs' samples) to ``out_dir``; returns the merged report.json path."""
    from divtools.builtins.reporters import (HtmlReporterParams, JsonReporterParams, MarkdownReporterParams,
                                            PlotReporterParams)
    from divtools.evaluate.publish import publish_reports
    from divtools.evaluate.run import SAMPLES_FILE

    loaded = [load_report(p) for p in paths]
    out_dir = Path(out_dir)
    for path, _ in loaded:
        if path.parent.resolve() == out_dir.resolve():
            raise UserError(f"would overwrite the input report {path}; choose another --out", field="--out")
    merged = merge_reports(loaded)
    reporters = [JsonReporterParams(), MarkdownReporterParams(), PlotReporterParams(), HtmlReporterParams()]
    samples = merge_samples(merged)
    return publish_reports(merged, reporters, out_dir, extra={SAMPLES_FILE: samples} if samples else None)


def merge_samples(merged: dict[str, Any]) -> str:
    """The inputs' samples.jsonl lines (those next to their report.json), systems renamed as in
    the merged report; a system kept once (the same in several reports) is taken from the first.
    Inputs without samples.jsonl add nothing (report.html then shows their systems empty)."""
    from divtools.evaluate.run import SAMPLES_FILE

    lines: list[str] = []
    taken: set[str] = set()
    for entry in merged["merged_from"]:
        path = Path(entry["path"]).parent / SAMPLES_FILE
        names = {old: new for old, new in entry["systems"].items() if new not in taken}
        taken |= set(entry["systems"].values())
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("system") in names:
                row["system"] = names[row["system"]]
                lines.append(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
    return "".join(lines)
