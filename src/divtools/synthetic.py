"""A synthetic preference task with a known answer: does a diversity objective do what it claims?

Every response is one short line about one **mode** — a topic, named by its noun; the modes'
noun vocabularies share no word — and has one of two **quality** levels: *well-formed*, the
template ``the NOUN is ADJ.``, or *scrambled*, the same words in reverse order
(``ADJ is NOUN the.``), which never fits the template. The adjectives are shared by all modes.
:func:`check` tells modes and quality apart exactly, so a trained model's samples are scored
without any learned judge:

- mode coverage per prompt: Shannon entropy of the modes among a prompt's K samples (bits), the
  share of samples in a rare mode, the number of distinct modes;
- quality share: the share of samples that are well-formed.

A mode is one word's choice, so even a tiny model trained from scratch for a few hundred steps
writes valid lines, and a preference objective's effect on the modes shows within seconds of CPU.

:func:`generate` writes a seeded task: each prompt's pool holds one **majority** mode
(``modes[0]``, ``round(pool_size · majority_share)`` responses) and rare modes (the other
responses, each in a different rare mode while there are enough of them). Upvotes favour
quality: a well-formed response scores in [20, 24], a scrambled one in [0, 4], so a pair builder
with a gap of 5 always pairs a well-formed winner with a scrambled loser. The knobs:

- ``pool_size`` — responses per prompt (the paper's small-pool ablation: at most 4);
- ``majority_share`` — mode skew;
- ``good_majority`` / ``good_rare`` — P(well-formed) in the majority and in the rare modes: their
  difference is the quality–mode correlation (equal values: none). With ``good_majority >
  good_rare`` most winners are majority-mode and most losers rare-mode, the set-up in which plain
  preference tuning narrows the modes and deviation weights should widen them.

Ordinary use (``benchmarks/method_effect.py`` and ``tests/method`` do exactly this)::

    from divtools.synthetic import TaskConfig, generate, write_rows, summarise
    rows = generate(TaskConfig(n_prompts=64, seed=0))
    write_rows(rows["train"], "task/train.jsonl")   # a jsonl source for run: prepare
    ...
    stats = summarise(samples_by_prompt)            # {prompt_id: {mode_entropy: ..., ...}}

Only the standard library is imported.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

__all__ = [
    "ADJECTIVES",
    "MODES",
    "Check",
    "TaskConfig",
    "check",
    "config_dict",
    "generate",
    "prompt_stats",
    "summarise",
    "vocabulary_texts",
    "write_rows",
]

#: topic vocabularies: mode -> its nouns; no noun belongs to two modes. Few nouns per mode, so the
#: majority mode's responses share words (low deviation) and a rare-mode response shares none
MODES: dict[str, tuple[str, ...]] = {
    "sea": ("ship", "wave", "harbor"),
    "forest": ("oak", "fox", "fern"),
    "city": ("tram", "tower", "taxi"),
    "space": ("comet", "planet", "rocket"),
    "kitchen": ("bread", "oven", "spoon"),
    "desert": ("camel", "dune", "cactus"),
}

#: adjectives shared by every mode
ADJECTIVES: tuple[str, ...] = ("bright", "quiet", "old", "small", "strange", "golden")

_NOUN_MODE: dict[str, str] = {noun: mode for mode, nouns in MODES.items() for noun in nouns}

#: the template, ``the NOUN is ADJ``: "N" and "A" are slots, other entries literal words
_TEMPLATE: tuple[str, ...] = ("the", "N", "is", "A")


@dataclass(frozen=True)
class TaskConfig:
    """Size, skew and quality–mode correlation of a synthetic task (all draws seeded by ``seed``)."""

    n_prompts: int = 64
    """Training prompts."""
    n_eval_prompts: int = 16
    """Held-out prompts (their pools are generated too: the gold responses)."""
    pool_size: int = 8
    """Responses per prompt."""
    n_modes: int = 5
    """Modes used (the first ``n_modes`` of :data:`MODES`; ``modes[0]`` is the majority)."""
    majority_share: float = 0.625
    """Share of each pool in the majority mode (rounded to whole responses)."""
    good_majority: float = 0.8
    """P(well-formed) for a majority-mode response."""
    good_rare: float = 0.4
    """P(well-formed) for a rare-mode response."""
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.n_modes <= len(MODES):
            raise ValueError(f"n_modes must be between 2 and {len(MODES)}, got {self.n_modes}")
        if self.pool_size < 2:
            raise ValueError(f"pool_size must be at least 2, got {self.pool_size}")
        if self.n_prompts < 1 or self.n_eval_prompts < 0:
            raise ValueError("n_prompts must be >= 1 and n_eval_prompts >= 0")
        for name in ("majority_share", "good_majority", "good_rare"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")

    @property
    def modes(self) -> list[str]:
        return list(MODES)[: self.n_modes]


@dataclass(frozen=True)
class Check:
    """What :func:`check` finds in one text: its mode (None: words of no mode, or of several,
    or no content word) and whether it is the well-formed template."""

    mode: str | None
    well_formed: bool


def _words(text: str) -> list[str]:
    return text.strip().rstrip(".").lower().split()


def check(text: str) -> Check:
    """The exact mode and quality of ``text``.

    mode: the mode of the text's one noun; None when it has no noun of a mode, nouns of several
    modes, or the same noun twice. well_formed: the words are exactly ``the NOUN is ADJ`` (case
    and a trailing period are ignored).
    """
    words = _words(text)
    nouns = [w for w in words if w in _NOUN_MODE]
    mode = _NOUN_MODE[nouns[0]] if len(nouns) == 1 else None
    if mode is None:
        return Check(None, False)
    well_formed = len(words) == len(_TEMPLATE) and all(
        (w in _NOUN_MODE) if slot == "N" else (w in ADJECTIVES) if slot == "A" else (w == slot)
        for w, slot in zip(words, _TEMPLATE)
    )
    return Check(mode, well_formed)


def _sentence(words: Sequence[str]) -> str:
    return " ".join(words) + "."


def _response(rng: random.Random, mode: str, good: bool) -> str:
    words = ["the", rng.choice(MODES[mode]), "is", rng.choice(ADJECTIVES)]
    # scrambled: the same words reversed (one fixed scramble a tiny model learns at once; the
    # reverse of the template never fits it)
    return _sentence(words if good else words[::-1])


def _pool_modes(rng: random.Random, config: TaskConfig) -> list[str]:
    modes = config.modes
    n_major = round(config.pool_size * config.majority_share)
    rare: list[str] = []
    while len(rare) < config.pool_size - n_major:  # distinct rare modes while there are enough
        rare.extend(rng.sample(modes[1:], len(modes) - 1))
    pool = [modes[0]] * n_major + rare[: config.pool_size - n_major]
    rng.shuffle(pool)
    return pool


def generate(config: TaskConfig) -> dict[str, list[dict]]:
    """``{"train": rows, "eval": rows}``, one row per response (a ``jsonl`` source's long layout):
    ``prompt_id``, ``prompt``, ``response_id``, ``response``, ``score`` (upvotes), and the truth,
    ``mode`` and ``well_formed``. Same config, same rows."""
    rng = random.Random(config.seed)
    out: dict[str, list[dict]] = {"train": [], "eval": []}
    total = config.n_prompts + config.n_eval_prompts
    for i in range(total):
        split = "train" if i < config.n_prompts else "eval"
        prompt_id = f"{split[0]}{i:04d}"
        prompt = f"Write line {' '.join(str(i))}."  # digit by digit: no unseen number token
        seen: set[str] = set()
        for j, mode in enumerate(_pool_modes(rng, config)):
            good = rng.random() < (config.good_majority if mode == config.modes[0] else config.good_rare)
            text = _response(rng, mode, good)
            while text in seen:  # cleaning drops duplicates; keep pools at their nominal size
                text = _response(rng, mode, good)
            seen.add(text)
            score = rng.randint(20, 24) if good else rng.randint(0, 4)
            out[split].append({"prompt_id": prompt_id, "prompt": prompt, "response_id": f"{prompt_id}/{j}",
                               "response": text, "score": float(score), "mode": mode, "well_formed": good})
    return out


def vocabulary_texts(config: TaskConfig | None = None) -> list[str]:
    """Texts covering every word of the task, at the start of a line and after a space, so that a
    tiny byte-level BPE tokenizer trained on them (with room for all merges) keeps each word whole."""
    modes = config.modes if config else list(MODES)
    words = ["the", "is", *ADJECTIVES, *(n for m in modes for n in MODES[m])]
    texts = [_sentence([w, w]) for w in words]
    texts += [f"Write line {' '.join(str(i))}." for i in range(100)]
    return texts * 4


def write_rows(rows: Iterable[Mapping], path: str | Path) -> Path:
    """Write rows as JSON Lines, atomically."""
    from divtools.atomic import atomic_write

    with atomic_write(path) as fh:
        for row in rows:
            fh.write(json.dumps(dict(row), sort_keys=True) + "\n")
    return Path(path)


def prompt_stats(texts: Sequence[str], *, majority: str = "sea") -> dict[str, float]:
    """One prompt's K samples -> mode and quality statistics.

    - ``mode_entropy``: −Σ p_m log2 p_m over the modes of the samples that have one (bits; 0 when
      none has a mode, so text of no mode never looks diverse);
    - ``rare_share``: share of all K samples in a mode other than ``majority``;
    - ``modes``: distinct modes among the samples;
    - ``quality_share``: share of all K samples that are well-formed;
    - ``valid_share``: share of all K samples that have a mode.
    """
    if not texts:
        raise ValueError("prompt_stats needs at least one text")
    checks = [check(t) for t in texts]
    counts = Counter(c.mode for c in checks if c.mode is not None)
    n_valid = sum(counts.values())
    entropy = -sum((c / n_valid) * math.log2(c / n_valid) for c in counts.values()) if n_valid else 0.0
    k = len(texts)
    return {
        "mode_entropy": entropy + 0.0,  # +0.0 turns -0.0 into 0.0
        "rare_share": sum(c for m, c in counts.items() if m != majority) / k,
        "modes": float(len(counts)),
        "quality_share": sum(c.well_formed for c in checks) / k,
        "valid_share": n_valid / k,
    }


def summarise(samples: Mapping[str, Sequence[str]], *, majority: str = "sea") -> dict[str, dict[str, float]]:
    """``{prompt_id: prompt_stats(texts)}`` for samples grouped by prompt."""
    return {pid: prompt_stats(texts, majority=majority) for pid, texts in samples.items()}


def config_dict(config: TaskConfig) -> dict:
    """The config as a JSON-able dict (recorded with benchmark results)."""
    return asdict(config)
