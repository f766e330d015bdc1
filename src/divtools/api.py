"""Component contracts and the data types that flow between them.

A registered implementation is a callable ``impl(params) -> component`` (usually the class
itself). This module imports no torch: tensor-typed methods name ``torch.Tensor`` in strings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "Backend",
    "Embedder",
    "Equivalence",
    "Group",
    "GroupResult",
    "Metric",
    "Objective",
    "Pair",
    "PairBuilder",
    "Reporter",
    "Response",
    "Scorer",
    "Source",
    "is_degenerate_text",
    "measure_groups",
]


# ---------------------------------------------------------------- data
@dataclass
class Response:
    """One response to a prompt. ``score`` is its quality signal (e.g. upvotes), if any."""

    id: str
    text: str
    score: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Group:
    """All responses to one prompt: the unit every metric and pair builder works on."""

    prompt_id: str
    prompt: str
    responses: list[Response]
    system: str | None = None

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.responses]


@dataclass
class GroupResult:
    """A metric's answer for one group: per-text deviation (length N) and group diversity.

    ``deviation``: higher = more different from the other texts, for every metric (whatever
    ``Metric.higher_is_more_diverse`` says about ``diversity``); zeros when N < 2.
    ``diversity``: the metric's published group value; NaN where it is undefined (e.g. N < 2).
    """

    deviation: np.ndarray
    diversity: float
    #: secondary group values a metric also reports (e.g. utility_k at other patiences), each
    #: aggregated over prompts like ``diversity``; keys are short JSON-able names
    extras: dict[str, float] = field(default_factory=dict)
    #: set by :func:`measure_groups` when the group holds a text without any letter or digit
    #: (:func:`is_degenerate_text`): deviation and diversity are then NaN, never a score
    degenerate: bool = False


def is_degenerate_text(text: str) -> bool:
    """True for a text with no letter or digit: empty, whitespace, punctuation or symbols only.

    The one test behind the degenerate-text rule of every metric (:func:`measure_groups`):
    such a text has no word for an n-gram, ROUGE or BLEU tokenizer to count, and embedders map
    it to an empty or arbitrary vector, so any diversity it enters is an artefact (empty
    answers scored as maximally diverse). ``str.isalnum`` is Unicode-aware: a text in any
    script with one letter or digit is not degenerate.
    """
    return not any(ch.isalnum() for ch in text)


def measure_groups(metric: Any, groups: Sequence[Sequence[str]], prompts: Sequence[str] | None = None) -> list[GroupResult]:
    """The entry point every caller uses (evaluate, prepare's weights, DivPO's criterion):
    ``metric.groups_with_prompts`` (or ``metric.groups`` without prompts, or for a metric
    without ``groups_with_prompts``) on the groups whose texts all hold a letter or digit, and
    for every other group the degenerate result.

    The degenerate-text rule, the same for every metric, built-in or plugin: a group with an
    empty or token-less text (:func:`is_degenerate_text`) has diversity NaN and deviation NaN
    for each text, with ``degenerate=True``; it never gets a metric's best score (all-empty
    groups used to score 1.0 under embedding diversity, 0 under self-BLEU and 4.0 under n-gram
    diversity). Evaluate leaves such prompts out of the means and counts them in the report;
    prepare gives such a pool no deviation signal (uniform weights) and counts it.
    """
    groups = [list(g) for g in groups]
    keep = [i for i, g in enumerate(groups) if not any(is_degenerate_text(t) for t in g)]
    out: list[GroupResult | None] = [None] * len(groups)
    if keep:
        kept = [groups[i] for i in keep]
        with_prompts = getattr(metric, "groups_with_prompts", None)
        if prompts is None or with_prompts is None:
            results = metric.groups(kept)
        else:
            results = with_prompts(kept, [prompts[i] for i in keep])
        if len(results) != len(keep):
            raise RuntimeError(f"metric {type(metric).__name__} returned {len(results)} results for {len(keep)} groups")
        for i, result in zip(keep, results):
            out[i] = result
    for i, g in enumerate(groups):
        if out[i] is None:
            out[i] = GroupResult(deviation=np.full(len(g), np.nan), diversity=float("nan"), degenerate=True)
    return out  # type: ignore[return-value]


@dataclass
class Pair:
    """A preference pair; ``weight`` is filled by the deviation-weight step."""

    prompt_id: str
    prompt: str
    chosen: Response
    rejected: Response
    weight: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- components
class Embedder(ABC):
    """texts -> L2-normalised float32 vectors of shape (len(texts), dim).

    Contract: a text's vector depends on the text (and ``identity()``) alone, bit for bit, never
    on the other texts of the call, because the embedding cache hands an embedder only the texts
    it misses; otherwise cached and fresh runs differ (batched transformer passes pad and
    reshape: the sentence-transformers embedders encode each text alone). An embedder that cannot
    promise this sets ``batch_dependent``.
    """

    #: True when a text's vector depends on the other texts of the call (e.g. TF-IDF fitted on
    #: them): such vectors are never cached and embedding metrics encode each group on its own
    batch_dependent: ClassVar[bool] = False

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """Everything that changes the vectors (model, revision, settings): the cache key."""

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, each row of unit L2 norm."""


class Metric(ABC):
    """One group of texts -> each text's deviation and the group's diversity."""

    #: True when a larger diversity value means more diverse (self-BLEU, homogenization: False)
    higher_is_more_diverse: ClassVar[bool] = True

    @abstractmethod
    def group(self, texts: Sequence[str]) -> GroupResult:
        """Deviation of each text from the others, and the group's diversity."""

    def groups(self, groups: Sequence[Sequence[str]]) -> list[GroupResult]:
        """Many groups at once; embedding metrics override this to encode in one batch."""
        return [self.group(texts) for texts in groups]

    def groups_with_prompts(self, groups: Sequence[Sequence[str]], prompts: Sequence[str]) -> list[GroupResult]:
        """:meth:`groups` with each group's prompt. Metrics that judge (prompt, text) pairs (e.g.
        utility_k's quality scorer) override this; the evaluate run calls it."""
        return self.groups(groups)

    def measure(self, groups: Sequence[Sequence[str]], prompts: Sequence[str] | None = None) -> list[GroupResult]:
        """:func:`measure_groups` on this metric: the degenerate-text rule, then the formula."""
        return measure_groups(self, groups, prompts)

    def calibrate(self, groups: Sequence[Sequence[str]], prompts: Sequence[str]) -> None:
        """Called once by an evaluate run, before any value is measured, with every system's
        groups and their prompts: a metric that maps values by the run's own distribution (e.g.
        quality quantiles) fits it here, so every system is measured on the same scale."""


class Equivalence(ABC):
    """Are two responses to one prompt functionally the same? (NoveltyBench's equivalence test.)

    Used by the partition behind ``distinct_k`` and ``utility_k``: a greedy pass asks, for each
    class's first member (the anchor), which later unassigned responses join it.
    """

    @abstractmethod
    def matches(self, prompt: str, anchor: str, candidates: Sequence[str]) -> np.ndarray:
        """One bool per candidate: equivalent to ``anchor``."""

    def partition(self, prompt: str, texts: Sequence[str]) -> list[int]:
        """NoveltyBench's greedy partition (``src/partition.py``): for i in order, an unassigned
        text opens class c; every later unassigned text equivalent to it (the class's first
        member) joins c. Returns each text's class index (0, 1, ... in order of opening).
        Override to prepare per-group state (e.g. embed the group once), then call this."""
        labels = [-1] * len(texts)
        classes = 0
        for i in range(len(texts)):
            if labels[i] >= 0:
                continue
            labels[i] = classes
            rest = [j for j in range(i + 1, len(texts)) if labels[j] < 0]
            if rest:
                hits = np.asarray(self.matches(prompt, texts[i], [texts[j] for j in rest]), dtype=bool)
                if hits.shape != (len(rest),):
                    raise ValueError(f"{type(self).__name__}.matches returned {hits.shape} answers for {len(rest)} candidates")
                for j, hit in zip(rest, hits):
                    if hit:
                        labels[j] = classes
            classes += 1
        return labels


class Scorer(ABC):
    """Quality of (prompt, response) pairs; higher is better."""

    @abstractmethod
    def score(
        self,
        prompts: Sequence[str],
        responses: Sequence[str],
        rows: Sequence[Mapping[str, Any]] | None = None,
    ) -> np.ndarray:
        """One float per (prompt, response); ``rows`` carries the input rows' extra columns."""


class PairBuilder(ABC):
    """Scored groups -> preference pairs. Same seed, same pairs."""

    @abstractmethod
    def build(self, groups: Sequence[Group], *, seed: int) -> list[Pair]:
        """Pairs for all groups."""

    def warnings(self, groups: Sequence[Group]) -> list[str]:
        """What a user should know about these settings on these groups (prepare prints each
        line as a warning and keeps it in summary.json); default: nothing."""
        return []


class Objective(ABC):
    """A pure per-example preference loss on log-probabilities: the abstract interface.

    The trainer needs more than :meth:`loss`: subclass :class:`divtools.PreferenceObjective`
    (``divtools.objectives.base``), which declares what the batch must carry and adds
    ``compute``, ``reduce`` and ``check_dataset``; building an objective that does not subclass
    it is refused with an error (docs/plugins.md)."""

    #: needs log-probabilities from a frozen reference model
    needs_reference: ClassVar[bool] = True
    #: extra batch columns it reads, e.g. ("weight",)
    columns: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def loss(self, batch: Mapping[str, "torch.Tensor"]) -> "torch.Tensor":
        """Per-example losses, shape (batch,)."""


class Source(ABC):
    """Somewhere groups come from: files, Hugging Face datasets."""

    @abstractmethod
    def load(self) -> list[Group]:
        """All groups, in a deterministic order."""


class Backend(ABC):
    """Generation: prompts -> K sampled responses each.

    Same prompts, same ``seed`` and same settings -> same texts (as far as the backend's
    hardware allows). ``divtools.generation.driver`` hands ``prompts_per_call`` prompts to each
    call and saves the answers before the next call.
    """

    #: how many prompts one ``generate`` call should receive (the backend's batch of prompts)
    prompts_per_call: int = 1

    @abstractmethod
    def generate(self, prompts: Sequence[str], *, num_samples: int, seed: int) -> list[list[str]]:
        """``num_samples`` responses for each prompt."""

    def settings(self) -> dict[str, Any]:
        """JSON-able settings that shape the texts (model, sampling ...), recorded with every
        generated row and compared on resume. Never secrets such as API keys."""
        return {}


class Reporter(ABC):
    """Writes an evaluation report (a JSON-able dict) into an output directory."""

    @abstractmethod
    def write(self, report: Mapping[str, Any], out_dir: Path) -> list[Path]:
        """Files written."""
