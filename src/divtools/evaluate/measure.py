"""Applying metrics and scorers to one system's samples: per-prompt diversities and per-sample
deviations, per-sample scores with their missing-score accounting, and ``samples.jsonl``'s lines.

The evaluate run (:mod:`divtools.evaluate.run`) aggregates what these return into the report.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from divtools.api import measure_groups
from divtools.errors import DivtoolsError, UserError
from divtools.evaluate.protocol import SystemSamples
from divtools.evaluate.rows import Sample

__all__ = ["METRIC_CHUNK", "SCORER_CHUNK", "mean_or_nan", "metric_values", "missing_scores", "progress_bar",
           "samples_jsonl", "score_samples"]

#: groups handed to one Metric.groups call (embedding metrics encode a chunk in one batch)
METRIC_CHUNK = 64
#: samples handed to one Scorer.score call
SCORER_CHUNK = 256


def progress_bar(total: int, desc: str, quiet: bool, unit: str):
    from divtools.progress import progress  # a bar on a terminal, plain lines in a log

    return progress(total, desc, unit=unit, quiet=quiet)


def metric_values(metric: Any, system: SystemSamples, pids: list[str], label: str,
                   quiet: bool, extras: dict[str, dict[str, float]] | None = None,
                   ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Per prompt: the group's diversity, and each sample's deviation (for samples.jsonl);
    the metric's secondary values (``GroupResult.extras``) go into ``extras[name][pid]``."""
    out: dict[str, float] = {}
    deviations: dict[str, np.ndarray] = {}
    bar = progress_bar(len(pids), f"{label} [{system.name}]", quiet, "prompt")
    try:
        for start in range(0, len(pids), METRIC_CHUNK):
            chunk = pids[start:start + METRIC_CHUNK]
            results = measure_groups(metric, [[s.response for s in system.groups[pid]] for pid in chunk],
                                     [system.groups[pid][0].prompt for pid in chunk])
            if len(results) != len(chunk):
                raise DivtoolsError(f"metric '{label}' returned {len(results)} results for {len(chunk)} groups")
            for pid, result in zip(chunk, results):
                out[pid] = float(result.diversity)
                deviations[pid] = np.asarray(result.deviation, dtype=np.float64)
                if extras is not None:
                    for name, value in getattr(result, "extras", {}).items():
                        extras.setdefault(name, {})[pid] = float(value)
            bar.update(len(chunk))
    finally:
        bar.close()
    return out, deviations


def score_samples(scorer: Any, samples: list[Sample], label: str, system: str, quiet: bool) -> np.ndarray:
    out = np.empty(len(samples), dtype=np.float64)
    bar = progress_bar(len(samples), f"{label} [{system}]", quiet, "sample")
    try:
        for start in range(0, len(samples), SCORER_CHUNK):
            chunk = samples[start:start + SCORER_CHUNK]
            values = np.asarray(scorer.score([s.prompt for s in chunk], [s.response for s in chunk],
                                             [s.row for s in chunk]), dtype=np.float64)
            if values.shape != (len(chunk),):
                raise DivtoolsError(f"scorer '{label}' returned {values.shape} scores for {len(chunk)} samples")
            out[start:start + len(chunk)] = values
            bar.update(len(chunk))
    finally:
        bar.close()
    return out


def missing_scores(scorer: Any, scores: np.ndarray, before: int, spec: Any, label: str, system: str) -> dict[str, Any]:
    """How many of a system's samples the scorer left without a score (NaN), with a few of the
    scorer's own explanations; past the scorer's ``max_missing_share`` a user error (exit 2)."""
    count = int(np.count_nonzero(~np.isfinite(scores)))
    examples = list(getattr(scorer, "unscored", ())[before:before + 3])
    record = {"count": count, "of": len(scores), "share": count / len(scores) if len(scores) else 0.0,
              "examples": examples, "notes": list(getattr(scorer, "notes", ()))}
    index, params = next((i, s) for i, s in enumerate(spec.scorers) if s.display == label)
    if count and record["share"] > params.max_missing_share:
        shown = "; ".join(examples) or "(the scorer gave no reason)"
        raise UserError(
            f"scorer '{label}' left {count} of {len(scores)} samples of system '{system}' without a score "
            f"({record['share']:.1%}, more than max_missing_share {params.max_missing_share:g}); e.g. {shown}. "
            "Use a stronger judge, raise reask, or raise max_missing_share to accept the gaps",
            field=f"scorers[{index}].max_missing_share",
        )
    return record


def mean_or_nan(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


def _finite_or_none(values: Any, k: int) -> float | None:
    if values is None or k >= len(values):
        return None
    v = float(values[k])
    return v if math.isfinite(v) else None


def samples_jsonl(systems: list[SystemSamples], scores: dict[str, dict[str, dict[str, np.ndarray]]],
                   labels: list[str], deviations: dict[str, dict[str, dict[str, np.ndarray]]],
                   metric_labels: list[str]) -> str:
    """One line per evaluated sample: where it came from, its text, each scorer's value and its
    deviation under each metric (what report.html's sample browser and ``human-eval make`` read)."""
    lines = []
    for system in systems:
        for pid in system.groups:
            for k, sample in enumerate(system.groups[pid]):
                values = {label: _finite_or_none(scores[system.name][label].get(pid), k) for label in labels}
                devs = {label: _finite_or_none(deviations[system.name][label].get(pid), k)
                        for label in metric_labels}
                row = {"system": system.name, "prompt_id": pid, "k": k, "id": sample.row.get("id"),
                       "sample": sample.sample, "response": sample.response, "scores": values,
                       "deviations": devs}
                lines.append(json.dumps(row, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n")
    return "".join(lines)
