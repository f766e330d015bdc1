"""What on-policy training costs: offline DDPO (baseline) vs one round of ``run: online`` vs a
``grpo`` stage, same model, same prompts, same number of optimizer steps, in one process.

- baseline ``offline_ddpo``: ``run: prepare`` on K fixed human responses per prompt (KJV verses,
  length as the score, distinct-1 deviation weights) + ``run: train`` with one DDPO stage;
- ``online_ddpo``: ``run: online`` with one round: sample K responses per prompt from the model
  (transformers backend), score, prepare, the same DDPO stage; timed per step (the round-0 and
  round-1 evaluations are timed apart and left out of the total);
- ``grpo``: ``run: train`` with one ``grpo`` stage (quality = length × distinct-1 deviation,
  num_generations K), one prompt per optimizer step.

Runs alternate the variants ``--repeats`` times; medians are reported. Every variant is a divtools
spec run through :func:`divtools.runs.run_spec`.

    python benchmarks/online_cost.py                       # tiny Llama (~0.16M params), CPU
    python benchmarks/online_cost.py --prompts 16 --steps 8 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
KJV = ROOT / "tests" / "train" / "data" / "kjv_proverbs.jsonl"
TOPICS = ["wisdom", "folly", "wealth", "speech", "pride", "work", "friends", "anger"]


def _texts() -> list[str]:
    return [json.loads(line)["text"] for line in KJV.read_text(encoding="utf-8").splitlines() if line.strip()]


def _files(root: Path, n_prompts: int, k: int) -> tuple[Path, Path]:
    texts = _texts()
    prompts = [f"Write a proverb about {TOPICS[i % len(TOPICS)]}, number {i}." for i in range(n_prompts)]
    prompts_file = root / "prompts.jsonl"
    prompts_file.write_text("".join(json.dumps({"prompt_id": f"p{i}", "prompt": p}) + "\n" for i, p in enumerate(prompts)))
    rows = root / "human.jsonl"
    rows.write_text("".join(json.dumps({"prompt_id": f"p{i}", "prompt": p, "response": texts[(k * i + j) % len(texts)],
                                        "score": len(texts[(k * i + j) % len(texts)].split())}) + "\n"
                            for i, p in enumerate(prompts) for j in range(k)))
    return prompts_file, rows


def _stage_args(steps: int) -> dict:
    return {"per_device_train_batch_size": 2, "max_steps": steps, "logging_steps": 1, "max_length": 96, "learning_rate": 1e-3}


def offline(root: Path, lm: Path, rows: Path, steps: int) -> dict[str, float]:
    from divtools.runs import run_spec_data

    t0 = time.perf_counter()
    run_spec_data({"run": "prepare", "source": {"kind": "jsonl", "path": str(rows),
                                                "columns": {"prompt_id": "prompt_id"}},
                   "split": {"eval_fraction": 0.0}, "pair_builder": {"kind": "best_vs_worst"},
                   "metrics": [{"kind": "distinct_n", "n": 1}], "output": {"dir": str(root / "prep")}},
                  file="offline-prepare", base_dir=root, quiet=True)
    t1 = time.perf_counter()
    run_spec_data({"run": "train", "model": str(lm), "data": {"train": str(root / "prep" / "train.jsonl")},
                   "stages": [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"},
                               "args": _stage_args(steps)}], "output": {"dir": str(root / "train")}},
                  file="offline-train", base_dir=root, quiet=True)
    t2 = time.perf_counter()
    return {"pairs": t1 - t0, "train": t2 - t1, "total": t2 - t0}


def online(root: Path, lm: Path, prompts: Path, k: int, steps: int, new_tokens: int) -> dict[str, float]:
    import divtools.train.online as online_run
    from divtools.runs import run_spec_data

    times: dict[str, float] = {}
    real = online_run._run

    def timed(data, where, quiet):
        t = time.perf_counter()
        try:
            return real(data, where, quiet)
        finally:
            key = where.split(": ", 1)[1]
            times[key] = times.get(key, 0.0) + time.perf_counter() - t

    online_run._run = timed
    try:
        run_spec_data({"run": "online", "rounds": 1, "model": str(lm), "prompts": str(prompts), "samples_per_prompt": k,
                       "backend": {"kind": "transformers", "max_new_tokens": new_tokens, "batch_size": 8},
                       "scorer": {"kind": "length"}, "metrics": [{"kind": "distinct_n", "n": 1}],
                       "stage": {"objective": {"kind": "ddpo"}, "args": _stage_args(steps)},
                       "eval": {"samples_per_prompt": 2, "limit": 2, "metrics": [{"kind": "self_bleu"}]},
                       "output": {"dir": str(root / "online")}}, file="online", base_dir=root, quiet=True)
    finally:
        online_run._run = real
    times["total"] = times["sample"] + times["pairs"] + times["train"]
    return times


def grpo(root: Path, lm: Path, prompts: Path, k: int, steps: int, new_tokens: int) -> dict[str, float]:
    from divtools.runs import run_spec_data

    t0 = time.perf_counter()
    run_spec_data({"run": "train", "model": str(lm), "data": {"train": str(prompts)},
                   "stages": [{"name": "grpo", "kind": "grpo", "init": "base",
                               "reward": {"quality": {"kind": "length"}, "diversity": {"kind": "distinct_n", "n": 1}},
                               "args": {"per_device_train_batch_size": k, "num_generations": k, "max_steps": steps,
                                        "max_completion_length": new_tokens, "logging_steps": 1, "learning_rate": 1e-3}}],
                   "output": {"dir": str(root / "grpo")}}, file="grpo", base_dir=root, quiet=True)
    return {"train": time.perf_counter() - t0, "total": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--k", type=int, default=4, help="samples per prompt (GRPO: num_generations)")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps of every variant")
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write results.json here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from divtools.models.tiny import build_tiny_causal_lm
    from divtools.progress import configure_libraries

    configure_libraries(True)
    results: dict[str, list[dict[str, float]]] = {"offline_ddpo": [], "online_ddpo": [], "grpo": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lm = build_tiny_causal_lm(_texts(), root / "lm", seed=0)
        prompts, rows = _files(root, args.prompts, args.k)
        for rep in range(args.repeats):
            for name in results:
                work = root / f"{name}-{rep}"
                work.mkdir()
                if name == "offline_ddpo":
                    results[name].append(offline(work, lm, rows, args.steps))
                elif name == "online_ddpo":
                    results[name].append(online(work, lm, prompts, args.k, args.steps, args.new_tokens))
                else:
                    results[name].append(grpo(work, lm, prompts, args.k, args.steps, args.new_tokens))
    medians = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]} for name, runs in results.items()}
    base = medians["offline_ddpo"]["total"]
    print(f"{args.prompts} prompts, K={args.k}, {args.steps} optimizer steps, {args.new_tokens} new tokens, "
          f"median of {args.repeats}; seconds")
    print("| variant | sample + score | pairs | train | total | × offline |")
    print("|---|---|---|---|---|---|")
    for name, m in medians.items():
        print(f"| {name} | {m.get('sample', 0):.1f} | {m.get('pairs', 0):.1f} | {m['train']:.1f} | {m['total']:.1f} | "
              f"{m['total'] / base:.2f} |")
    if "eval" in medians["online_ddpo"]:
        print(f"(online round-0 + round-1 evaluations, not in the total: {medians['online_ddpo']['eval']:.1f} s)")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                           "runs": results, "medians": medians}, indent=2))


if __name__ == "__main__":
    main()
