"""``run: evaluate``: systems' samples -> per-prompt metric and scorer values -> reports.

Steps (each documented in ``docs/evaluation.md``):

1. Claim the output directory (:class:`divtools.rundir.RunDir`: same spec resumes, a changed
   spec is refused unless ``on_existing: restart``).
2. Read the generations files, the gold file and the prompts file; fix the prompt list and N
   (:mod:`divtools.evaluate.protocol`); subsample gold to N per prompt, dropping prompts with
   fewer.
3. Generate the backend systems' samples into ``generations/<name>.jsonl`` (resumable, through
   :func:`divtools.generation.driver.generate_to_jsonl`).
4. Per system: every metric's diversity per prompt over its N samples; every scorer per sample,
   averaged per prompt; mean and seeded bootstrap 95% CI over prompts
   (:mod:`divtools.evaluate.bootstrap`); the effective-diversity sweep if asked.
5. Write every reporter's files into a staging folder and move them into place only when all
   succeeded (``report.json`` last): an error leaves no partial report.

Nothing here imports torch; metrics, scorers and backends import what they need when built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from divtools.errors import DivtoolsError, UserError
from divtools.evaluate.bootstrap import aggregate
from divtools.evaluate.effective import effective_diversity, thresholds_for
from divtools.evaluate.measure import mean_or_nan, metric_values, missing_scores, samples_jsonl, score_samples
from divtools.evaluate.protocol import (
    Protocol,
    SystemSamples,
    check_systems,
    choose_n,
    group_system,
    prompt_list,
    subsample_gold,
)
from divtools.evaluate.provenance import components_used, recorded, runtime_versions
from divtools.evaluate.publish import publish_reports
from divtools.evaluate.rows import (
    Sample,
    groups_from_samples,
    read_prompt_ids,
    read_prompts,
    read_samples,
    samples_from_groups,
)

__all__ = ["REPORT_FORMAT", "SAMPLES_FILE", "compute_report", "evaluate", "run"]

REPORT_FORMAT = "divtools.evaluate.report/1"
#: every evaluated sample (text, scores, deviations), written next to report.json
SAMPLES_FILE = "samples.jsonl"
#: where generated systems' samples go; kept by ``on_existing: restart`` (see RunDir.open)
GENERATIONS_DIR = "generations"

def run(spec: Any, *, quiet: bool = False) -> Path:
    """Run an evaluate spec; returns the path of ``report.json``."""
    from divtools.rundir import RunDir

    rundir = RunDir.open(spec, keep_on_restart=(GENERATIONS_DIR,))
    report, samples = evaluate(spec, quiet=quiet, out_dir=rundir.path)
    extra = {SAMPLES_FILE: samples} if samples is not None else {}
    reporters = [r for r in spec.reporters if spec.html_report or r.kind != "html"]
    return publish_reports(report, reporters, rundir.path, extra=extra)


# ---------------------------------------------------------------- reading the systems
def _file_systems(spec: Any) -> tuple[dict[str, list[Sample]], dict[str, dict]]:
    samples: dict[str, list[Sample]] = {}
    sources: dict[str, dict] = {}
    if spec.generations is not None:
        rows = read_samples(spec.generations.path, only_system=spec.generations.system)
        for s in rows:
            samples.setdefault(s.system, []).append(s)
        for name in samples:
            sources[name] = {"generations": str(spec.generations.path)}
    for system in spec.systems:
        if system.generations is None:
            continue
        if system.name in samples:
            raise UserError(
                f"system '{system.name}' is named in 'systems' and also by rows of {spec.generations.path}",
                field="systems",
            )
        samples[system.name] = read_samples(system.generations.path, system=system.name,
                                            only_system=system.generations.system)
        sources[system.name] = {"generations": str(system.generations.path)}
    if spec.gold is not None and spec.gold.name in samples:
        raise UserError(f"the gold system's name '{spec.gold.name}' is also a system of the generations",
                        field="gold.name")
    return samples, sources


def _read_gold(gold: Any) -> tuple[list[Sample], dict]:
    """The gold samples (from a file or a data source, optionally cleaned) and their source record."""
    if gold.path is not None:
        samples = read_samples(gold.path, system=gold.name)
        source: dict[str, Any] = {"gold": str(gold.path)}
    else:
        from divtools.components import build, info

        loaded = build("source", gold.source)
        samples = samples_from_groups(loaded.load(), gold.name)
        comp = info("source", gold.source)
        source = {"source": gold.source.kind, "plugin": comp.plugin, "version": comp.plugin_version}
        identity = getattr(loaded, "identity", None)
        if callable(identity):
            source["identity"] = identity()
        dropped = getattr(loaded, "dropped", None)
        if dropped:
            source["bad_rows_dropped"] = dict(sorted(dropped.items()))
    if gold.cleaning is not None:
        from divtools.data.cleaning import clean_groups

        cleaned, report = clean_groups(groups_from_samples(samples), gold.cleaning)
        samples = [Sample(gold.name, g.prompt_id, g.prompt, r.text, None, i, r.meta)
                   for i, (g, r) in enumerate((g, r) for g in cleaned for r in g.responses)]
        source["cleaning"] = report.as_dict()
    if not samples:
        raise UserError("the gold data holds no responses" + (" after cleaning" if gold.cleaning else ""),
                        field="gold")
    return samples, source


def _generate(spec: Any, system: Any, prompt_ids: list[str], texts: dict[str, str], n: int,
              out_dir: Path, quiet: bool) -> tuple[list[Sample], dict]:
    from divtools.components import build, info

    try:
        from divtools.generation.driver import generate_to_jsonl
    except ImportError as exc:  # pragma: no cover - the driver ships with divtools
        raise DivtoolsError(f"generation is unavailable: {exc}") from None
    backend = build("backend", system.backend)
    k = system.num_samples or n
    seed = spec.seed if system.seed is None else system.seed
    from divtools.rundir import safe_child

    # the name is checked by the spec; safe_child also refuses a symlinked folder leading outside
    path = safe_child(out_dir, GENERATIONS_DIR, f"{system.name}.jsonl")
    generate_to_jsonl(backend, [(pid, texts[pid]) for pid in prompt_ids], path,
                      num_samples=k, seed=seed, system=system.name, quiet=quiet)
    comp = info("backend", system.backend)
    source = {"backend": system.backend.kind, "plugin": comp.plugin, "version": comp.plugin_version,
              "generations": str(path), "num_samples": k, "seed": seed}
    return read_samples(path, only_system=system.name), source


def _resolve_protocol(spec: Any, out_dir: Path, quiet: bool) -> tuple[Protocol, list[SystemSamples]]:
    files, sources = _file_systems(spec)
    gold, gold_source = _read_gold(spec.gold) if spec.gold is not None else (None, {})
    prompts_spec = spec.prompts
    prompts_file = read_prompts(prompts_spec.path) if prompts_spec and prompts_spec.path else None
    ids = None
    if prompts_spec is not None:
        ids = prompts_spec.ids if prompts_spec.ids is not None else (
            read_prompt_ids(prompts_spec.ids_file) if prompts_spec.ids_file is not None else None)
    # prompts.limit counts *eligible* prompts (with at least N gold responses): the paper's "first
    # 1,000 held-out prompts" are 1,000 evaluated prompts, however many short ones come between
    limit = prompts_spec.limit if prompts_spec else None
    order, texts = prompt_list(ids=ids, prompts_file=prompts_file, gold=gold, systems=list(files.values()), limit=None)
    backend_ks = [s.num_samples for s in spec.systems if s.backend is not None and s.num_samples]
    n, n_source = choose_n(spec.samples_per_prompt, files, backend_ks)
    protocol = Protocol(prompt_ids=order, prompts={}, n=n, n_source=n_source,
                        requested=len(order) if limit is None else limit, listed=len(order), limit=limit)
    systems: list[SystemSamples] = []
    kept, dropped = subsample_gold(gold, order, n, spec.seed) if gold is not None else ({}, {})
    eligible = [pid for pid in order if pid in kept] if gold is not None else order
    protocol.eligible = len(eligible)
    protocol.prompt_ids = eligible if limit is None else eligible[:limit]
    if protocol.prompt_ids and limit is not None:  # the short prompts passed over before the cut
        position = {pid: i for i, pid in enumerate(order)}
        last = position[protocol.prompt_ids[-1]]
        dropped = {pid: c for pid, c in dropped.items() if position[pid] < last}
    protocol.dropped = dropped
    if gold is not None:
        systems.append(SystemSamples(name=spec.gold.name, role="gold", source=gold_source,
                                     groups={pid: kept[pid] for pid in protocol.prompt_ids}))
    if not protocol.prompt_ids:
        raise UserError(
            f"no prompt is left to evaluate ({len(order)} listed, {len(protocol.dropped)} dropped for having "
            f"fewer than N = {n} gold responses)", field="samples_per_prompt")
    protocol.prompts = {pid: texts[pid] for pid in protocol.prompt_ids}
    by_name: dict[str, SystemSamples] = {}
    for name, samples in files.items():
        by_name[name] = group_system(name, "file", sources[name], samples, protocol.prompt_ids, n)
    for system in spec.systems:
        if system.backend is None:
            continue
        samples, source = _generate(spec, system, protocol.prompt_ids, texts, n, out_dir, quiet)
        by_name[system.name] = group_system(system.name, "generated", source, samples, protocol.prompt_ids, n)
    # gold first (the reference), then the top-level generations file's systems, then `systems`
    named = [s.name for s in spec.systems]
    systems += [by_name[name] for name in by_name if name not in named]
    systems += [by_name[name] for name in named]
    check_systems(systems, protocol)
    return protocol, systems


# ---------------------------------------------------------------- measuring
def compute_report(spec: Any, *, quiet: bool = False, out_dir: Path | None = None) -> dict[str, Any]:
    """The report (a JSON-able dict) for ``spec``; writes nothing but generations."""
    return evaluate(spec, quiet=quiet, out_dir=out_dir)[0]


def _validate_scorers(spec: Any, scorers: dict[str, Any]) -> list[dict[str, Any]] | None:
    """``scorer_validation``: each scorer's agreement with human pairs; below ``min_accuracy``
    a user error (exit 2)."""
    if not spec.scorer_validation:
        return None
    from divtools.evaluate.scorer_validation import check_minimum, read_pairs, validate_scorer

    kinds = {s.display: s.kind for s in spec.scorers}
    out = []
    for i, check in enumerate(spec.scorer_validation):
        pairs = read_pairs(check.pairs, check.columns.model_dump())
        record = validate_scorer(scorers[check.scorer], pairs, kind=kinds[check.scorer],
                                 position_bias=check.position_bias)
        record.update(scorer=check.scorer, pairs=str(check.pairs), min_accuracy=check.min_accuracy)
        check_minimum(check.scorer, record, check.min_accuracy, str(check.pairs),
                      f"scorer_validation[{i}].min_accuracy")
        out.append(record)
    return out


def evaluate(spec: Any, *, quiet: bool = False, out_dir: Path | None = None) -> tuple[dict[str, Any], str | None]:
    """The report, and the text of ``samples.jsonl`` (one line per evaluated sample: its text,
    scores and deviations)."""
    from divtools import __version__
    from divtools.components import build

    out_dir = Path(spec.output.dir) if out_dir is None else out_dir
    metric_labels = [m.display for m in spec.metrics]
    scorer_labels = [s.display for s in spec.scorers]
    # built before generating, so a component that cannot be built fails before hours of sampling
    # (components load their models on first use)
    metrics = {m.display: build("metric", m) for m in spec.metrics}
    scorers = {s.display: build("scorer", s) for s in spec.scorers}
    validation = _validate_scorers(spec, scorers)  # refuses a scorer below its min_accuracy, before generating
    protocol, systems = _resolve_protocol(spec, out_dir, quiet)
    # metrics that map values by the run's own distribution (utility_k's quality deciles) see
    # every system's groups first, so all systems share one scale
    all_groups = [[s.response for s in system.groups[pid]] for system in systems for pid in system.groups]
    all_prompts = [system.groups[pid][0].prompt for system in systems for pid in system.groups]
    for label in metric_labels:
        metrics[label].calibrate(all_groups, all_prompts)

    results: dict[str, dict[str, Any]] = {}
    sample_scores: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    sample_deviations: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for system in systems:
        pids = [pid for pid in protocol.prompt_ids if pid in system.groups]
        res: dict[str, Any] = {}
        sample_deviations[system.name] = {}
        for label in metric_labels:
            extras: dict[str, dict[str, float]] = {}
            values, sample_deviations[system.name][label] = metric_values(metrics[label], system, pids, label, quiet, extras)
            res[label] = aggregate(values, seed=spec.seed, samples=spec.bootstrap_samples, system=system.name, label=label)
            if extras:  # e.g. utility_k's patience sweep, each aggregated like the main value
                res[label]["extras"] = {name: aggregate(v, seed=spec.seed, samples=spec.bootstrap_samples,
                                                        system=system.name, label=f"{label}:{name}")
                                        for name, v in extras.items()}
        flat = [s for pid in pids for s in system.groups[pid]]
        sample_scores[system.name] = {}
        for label in scorer_labels:
            before = len(getattr(scorers[label], "unscored", ()))
            scores = score_samples(scorers[label], flat, label, system.name, quiet)
            per_sample = {pid: scores[i * protocol.n:(i + 1) * protocol.n] for i, pid in enumerate(pids)}
            sample_scores[system.name][label] = per_sample
            per_prompt = {pid: mean_or_nan(v) for pid, v in per_sample.items()}
            res[label] = aggregate(per_prompt, seed=spec.seed, samples=spec.bootstrap_samples, system=system.name, label=label)
            res[label]["missing"] = missing_scores(scorers[label], scores, before, spec, label, system.name)
        results[system.name] = res

    effective = None
    if spec.effective_diversity is not None:
        eff = spec.effective_diversity
        quality = eff.quality or scorer_labels[0]
        swept = eff.metrics or metric_labels
        pooled = np.concatenate([v for sys in sample_scores.values() for v in sys[quality].values()] or [np.array([])])
        taus = thresholds_for(pooled, eff.thresholds, eff.quantiles)
        effective = {
            "quality": quality,
            "thresholds": taus,
            "metrics": swept,
            "systems": {
                system.name: effective_diversity(
                    system, sample_scores[system.name][quality], {label: metrics[label] for label in swept},
                    taus, n=protocol.n, seed=spec.seed, samples=spec.bootstrap_samples, quiet=quiet,
                )
                for system in systems
            },
        }

    length = None
    if spec.length_control is not None:
        from divtools.evaluate.length_control import length_control

        lc = spec.length_control
        length = length_control(systems, {label: metrics[label] for label in (lc.metrics or metric_labels)},
                                sample_deviations, bins=lc.bins, resamples=lc.resamples, unit=lc.unit,
                                n=protocol.n, seed=spec.seed, bootstrap_samples=spec.bootstrap_samples)

    used = components_used(spec)
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "versions": {
            "divtools": __version__,
            "plugins": {c["plugin"]: c["version"] for c in used},
            "python": _python_version(),
            "numpy": np.__version__,
            **runtime_versions(),  # torch, transformers, trl ... when the run used them
        },
        "components": used,
        "spec": recorded(spec),
        "protocol": protocol.record(seed=spec.seed, bootstrap_samples=spec.bootstrap_samples,
                                    gold=spec.gold.name if spec.gold else None),
        "prompts": protocol.prompts,
        "labels": _labels(spec, metrics),
        # report.json sorts keys; tables and plots follow these orders (gold first, then the spec's)
        "order": {"systems": [s.name for s in systems], "labels": [*metric_labels, *scorer_labels]},
        "systems": {
            s.name: {
                "role": s.role,
                "source": s.source,
                "n_prompts_complete": len(s.groups),
                "incomplete_prompts": dict(s.incomplete),
                "n_incomplete_prompts": len(s.incomplete),
                # the degenerate-text rule (divtools.api.measure_groups): these prompts' groups hold an empty or
                # token-less sample, so every metric is NaN there and left out of its mean
                "degenerate_prompts": _degenerate_prompts(s),
                "n_degenerate_prompts": len(_degenerate_prompts(s)),
            }
            for s in systems
        },
        "results": results,
        "effective_diversity": effective,
        "length_control": length,
        "scorer_validation": validation,
    }
    samples = samples_jsonl(systems, sample_scores, scorer_labels, sample_deviations, metric_labels)
    return report, samples


def _degenerate_prompts(system: SystemSamples) -> list[str]:
    """Prompt ids whose N samples hold a text with no letter or digit (docs/metrics.md)."""
    from divtools.api import is_degenerate_text

    return [pid for pid, group in system.groups.items() if any(is_degenerate_text(s.response) for s in group)]


def _python_version() -> str:
    import platform

    return platform.python_version()


def _labels(spec: Any, metrics: dict[str, Any]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for m in spec.metrics:
        out[m.display] = {
            "type": "metric",
            "kind": m.kind,
            "params": recorded(m),
            "higher_is_more_diverse": bool(getattr(metrics[m.display], "higher_is_more_diverse", True)),
        }
    for s in spec.scorers:
        out[s.display] = {"type": "scorer", "kind": s.kind, "params": recorded(s)}
    return out


