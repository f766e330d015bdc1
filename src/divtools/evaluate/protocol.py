"""The comparison protocol (docs/method.md §6): one recorded prompt list, the same N per prompt.

- Prompt list: the spec's ids (or ids file), else the prompts file's order, else the gold file's,
  else first appearance in the generations files; optionally cut to the first ``limit`` *eligible*
  prompts (those with at least N gold responses), so a limit is the number of prompts evaluated.
- N: the spec's ``samples_per_prompt``, else the most common per-prompt count of the non-gold
  file systems (ties: the larger), else the backend systems' ``num_samples``, else 4 (the
  paper's K).
- Gold (human) responses are subsampled per prompt to N without replacement by a generator
  seeded with (seed, prompt id) only, so the same seed gives the same subsample whatever other
  prompts are evaluated. Prompts with fewer than N gold responses are dropped from the list for
  every system, and counted.
- A system's prompt with more than N samples uses the first N (by sample index, else file
  order); one with fewer is recorded as incomplete and left out of that system's numbers.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from divtools.errors import UserError
from divtools.evaluate.rows import Sample

__all__ = ["PAPER_K", "Protocol", "SystemSamples", "check_systems", "choose_n", "group_system", "seeded_rng", "subsample_gold"]

#: samples per prompt in the paper's evaluation (docs/method.md §6)
PAPER_K = 4


def seeded_rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator determined by ``seed`` and string keys only (SHA-256 of both)."""
    digest = hashlib.sha256("\x1f".join([str(seed), *keys]).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


@dataclass
class SystemSamples:
    """One system's samples grouped by prompt under the protocol."""

    name: str
    role: str  # "gold", "generated" or "file"
    source: dict
    groups: dict[str, list[Sample]] = field(default_factory=dict)
    """prompt id -> exactly N samples, for the prompts where the system has at least N."""
    incomplete: dict[str, int] = field(default_factory=dict)
    """prompt id -> how many samples the system has (fewer than N; 0 when none)."""


@dataclass
class Protocol:
    prompt_ids: list[str]
    prompts: dict[str, str]
    n: int
    n_source: str
    requested: int
    """prompts asked for: ``prompts.limit``, else every listed prompt."""
    listed: int = 0
    """prompts in the list (ids, prompts file, gold or generations), before the limit."""
    limit: int | None = None
    eligible: int = 0
    """listed prompts with at least N gold responses (every listed prompt without gold)."""
    dropped: dict[str, int] = field(default_factory=dict)
    """prompt id -> gold responses available, for prompts dropped because that is fewer than N
    (with a limit: those passed over before the last prompt used)."""

    def record(self, *, seed: int, bootstrap_samples: int, gold: str | None) -> dict:
        return {
            "samples_per_prompt": self.n,
            "samples_per_prompt_source": self.n_source,
            "prompt_ids": list(self.prompt_ids),
            "n_prompts": len(self.prompt_ids),
            "n_prompts_requested": self.requested,
            "n_prompts_listed": self.listed,
            "n_prompts_eligible": self.eligible,
            "limit": self.limit,
            "dropped_prompts": dict(self.dropped),
            "n_dropped_prompts": len(self.dropped),
            "gold": gold,
            "seed": seed,
            "bootstrap_samples": bootstrap_samples,
            "ci": "95% percentile bootstrap over prompts",
        }


def _ordered(samples: list[Sample]) -> list[Sample]:
    # sample index first (the driver's order), rows without one after, in file order
    return sorted(samples, key=lambda s: (s.sample is None, s.sample if s.sample is not None else 0, s.order))


def by_prompt(samples: list[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for s in samples:
        out.setdefault(s.prompt_id, []).append(s)
    return {pid: _ordered(group) for pid, group in out.items()}


def choose_n(given: int | None, file_systems: dict[str, list[Sample]], backend_ks: list[int]) -> tuple[int, str]:
    """N and where it came from (``spec``, ``inferred`` or ``default``)."""
    if given is not None:
        return given, "spec"
    counts: Counter[int] = Counter()
    for samples in file_systems.values():
        counts.update(len(g) for g in by_prompt(samples).values())
    if counts:
        best = max(counts.values())
        n = max(k for k, c in counts.items() if c == best)
        if n < 2:
            # one sample per prompt: every diversity is undefined or trivial, and the run would
            # look complete with nothing measured
            raise UserError(
                "the generations hold 1 sample for most prompts, so N = 1 was inferred and no diversity "
                "can be measured: give at least 2 samples per prompt, or set samples_per_prompt (-n) to "
                "the N the files should have", field="samples_per_prompt")
        return n, "inferred"
    if backend_ks:
        return max(backend_ks), "inferred"
    return PAPER_K, "default"


def subsample_gold(samples: list[Sample], prompt_ids: list[str], n: int, seed: int) -> tuple[dict[str, list[Sample]], dict[str, int]]:
    """Gold groups of exactly N (seeded per prompt) and the dropped prompts' counts."""
    groups = by_prompt(samples)
    kept: dict[str, list[Sample]] = {}
    dropped: dict[str, int] = {}
    for pid in prompt_ids:
        group = groups.get(pid, [])
        if len(group) < n:
            dropped[pid] = len(group)
            continue
        rng = seeded_rng(seed, "gold", pid)
        chosen = np.sort(rng.choice(len(group), size=n, replace=False))
        kept[pid] = [group[i] for i in chosen]
    return kept, dropped


def group_system(name: str, role: str, source: dict, samples: list[Sample], prompt_ids: list[str], n: int) -> SystemSamples:
    """The first N samples per listed prompt; prompts with fewer are recorded as incomplete."""
    groups = by_prompt(samples)
    out = SystemSamples(name=name, role=role, source=source)
    for pid in prompt_ids:
        group = groups.get(pid, [])
        if len(group) >= n:
            out.groups[pid] = group[:n]
        else:
            out.incomplete[pid] = len(group)
    return out


def check_systems(systems: list[SystemSamples], protocol: "Protocol") -> None:
    """Refuse a system that has no sample for any evaluated prompt: it would be reported with 0
    complete prompts and no numbers while the run exits 0 (e.g. a gold file that shares no prompt
    with the generations). A system short of N samples is reported incomplete, as before."""
    for system in systems:
        if system.role == "gold" or system.groups:
            continue
        if not any(k > 0 for k in system.incomplete.values()):
            where = "the gold responses" if any(s.role == "gold" for s in systems) else "the prompt list"
            raise UserError(
                f"system '{system.name}' shares no prompt with {where} ({len(protocol.prompt_ids)} prompt(s) "
                "evaluated): check that the gold or prompts file and the generations use the same prompt_id "
                "values (or the same prompt texts when rows have no prompt_id)", field="systems")


def prompt_list(
    *,
    ids: list[str] | None,
    prompts_file: dict[str, str] | None,
    gold: list[Sample] | None,
    systems: list[list[Sample]],
    limit: int | None,
) -> tuple[list[str], dict[str, str]]:
    """The prompt ids to evaluate, and every known prompt text by id."""
    texts: dict[str, str] = {}
    for source in [*(systems or []), *([gold] if gold else [])]:
        for s in source:
            texts.setdefault(s.prompt_id, s.prompt)
    if prompts_file:
        for pid, text in prompts_file.items():
            if pid in texts and texts[pid] != text:
                raise UserError(f"prompt id '{pid}' has one text in the prompts file and another in a generations file")
            texts[pid] = text
    if ids is not None:
        unknown = [pid for pid in ids if pid not in texts]
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise UserError(
                f"{len(unknown)} listed prompt id(s) appear in no prompts, gold or generations file: {shown}",
                field="prompts.ids",
            )
        order = list(ids)
    elif prompts_file:
        order = list(prompts_file)
    elif gold:
        order = list(dict.fromkeys(s.prompt_id for s in gold))
    else:
        order = list(dict.fromkeys(s.prompt_id for source in systems for s in source))
    if limit is not None:
        order = order[:limit]
    return order, texts
