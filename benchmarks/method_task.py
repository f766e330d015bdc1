"""The synthetic method task as divtools specs: prepare -> train -> evaluate, then the checker.

Shared by ``benchmarks/method_effect.py`` (every objective, several seeds, tiny model and
SmolLM2) and ``tests/method`` (DPO vs DDPO on the tiny model, and the broken-wiring controls).
Everything trains and samples through divtools' public run API (:func:`divtools.runs.run_spec_data`);
this module only writes spec dicts, the task's files, and reads the generated samples back
through :mod:`divtools.synthetic`'s checker.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping, Sequence

from divtools.synthetic import TaskConfig, generate, summarise, vocabulary_texts, write_rows

__all__ = [
    "CHECKER_STATS",
    "TINY_MODEL",
    "analyse",
    "break_weights",
    "build_tiny_model",
    "evaluate_spec",
    "grpo_spec",
    "online_spec",
    "prepare_spec",
    "prompts_file",
    "run",
    "train_spec",
    "write_task",
]

#: per-prompt statistics from the checker, in report order
CHECKER_STATS = ("mode_entropy", "rare_share", "modes", "quality_share", "valid_share")

#: the tiny model: a Llama of hidden size 64, 2 layers, trained from scratch (from_config)
TINY_MODEL = {"hidden_size": 64, "num_layers": 2, "vocab_size": 1024}

#: the deviation signal: TF-IDF over the task's words (modes share no word, so a rare-mode
#: response is far from every other response of its pool, and word order — quality — is ignored)
TFIDF = {"kind": "embedding_diversity", "label": "tfidf", "embedder": {"kind": "tfidf"}}


def run(spec: Mapping[str, Any], base_dir: Path, name: str = "spec.yaml") -> Path:
    """Validate and run one spec dict with divtools' public API (quietly)."""
    from divtools.runs import run_spec_data

    return run_spec_data(dict(spec), file=str(base_dir / name), base_dir=base_dir, quiet=True)


def write_task(root: Path, config: TaskConfig) -> dict[str, Path]:
    """The task's source files: ``train_src.jsonl`` (training pools) and ``eval_src.jsonl``
    (held-out prompts with their pools, the gold system)."""
    rows = generate(config)
    return {"train": write_rows(rows["train"], root / "train_src.jsonl"),
            "eval": write_rows(rows["eval"], root / "eval_src.jsonl")}


def build_tiny_model(root: Path, config: TaskConfig) -> Path:
    """Config and tokenizer (trained on the task's vocabulary) of the from-scratch tiny model."""
    from divtools.models.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(vocabulary_texts(config), root / "tiny-lm", weights=False, seed=0, **TINY_MODEL)


def prepare_spec(root: Path, out: Path, *, seed: int, weights: Mapping[str, Any] | None = None,
                 divpo: bool = False, rho: float = 25.0) -> dict:
    """``run: prepare`` of the training pools: the paper's gap pairs (gap 5, no fallback: every
    pair is well-formed over scrambled) weighted by TF-IDF deviation, or DivPO pairs (``rho``:
    percent of the pool in each of DivPO's high and low sets)."""
    spec: dict[str, Any] = {
        "run": "prepare", "seed": seed,
        "source": {"kind": "jsonl", "path": str(root / "train_src.jsonl"),
                   "columns": {"prompt_id": "prompt_id", "response_id": "response_id"}},
        "split": {"eval_fraction": 0.0},
        "output": {"dir": str(out), "on_existing": "restart"},
    }
    if divpo:
        # deviation within the whole pool: with the default rho = 25 a pool of 8 gives sets of 2,
        # inside which both responses always have the same deviation
        spec["pair_builder"] = {"kind": "divpo", "criterion_pool": "group", "rho": rho,
                                "criteria": [{"type": "deviation", "metric": TFIDF}]}
    else:
        spec["pair_builder"] = {"kind": "gap_disjoint", "gap": 5, "fallback": False}
        spec["metrics"] = [TFIDF]
        spec["weights"] = dict(weights or {"preset": "paper"})
    return spec


def train_spec(model: Mapping[str, Any], data: Path, out: Path, stages: Sequence[Mapping[str, Any]], *,
               seed: int, on_existing: str = "restart") -> dict:
    """``run: train`` with the given stages (each names its own data when it differs);
    ``on_existing: resume`` skips the stages a previous run of the same spec finished."""
    return {"run": "train", "seed": seed, "model": dict(model), "data": {"train": str(data)},
            "stages": [dict(s) for s in stages], "output": {"dir": str(out), "on_existing": on_existing}}


def prompts_file(rows: Path, dst: Path) -> Path:
    """The distinct prompts (prompt_id, prompt) of a rows file, in file order: of prepare's
    ``train.jsonl``, what the on-policy variants sample from (exactly the prompts the offline pairs
    carry); of ``eval_src.jsonl``, the held-out prompts."""
    seen: dict[str, str] = {}
    for line in rows.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            seen.setdefault(row["prompt_id"], row["prompt"])
    return write_rows(({"prompt_id": p, "prompt": text} for p, text in seen.items()), dst)


def online_spec(out: Path, *, start: Path, prompts: Path, eval_prompts: Path, reward: Path, seed: int, rounds: int,
                samples: int, backend: Mapping[str, Any], stage_args: Mapping[str, Any], deviation: bool) -> dict:
    """``run: online`` from ``start``: each round samples ``samples`` responses per training
    prompt, scores them with the reward model at ``reward`` (trained on the offline pairs: the
    checker's quality is never shown to training), pairs best vs worst and trains one DDPO stage
    with the paper's TF-IDF deviation weights (``deviation``) or with weights 1 (online DPO)."""
    return {
        "run": "online", "seed": seed, "rounds": rounds, "model": {"path": str(start)},
        "prompts": str(prompts), "samples_per_prompt": samples, "backend": dict(backend),
        "scorer": {"kind": "reward_model", "model": str(reward), "label": "reward"},
        "metrics": [TFIDF] if deviation else [], "pair_builder": {"kind": "best_vs_worst"},
        "weights": {"preset": "paper"},
        "stage": {"objective": {"kind": "ddpo" if deviation else "dpo"}, "args": dict(stage_args)},
        # the per-round curve: a held-out metric (distinct-2; TF-IDF drives the weights)
        "eval": {"prompts": str(eval_prompts), "limit": 8, "samples_per_prompt": 4,
                 "metrics": [{"kind": "distinct_n", "n": 2, "label": "distinct_2"}]},
        "output": {"dir": str(out), "on_existing": "restart"},
    }


def grpo_spec(out: Path, *, start: Path, prompts: Path, reward: Path, seed: int, samples: int,
              max_new_tokens: int, args: Mapping[str, Any]) -> dict:
    """``run: train`` with one ``grpo`` stage from ``start``: reward = the reward model's score +
    the completion's TF-IDF deviation within its group of ``samples`` (combine: add; the reward
    model's scores are unbounded logits, so the product would reward diversity of bad answers)."""
    return {"run": "train", "seed": seed, "model": {"path": str(start)}, "data": {"train": str(prompts)},
            "stages": [{"name": "grpo", "kind": "grpo", "init": "base",
                        "reward": {"quality": {"kind": "reward_model", "model": str(reward)},
                                   "diversity": TFIDF, "combine": "add"},
                        "args": {"per_device_train_batch_size": samples, "num_generations": samples,
                                 "max_completion_length": max_new_tokens, **args}}],
            "output": {"dir": str(out), "on_existing": "restart"}}


def evaluate_spec(root: Path, out: Path, systems: Mapping[str, Path], *, samples: int, seed: int,
                  backend: Mapping[str, Any], bootstrap: int = 1000, extra_metrics: bool = True) -> dict:
    """``run: evaluate``: K samples per held-out prompt from each system, divtools' diversity metrics."""
    metrics = [TFIDF, {"kind": "distinct_n", "n": 2, "label": "distinct_2"}]
    if extra_metrics:
        metrics += [{"kind": "ngram_diversity"}, {"kind": "self_bleu"}, {"kind": "compression_ratio"}]
    return {
        "run": "evaluate", "seed": seed, "samples_per_prompt": samples,
        "gold": {"path": str(root / "eval_src.jsonl"), "name": "human"},
        "systems": [{"name": name, "backend": {**backend, "model": str(path)}} for name, path in systems.items()],
        "metrics": metrics, "scorers": [{"kind": "length"}],
        "reporters": [{"kind": "json"}], "bootstrap_samples": bootstrap,
        "output": {"dir": str(out), "on_existing": "restart"},
    }


def break_weights(src: Path, dst: Path, how: str, *, seed: int = 0) -> Path:
    """A copy of prepare's ``train.jsonl`` with the weight wiring broken on purpose:
    ``shuffle`` permutes the weight column across pairs (same weights, wrong pairs);
    ``ones`` sets every weight to 1 (DDPO becomes DPO)."""
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    weights = [r["weight"] for r in rows]
    if how == "shuffle":
        random.Random(seed).shuffle(weights)
    elif how == "ones":
        weights = [1.0] * len(rows)
    else:
        raise ValueError(f"how must be 'shuffle' or 'ones', got {how!r}")
    for row, w in zip(rows, weights):
        row["weight"] = w
    return write_rows(rows, dst)


def analyse(report_path: Path, *, seed: int = 0, bootstrap: int = 1000) -> dict[str, dict[str, Any]]:
    """Per system: the checker's statistics (mean and bootstrap 95% CI over prompts) and divtools'
    metric means from ``report.json``; the samples are read from ``samples.jsonl`` beside it."""
    from divtools.evaluate.bootstrap import aggregate

    report = json.loads(report_path.read_text(encoding="utf-8"))
    by_system: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for line in (report_path.parent / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_system[row["system"]][row["prompt_id"]].append(row["response"])
    out: dict[str, dict[str, Any]] = {}
    for system, prompts in by_system.items():
        stats = summarise(prompts)
        entry: dict[str, Any] = {}
        for name in CHECKER_STATS:
            agg = aggregate({p: s[name] for p, s in stats.items()}, seed=seed, samples=bootstrap,
                            system=system, label=name)
            entry[name] = {"mean": agg["mean"], "ci95": agg["ci95"]}
        for label, value in report["results"][system].items():
            entry[label] = {"mean": value["mean"], "ci95": value["ci95"]}
        out[system] = entry
    return out
