"""``run: evaluate`` — metrics (and scorers) over generations, per system and prompt.

The smallest spec (metric-only, one generations file whose rows name their system)::

    run: evaluate
    generations: {path: gens.jsonl}
    metrics:
      - {kind: distinct_n, n: 2, label: d2}
    output: {dir: out/}

The full protocol adds named systems (a generations file, or a backend that generates), human
("gold") responses subsampled to the same N, a fixed prompt-id list, quality scorers, reporters
and the effective-diversity sweep. See ``docs/evaluation.md``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from divtools.spec.base import Component, ComponentParams, InputPath, SpecModel
from divtools.spec.common import OutputSpec
from divtools.spec.prepare import CleaningSpec

__all__ = [
    "BackendSpec",
    "EffectiveDiversitySpec",
    "EvaluateSpec",
    "GenerationsSpec",
    "GoldSpec",
    "LengthControlSpec",
    "MetricSpec",
    "PromptsSpec",
    "PairColumns",
    "ReporterSpec",
    "ScorerSpec",
    "ScorerValidationSpec",
    "SystemSpec",
]

MetricSpec = Annotated[ComponentParams, Component("metric")]
ScorerSpec = Annotated[ComponentParams, Component("scorer")]
BackendSpec = Annotated[ComponentParams, Component("backend")]
ReporterSpec = Annotated[ComponentParams, Component("reporter")]
SourceSpec = Annotated[ComponentParams, Component("source")]

#: the largest N (samples per prompt, generated samples per prompt) a spec may ask for: far above
#: any protocol in use (the paper: 4, NoveltyBench: 10), small enough that a typo such as
#: ``-n 100000000000000000000`` is refused at validation instead of running
MAX_SAMPLES_PER_PROMPT = 10_000

#: system names become file names (generations/<name>.jsonl) and table rows
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"system name '{name}' must start with a letter or digit and use only letters, digits, "
            "'_', '.', '+', '-' (it names a file)"
        )
    return name


class GenerationsSpec(SpecModel):
    """A JSONL file of generations: one row per response with ``prompt`` and ``response``;
    optional ``system`` (rows without it form the system ``default``), ``id``, ``prompt_id`` and
    ``sample`` (or ``sample_index``), plus any extra columns (``dataset_score`` reads them)."""

    path: InputPath
    """The JSONL file (relative paths resolve against the spec file's folder)."""
    system: str | None = None
    """Use only the rows whose ``system`` column equals this (rows without the column count as
    ``default``). Unset: every row."""


class SystemSpec(SpecModel):
    """One system to evaluate: a generations file, or a backend that generates the samples."""

    name: str
    """Name in reports; also names ``generations/<name>.jsonl`` for generated systems."""
    generations: GenerationsSpec | None = None
    """Read this system's samples from a file (all its rows belong to this system unless
    ``generations.system`` selects some)."""
    backend: BackendSpec | None = None
    """Generate the samples with this backend (its params name the model and the sampling
    settings). Needs the prompts' texts: ``prompts.path``, ``gold`` or a generations file."""
    num_samples: int | None = Field(None, ge=1, le=MAX_SAMPLES_PER_PROMPT)
    """Samples generated per prompt (default: ``samples_per_prompt``)."""
    seed: int | None = None
    """Generation seed (default: the spec's ``seed``)."""

    @model_validator(mode="after")
    def _one_source(self) -> "SystemSpec":
        _check_name(self.name)
        if (self.generations is None) == (self.backend is None):
            raise ValueError(f"system '{self.name}': give exactly one of 'generations' (a file) or 'backend' (generate)")
        if self.generations is not None and (self.num_samples is not None or self.seed is not None):
            raise ValueError(f"system '{self.name}': num_samples and seed apply only to a 'backend' system")
        return self


class GoldSpec(SpecModel):
    """Human ("gold") responses — a JSONL file like a generations file (``prompt``, ``response``,
    optional ``prompt_id``, ``id``, score columns) or any data source (e.g. ``writingprompts``) —
    subsampled per prompt to ``samples_per_prompt`` with the seed; prompts with fewer responses
    are dropped from the evaluation (and counted)."""

    path: InputPath | None = None
    """JSONL: prompt, response[, prompt_id, id, any score columns]."""
    source: SourceSpec | None = None
    """A registered data source instead of ``path`` (``divtools list source``); its scores are
    the rows' ``score`` column (for ``dataset_score``)."""
    cleaning: CleaningSpec | None = None
    """Apply prepare's cleaning rules (bot comments, deleted/empty/duplicate bodies, length)
    before subsampling; what they drop is counted in the report. Unset: no cleaning."""
    name: str = "human"
    """The reference system's name in reports."""

    @model_validator(mode="after")
    def _one_source(self) -> "GoldSpec":
        _check_name(self.name)
        if (self.path is None) == (self.source is None):
            raise ValueError("give exactly one of 'path' (a JSONL file) or 'source' (a data source)")
        return self


class PromptsSpec(SpecModel):
    """The fixed, recorded list of prompts every system is evaluated on."""

    path: InputPath | None = None
    """JSONL of prompts (``prompt``, optional ``prompt_id`` or ``id``): the texts backends
    generate for; its order is the default prompt list."""
    ids: list[str] | None = None
    """The prompt ids to evaluate, in order (default: every prompt of ``path``, else of
    ``gold``, else of the generations files in order of first appearance)."""
    ids_file: InputPath | None = None
    """A text file with one prompt id per line (alternative to ``ids``)."""
    limit: int | None = Field(None, ge=1)
    """Keep only the first ``limit`` prompts of the list."""

    @model_validator(mode="after")
    def _one_list(self) -> "PromptsSpec":
        if self.ids is not None and self.ids_file is not None:
            raise ValueError("give 'ids' or 'ids_file', not both")
        if self.ids is not None and len(set(self.ids)) != len(self.ids):
            raise ValueError("'ids' lists a prompt id twice")
        return self


class EffectiveDiversitySpec(SpecModel):
    """Diversity among the samples whose quality is at least τ, with the share that pass, over a
    sweep of τ: a system cannot look diverse by writing bad text."""

    quality: str | None = None
    """Label of the scorer that gives quality (default: the first scorer)."""
    thresholds: list[float] | None = None
    """The τ values (default: ``quantiles`` of all systems' pooled quality scores)."""
    quantiles: int = Field(10, ge=2, le=101)
    """Default sweep: the pooled scores' quantiles at 0, 1/q, ..., (q-1)/q."""
    metrics: list[str] | None = None
    """Labels of the diversity metrics to sweep (default: all)."""


class LengthControlSpec(SpecModel):
    """Diversity read against length (docs/evaluation.md): every metric per length bin (bins from
    all systems' pooled lengths), on length-matched resamples across systems, and the Spearman ρ
    between each sample's deviation and its length."""

    bins: int = Field(4, ge=2, le=20)
    """Number of length bins: quantiles of the pooled lengths (repeated edges merge)."""
    resamples: int = Field(5, ge=1, le=100)
    """Length-matched draws averaged per prompt."""
    unit: Literal["words", "characters"] = "words"
    """Length in whitespace-separated words or in characters."""
    metrics: list[str] | None = None
    """Labels of the metrics to report (default: all)."""


class PairColumns(SpecModel):
    """Which column of a preference-pairs file holds what (LitBench: ``chosen: chosen_story``,
    ``rejected: rejected_story``)."""

    prompt: str = "prompt"
    """Column with the prompt."""
    chosen: str = "chosen"
    """Column with the human-preferred response."""
    rejected: str = "rejected"
    """Column with the other response."""


class ScorerValidationSpec(SpecModel):
    """Check a scorer against human preference pairs before the run (docs/evaluation.md): its
    accuracy is recorded in report.json, and below ``min_accuracy`` the run is refused."""

    scorer: str
    """Label of the scorer to validate (one of ``scorers``)."""
    pairs: InputPath
    """JSONL, CSV or Parquet file of human preference pairs."""
    columns: PairColumns = Field(default_factory=PairColumns)
    """Column mapping of the pairs file."""
    min_accuracy: float | None = Field(None, ge=0.0, le=1.0)
    """Refuse to run (exit 2) when the scorer picks the human-preferred response in fewer than
    this share of the pairs (ties count half). Null: record the accuracy only."""
    position_bias: bool = False
    """For an ``llm_judge`` scorer: also ask it to compare each pair in both orders."""


def _default_reporters() -> list[dict]:
    return [{"kind": "json"}, {"kind": "markdown"}, {"kind": "plot"}, {"kind": "html"}]


class EvaluateSpec(SpecModel):
    """Evaluate diversity (and quality) of generations."""

    run: Literal["evaluate"]
    seed: int = 0
    """Seed for gold subsampling, generation and the bootstrap confidence intervals."""
    generations: GenerationsSpec | None = None
    """A generations file whose rows name their system (``system`` column; ``default`` when
    absent). May be combined with ``systems``."""
    systems: list[SystemSpec] = Field(default_factory=list)
    """Named systems, each from a generations file or generated by a backend."""
    gold: GoldSpec | None = None
    """Human responses: the reference system, subsampled to the same N per prompt."""
    prompts: PromptsSpec | None = None
    """The fixed prompt list (and prompt texts for backends)."""
    samples_per_prompt: int | None = Field(None, ge=1, le=MAX_SAMPLES_PER_PROMPT)
    """N: every system is compared on N samples per prompt (extra samples beyond the first N,
    by sample index, are not used; a system with fewer is reported as incomplete for that prompt,
    never averaged in). Default: the most common per-prompt count of the non-gold systems."""
    metrics: list[MetricSpec] = Field(min_length=1)
    """Diversity metrics, computed per prompt over its N samples."""
    scorers: list[ScorerSpec] = Field(default_factory=list)
    """Quality scorers, per sample; a prompt's value is the mean over its N samples."""
    effective_diversity: EffectiveDiversitySpec | None = None
    """Diversity among samples of quality >= τ over a τ sweep (needs a scorer)."""
    scorer_validation: list[ScorerValidationSpec] = Field(default_factory=list)
    """Validate scorers against human preference pairs first (``divtools validate-scorer`` gives
    the same numbers); a scorer below its ``min_accuracy`` stops the run before any generation."""
    length_control: LengthControlSpec | None = None
    """Length-controlled diversity: per length bin, length-matched across systems, and the
    deviation–length correlation (report.json ``length_control``)."""
    reporters: list[ReporterSpec] = Field(default_factory=_default_reporters)
    """Report writers (``json`` is always written: it is the run's record). The default writes
    report.json, report.md (+ report-appendix.md), the figures and report.html."""
    html_report: bool = True
    """Write ``report.html`` (figures, tables and a browser of every system's samples, one
    self-contained file). ``false`` leaves it out of the reporters, the default ones included."""
    headline: list[str] | None = None
    """Metric and scorer labels of report.md's headline table, in order; the default figure plots
    the first scorer listed here (never a length) against the first metric. Default: the first
    3 metrics and then the scorers, 6 columns at most; every label is in the appendix's table."""
    bootstrap_samples: int = Field(1000, ge=100, le=100_000)
    """Bootstrap resamples of prompts for the 95% confidence intervals (at most 100,000: more
    do not move a 95% interval's digits, and the resampled means must fit in memory)."""
    output: OutputSpec

    @model_validator(mode="after")
    def _consistent(self) -> "EvaluateSpec":
        seen: set[str] = set()
        for entry in [*self.metrics, *self.scorers]:
            label = entry.display  # type: ignore[attr-defined]
            if label in seen:
                raise ValueError(f"two metrics/scorers are labelled '{label}': give each a distinct label")
            seen.add(label)
        if self.generations is None and not self.systems and self.gold is None:
            raise ValueError("nothing to evaluate: give 'generations', 'systems' or 'gold'")
        names = [s.name for s in self.systems] + ([self.gold.name] if self.gold else [])
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"system name(s) used twice: {', '.join(dup)}")
        if any(s.backend is not None for s in self.systems):
            has_texts = (self.gold is not None or self.generations is not None
                         or (self.prompts is not None and self.prompts.path is not None)
                         or any(s.generations is not None for s in self.systems))
            if not has_texts:
                raise ValueError("a 'backend' system needs prompt texts: set 'prompts.path' (or give 'gold' or a generations file)")
        if self.effective_diversity is not None:
            scorer_labels = [s.display for s in self.scorers]  # type: ignore[attr-defined]
            metric_labels = [m.display for m in self.metrics]  # type: ignore[attr-defined]
            quality = self.effective_diversity.quality
            if not scorer_labels:
                raise ValueError("effective_diversity needs a quality scorer: add one under 'scorers'")
            if quality is not None and quality not in scorer_labels:
                raise ValueError(f"effective_diversity.quality '{quality}' is not a scorer label; scorers: {', '.join(scorer_labels)}")
            for label in self.effective_diversity.metrics or []:
                if label not in metric_labels:
                    raise ValueError(f"effective_diversity.metrics: '{label}' is not a metric label; metrics: {', '.join(metric_labels)}")
        for i, check in enumerate(self.scorer_validation):
            scorer_labels = [s.display for s in self.scorers]  # type: ignore[attr-defined]
            if check.scorer not in scorer_labels:
                raise ValueError(f"scorer_validation[{i}].scorer '{check.scorer}' is not a scorer label; "
                                 f"scorers: {', '.join(scorer_labels) or 'none'}")
        if self.length_control is not None:
            metric_labels = [m.display for m in self.metrics]  # type: ignore[attr-defined]
            for label in self.length_control.metrics or []:
                if label not in metric_labels:
                    raise ValueError(f"length_control.metrics: '{label}' is not a metric label; metrics: {', '.join(metric_labels)}")
        kinds = [r.kind for r in self.reporters]
        if len(set(kinds)) != len(kinds):
            raise ValueError("a reporter kind is listed twice")
        if not self.html_report and "html" in kinds and "reporters" in self.model_fields_set:
            raise ValueError("html_report: false, but 'reporters' lists kind 'html': drop one of the two")
        if self.headline is not None:
            known = [e.display for e in [*self.metrics, *self.scorers]]  # type: ignore[attr-defined]
            unknown = [label for label in self.headline if label not in known]
            if unknown:
                raise ValueError(f"headline: '{unknown[0]}' is not a metric or scorer label; labels: {', '.join(known)}")
            if len(set(self.headline)) != len(self.headline):
                raise ValueError("headline lists a label twice")
        scorer_kinds = {s.display: s.kind for s in self.scorers}  # type: ignore[attr-defined]
        metric_names = [m.display for m in self.metrics]  # type: ignore[attr-defined]
        for r in self.reporters:
            if r.kind not in ("plot", "html"):  # the figure reporters' axes, checked before any work
                continue
            quality, diversity = getattr(r, "quality", None), getattr(r, "diversity", None)
            if quality is not None and (quality not in scorer_kinds or "length" in scorer_kinds[quality]):
                why = "is a length scorer, never a quality axis" if quality in scorer_kinds else "is not a scorer label"
                raise ValueError(f"reporters: {r.kind}.quality '{quality}' {why}; scorers: "
                                 f"{', '.join(scorer_kinds) or 'none'}")
            if diversity is not None and diversity not in metric_names:
                raise ValueError(f"reporters: {r.kind}.diversity '{diversity}' is not a metric label; metrics: "
                                 f"{', '.join(metric_names)}")
        return self
