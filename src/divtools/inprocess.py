"""The Python API beyond the contracts: components built from spec entries (plain dicts), and
specs run in-process with their results handed back as objects (docs/api.md).

    metric = divtools.build_metric({"kind": "distinct_n", "n": 2})
    metric.group(["a b c", "a b d"])              # a GroupResult
    divtools.run("spec.yaml").report              # report.json's content, as a dict

Entries are validated exactly as in a spec file (unknown keys, wrong types and unknown kinds are
a :class:`~divtools.errors.UserError` listing every problem); relative paths resolve against
the current directory. Nothing here imports torch.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["RunResult", "build_component", "build_metric", "build_scorer", "run"]


def build_component(kind: str, entry: Mapping[str, Any] | Any, *, where: str | None = None) -> Any:
    """A live component of ``kind`` (``metric``, ``scorer``, ``embedder`` ...) from a spec entry
    such as ``{"kind": "distinct_n", "n": 2}`` (or an already validated params model)."""
    from typing import Annotated

    from pydantic import TypeAdapter, ValidationError

    from divtools.components import build
    from divtools.errors import UserError
    from divtools.spec.base import Component, ComponentParams
    from divtools.spec.loading import format_errors

    if not isinstance(entry, ComponentParams):
        data = dict(entry) if isinstance(entry, Mapping) else entry
        adapter = TypeAdapter(Annotated[ComponentParams, Component(kind)])
        try:
            entry = adapter.validate_python(data, context={"base_dir": Path.cwd(), "check_paths": True})
        except ValidationError as exc:
            lines = format_errors(exc, data, file=where or f"{kind} entry")
            raise UserError("\n".join(lines)) from None
    return build(kind, entry)


def build_metric(entry: Mapping[str, Any] | Any) -> Any:
    """A :class:`divtools.Metric`: ``.group(texts)`` gives each text's deviation and the group's
    diversity (:class:`divtools.GroupResult`); ``.groups([...])`` does many groups at once."""
    return build_component("metric", entry)


def build_scorer(entry: Mapping[str, Any] | Any) -> Any:
    """A :class:`divtools.Scorer`: ``.score(prompts, responses)`` gives one float per response."""
    return build_component("scorer", entry)


@dataclass(frozen=True)
class RunResult:
    """What a run made. ``path`` is the main output (what ``divtools run`` prints); ``report`` the
    run's record as a dict: ``report.json`` for evaluate, ``summary.json`` for prepare,
    ``train-result.json`` for train (for a pipeline, its last step's)."""

    kind: str
    path: Path
    report: dict[str, Any] | None

    def mean(self, system: str, label: str) -> float:
        """An evaluate report's mean of ``label`` (a metric or scorer) for ``system``."""
        if self.kind != "evaluate" or self.report is None:
            raise ValueError(f"a '{self.kind}' run has no per-system means; only evaluate runs do")
        return float(self.report["results"][system][label]["mean"])


def _record(kind: str, path: Path) -> dict[str, Any] | None:
    candidates = {
        "evaluate": [path if path.suffix == ".json" else path / "report.json"],
        "prepare": [path.parent / "summary.json", path / "summary.json"],
        "train": [path / "train-result.json"],
    }.get(kind, [])
    for file in candidates:
        if file.is_file():
            return json.loads(file.read_text(encoding="utf-8"))
    return None


def run(spec: str | Path | Mapping[str, Any], overrides: Iterable[str] = (), *, quiet: bool = True) -> RunResult:
    """Run a spec file (with ``--set``-style ``overrides``) or a spec mapping, in this process.

    A mapping's relative paths resolve against the current directory. Bad specs raise
    :class:`~divtools.errors.UserError` before anything runs, as the CLI does."""
    from divtools.runs import run_spec
    from divtools.spec.loading import apply_overrides, load_spec, validate_spec

    if isinstance(spec, Mapping):
        data = apply_overrides(copy.deepcopy(dict(spec)), overrides, file="<python>")
        validated = validate_spec(data, file="<python>", base_dir=Path.cwd())
    else:
        validated = load_spec(Path(spec), overrides)
    path = Path(run_spec(validated, quiet=quiet))
    kind = validated.run
    if kind == "pipeline":
        kind = list(validated.steps.values())[-1].run
    return RunResult(kind=kind, path=path, report=_record(kind, path))
