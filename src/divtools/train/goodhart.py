"""The Goodhart guard: does a training signal reuse what the evaluation measures?

A model trained to raise a metric's deviation (DDPO weights, DivPO's criterion, a GRPO reward)
or a scorer's value will raise that metric and scorer at evaluation whether or not it became more
diverse or better in any other sense. This module compares the components of a training signal
with those of an evaluation and names every component they share: the metric or scorer itself,
or one nested in it (the embedder of an embedding metric, the equivalence test of distinct_k,
the quality scorer of utility_k). Pure functions on spec entries; no model is loaded.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

__all__ = ["IGNORED_KEYS", "components", "overlaps", "pipeline_overlaps", "warning_lines"]

#: params that change how a component runs, not what it measures
IGNORED_KEYS = frozenset({"label", "cache", "batch_size", "device", "max_missing_share", "timeout_s", "max_retries",
                          "backoff_base_s", "backoff_max_s", "concurrency"})


def _plain(entry: Any) -> Any:
    return entry.model_dump(mode="json") if hasattr(entry, "model_dump") else entry


def _canonical(node: Mapping[str, Any]) -> str:
    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in sorted(value.items()) if k not in IGNORED_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(node), sort_keys=True, default=str)


def components(entry: Any, where: str = "") -> Iterator[tuple[str, str, str]]:
    """(location, kind, canonical JSON) of the entry and of every component nested in it (any
    mapping with a ``kind``)."""
    node = _plain(entry)
    if isinstance(node, Mapping):
        if "kind" in node:
            yield where, str(node["kind"]), _canonical(node)
        for key, value in node.items():
            yield from components(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from components(value, f"{where}[{i}]")


def overlaps(training: Mapping[str, Any], evaluation: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each shared component: ``training`` and ``evaluation`` map a name (e.g. ``metrics[0]``,
    ``metrics.sem``) to a spec entry. A shared parent is reported once, not again for its children."""
    found: list[dict[str, str]] = []
    for t_name, t_entry in training.items():
        t_parts = list(components(t_entry))
        for e_name, e_entry in evaluation.items():
            e_index = {canon: (loc, kind) for loc, kind, canon in components(e_entry)}
            covered: list[str] = []
            for loc, kind, canon in t_parts:  # outermost first: children of a shared node are skipped
                if canon not in e_index or any(c == "" or loc.startswith(c + ".") for c in covered):
                    continue
                covered.append(loc)
                e_loc, _ = e_index[canon]
                found.append({"training": t_name + (f".{loc}" if loc else ""), "evaluation": e_name +
                              (f".{e_loc}" if e_loc else ""), "component": kind})
    return found


def warning_lines(found: list[dict[str, str]]) -> list[str]:
    """One sentence per shared component, for reports and the console."""
    return [f"Goodhart risk: the training signal {f['training']} and the evaluation's {f['evaluation']} are the same "
            f"{f['component']}; a gain there is partly by construction. Hold one out: evaluate with a metric "
            "(and embedder) the training does not use" for f in found]


def pipeline_overlaps(spec: Any) -> list[dict[str, str]]:
    """The training signals of a ``run: pipeline``'s prepare steps (weight metrics, pair builder)
    and train steps (``grpo`` rewards) against the metrics and scorers of its evaluate steps."""
    training: dict[str, Any] = {}
    evaluation: dict[str, Any] = {}
    for name, step in spec.steps.items():
        if step.run == "prepare":
            training.update({f"steps.{name}.metrics[{i}]": m for i, m in enumerate(step.metrics)})
            training[f"steps.{name}.pair_builder"] = step.pair_builder
        elif step.run == "train":
            for stage in step.stages:
                reward = getattr(stage, "reward", None)
                for part in ("quality", "diversity", "partition"):
                    if reward is not None and getattr(reward, part) is not None:
                        training[f"steps.{name}.stages.{stage.name}.reward.{part}"] = getattr(reward, part)
        elif step.run == "evaluate":
            evaluation.update({f"steps.{name}.metrics[{i}]": m for i, m in enumerate(step.metrics)})
            evaluation.update({f"steps.{name}.scorers[{i}]": s for i, s in enumerate(step.scorers)})
    return overlaps(training, evaluation)
