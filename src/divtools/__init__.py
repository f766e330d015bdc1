"""divtools: train and evaluate language models that write diverse and good creative text.

The public API. Heavy parts (torch, transformers, sentence-transformers) load only inside the
stages that use them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from divtools.api import (
    Backend,
    Embedder,
    Group,
    GroupResult,
    Metric,
    Objective,
    Pair,
    PairBuilder,
    Reporter,
    Response,
    Scorer,
    Source,
)
from divtools.errors import DivtoolsError, NotImplementedYet, UserError
from divtools.objectives.base import ObjectiveOutput, PreferenceObjective
from divtools.hookspecs import hookimpl
from divtools.inprocess import RunResult, build_component, build_metric, build_scorer, run
from divtools.spec.base import Component, ComponentParams, InputPath, MetricParams, ScorerParams, SpecModel, SpecPath

__all__ = [
    "__version__",
    "Backend",
    "Component",
    "ComponentParams",
    "DivtoolsError",
    "Embedder",
    "Group",
    "GroupResult",
    "InputPath",
    "Metric",
    "MetricParams",
    "NotImplementedYet",
    "Objective",
    "ObjectiveOutput",
    "Pair",
    "PairBuilder",
    "PreferenceObjective",
    "Reporter",
    "Response",
    "RunResult",
    "Scorer",
    "ScorerParams",
    "Source",
    "SpecModel",
    "SpecPath",
    "UserError",
    "build_component",
    "build_metric",
    "build_scorer",
    "hookimpl",
    "run",
]
