"""Does the method work? Every objective on the synthetic task with a known answer.

    .venv/bin/python benchmarks/method_effect.py --model tiny --seeds 1 2 3
    .venv/bin/python benchmarks/method_effect.py --model smollm2 --seeds 1 --objectives dpo ddpo_paper ddpo_floor

Per training seed: ``run: prepare`` of the task's pools (gap-5 pairs, TF-IDF deviation, weight
presets ``paper``, ``paper_floor`` and ``paper`` + a cap; DivPO pairs), one ``run: train``
(SFT, then DPO, DDPO ×3 presets, DivPO, ORPO and DORPO, each from SFT) and one ``run: evaluate``
(K samples per held-out prompt from every model, divtools' diversity metrics). Only divtools
specs are run (``benchmarks/method_task.py`` writes them). The checker
(:mod:`divtools.synthetic`) then gives each sample its mode and quality: mode entropy, rare-mode
share, modes per prompt and quality share per prompt.

Across seeds: the per-prompt values are averaged over seeds and a bootstrap 95% CI is taken over
prompts; the spread of the per-seed means (min..max) is reported too. Output: ``results.json``
and ``results.md`` (the table for docs/benchmarks.md) in ``--out``.

Tiny model: a 2-layer Llama trained from scratch (``from_config``; a tokenizer trained on the
task's words). SmolLM2: ``preset:smollm2-135m-instruct`` with LoRA (r 16), short samples.
ORPO and DORPO start from SFT here (the paper starts them from the base model; a from-scratch
base model writes nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.method_task import (  # noqa: E402
    CHECKER_STATS,
    analyse,
    build_tiny_model,
    evaluate_spec,
    grpo_spec,
    online_spec,
    prepare_spec,
    prompts_file,
    run,
    train_spec,
    write_task,
)
from divtools.synthetic import TaskConfig, config_dict  # noqa: E402

#: weight settings per DDPO/DORPO variant (a prepare run each)
WEIGHTS = {
    "paper": {"preset": "paper"},
    "floor": {"preset": "paper_floor"},
    "cap": {"preset": "paper", "cap": 1.5},
}

#: objective -> (objective params, which prepared data)
OBJECTIVES = {
    "dpo": ({"kind": "dpo"}, "paper"),
    "ddpo_paper": ({"kind": "ddpo"}, "paper"),
    "ddpo_floor": ({"kind": "ddpo"}, "floor"),
    "ddpo_cap": ({"kind": "ddpo"}, "cap"),
    "divpo": ({"kind": "divpo"}, "divpo"),
    # rho 25 on pools of 8 gives high and low sets of 2 = pairs_per_prompt: no diversity choice left
    "divpo_rho50": ({"kind": "divpo"}, "divpo50"),
    "orpo": ({"kind": "orpo"}, "paper"),
    "dorpo": ({"kind": "dorpo"}, "paper"),
}

#: the on-policy variants (issue: on-policy training), each from SFT with the same reward model
#: (Bradley-Terry on the offline pairs) as their only quality signal; "2r": 2 rounds of run: online
ONLINE = ("online_dpo_2r", "online_ddpo_2r", "grpo")

#: per model: how it is loaded and trained, and sampled
SETTINGS = {
    "tiny": {
        "sft": {"learning_rate": 1e-2, "lr_scheduler_type": "cosine", "warmup_steps": 10, "num_train_epochs": 24,
                "per_device_train_batch_size": 32, "logging_steps": 100},
        "po": {"learning_rate": 5e-4, "num_train_epochs": 3, "per_device_train_batch_size": 8, "logging_steps": 100},
        "orpo": {"learning_rate": 5e-4, "num_train_epochs": 3, "per_device_train_batch_size": 8, "logging_steps": 100},
        "rm": {"learning_rate": 1e-3, "num_train_epochs": 3, "per_device_train_batch_size": 16, "logging_steps": 100},
        # each round trains on one pair per prompt (64), so more epochs than offline's 168 pairs
        "online": {"learning_rate": 5e-4, "num_train_epochs": 4, "per_device_train_batch_size": 8,
                   "logging_steps": 100},
        "grpo": {"learning_rate": 5e-4, "num_train_epochs": 1, "logging_steps": 100, "temperature": 1.0},
        "lora": None,
        "backend": {"kind": "transformers", "max_new_tokens": 8, "batch_size": 16, "repetition_penalty": 1.0},
        "config": {"n_prompts": 64, "n_eval_prompts": 32, "pool_size": 8},
        "samples": 8,
    },
    "smollm2": {
        # 1 epoch on 16 prompts (10 steps) left SmolLM2 writing its own words ("the ship is dark."):
        # no sample of a rare mode, so every model's mode entropy was 0; 4 epochs on 32 prompts
        "sft": {"learning_rate": 1e-3, "lr_scheduler_type": "cosine", "warmup_steps": 4, "num_train_epochs": 4,
                "per_device_train_batch_size": 8, "logging_steps": 10},
        "po": {"learning_rate": 5e-4, "num_train_epochs": 1, "per_device_train_batch_size": 8, "logging_steps": 2},
        "orpo": {"learning_rate": 5e-4, "num_train_epochs": 1, "per_device_train_batch_size": 8, "logging_steps": 2},
        "lora": {"r": 16, "alpha": 32},
        "backend": {"kind": "transformers", "max_new_tokens": 10, "batch_size": 8, "repetition_penalty": 1.0},
        "config": {"n_prompts": 32, "n_eval_prompts": 8, "pool_size": 8},
        "samples": 8,
    },
}


def _stages(settings: dict, objectives: list[str], data: dict[str, Path]) -> list[dict]:
    lora = {"lora": settings["lora"]} if settings["lora"] else {}
    stages = [{"name": "sft", "kind": "sft", "responses": "all", "args": settings["sft"], **lora}]
    for name in objectives:
        objective, which = OBJECTIVES[name]
        args = settings["orpo" if objective["kind"] in ("orpo", "dorpo") else "po"]
        stages.append({"name": name, "kind": "preference", "init": "sft", "objective": objective,
                       "data": {"train": str(data[which])}, "args": args, **lora})
    return stages


#: the on-policy variants' cost baseline: the offline DDPO stage alone, from SFT, in its own run
BASELINE = "offline_ddpo_alone"


def _on_policy(root: Path, settings: dict, variants: list[str], pairs: Path, seed: int) -> dict[str, tuple[Path, float]]:
    """Train the cost baseline and the on-policy variants from SFT; {name: (model folder, wall seconds)}."""
    train = root / "train"
    prompts = prompts_file(pairs, root / "train_prompts.jsonl")
    eval_prompts = prompts_file(root / "eval_src.jsonl", root / "eval_prompts.jsonl")
    common = {"start": train / "sft", "prompts": prompts, "reward": train / "rm", "seed": seed}
    t = time.perf_counter()
    stage = {"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": settings["po"]}
    run(train_spec({"path": str(train / "sft")}, pairs, root / "ddpo-alone", [stage], seed=seed), root)
    out = {BASELINE: (root / "ddpo-alone" / "ddpo", time.perf_counter() - t)}
    for name in variants:
        t = time.perf_counter()
        if name == "grpo":
            run(grpo_spec(root / "grpo", samples=settings["samples"], args=settings["grpo"],
                          max_new_tokens=settings["backend"]["max_new_tokens"], **common), root)
            out[name] = (root / "grpo" / "grpo", time.perf_counter() - t)
        else:
            folder = root / name
            run(online_spec(folder, eval_prompts=eval_prompts, rounds=2, samples=settings["samples"],
                            backend=settings["backend"], stage_args=settings["online"],
                            deviation=name.startswith("online_ddpo"), **common), root)
            out[name] = (folder / "round-2" / "train" / "policy", time.perf_counter() - t)
    return out


def _train_cost(folder: Path) -> dict[str, float]:
    """Optimizer steps and TRL's ``train_runtime`` (seconds in ``Trainer.train``, no loading) of a
    stage folder, or summed over the rounds of a ``run: online`` folder."""
    logs = sorted(folder.glob("round-*/train/policy/log.jsonl")) or [folder / "log.jsonl"]
    steps, runtime = 0, 0.0
    for log in logs:
        rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
        final = [r for r in rows if "train_runtime" in r][-1]
        steps += int(final["step"])
        runtime += float(final["train_runtime"])
    return {"steps": steps, "train_runtime": runtime}


def run_seed(root: Path, model: str, seed: int, objectives: list[str], config: TaskConfig, settings: dict) -> dict:
    # a seed folder belongs to one task: another config (e.g. --prompts) starts it clean; the same
    # one resumes (finished training stages are skipped)
    task = root / "task.json"
    if task.exists() and json.loads(task.read_text(encoding="utf-8")) != config_dict(config):
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    from divtools.atomic import write_json

    write_json(task, config_dict(config))
    write_task(root, config)
    if model == "tiny":
        model_spec = {"path": str(build_tiny_model(root, config)), "from_config": True}
    else:
        model_spec = {"path": "preset:smollm2-135m-instruct", "dtype": "float32"}
    t0 = time.perf_counter()
    data: dict[str, Path] = {}
    offline = [o for o in objectives if o in OBJECTIVES]
    online = [o for o in objectives if o in ONLINE]
    needed = {OBJECTIVES[o][1] for o in offline} | ({"paper"} if online or not offline else set())
    for which in sorted(needed):
        out = root / f"prep-{which}"
        if which.startswith("divpo"):
            run(prepare_spec(root, out, seed=seed, divpo=True, rho=50.0 if which == "divpo50" else 25.0), root)
        else:
            run(prepare_spec(root, out, seed=seed, weights=WEIGHTS[which]), root)
        data[which] = out / "train.jsonl"
    t1 = time.perf_counter()
    base_data = data.get("paper") or next(iter(data.values()))
    stages = _stages(settings, offline, data)
    if online:  # the on-policy variants' quality signal, trained on the offline pairs
        stages.append({"name": "rm", "kind": "reward_model", "init": "sft", "loss": "bradley_terry",
                       "data": {"train": str(data["paper"])}, "args": settings["rm"]})
    run(train_spec(model_spec, base_data, root / "train", stages, seed=seed, on_existing="resume"), root)
    t2 = time.perf_counter()
    seconds = {"prepare": t1 - t0, "train": t2 - t1}
    systems = {name: root / "train" / name for name in ["sft", *offline]}
    cost = {name: {**_train_cost(folder), "wall": None} for name, folder in systems.items()}
    if online:
        for name, (folder, secs) in _on_policy(root, settings, online, data["paper"], seed).items():
            seconds[name] = secs
            cost[name] = {**_train_cost(root / name if name.startswith("online_") else folder), "wall": secs}
            if name != BASELINE:
                systems[name] = folder
    t3 = time.perf_counter()
    report = run(evaluate_spec(root, root / "eval", systems, samples=settings["samples"], seed=seed,
                               backend=settings["backend"]), root)
    seconds["evaluate"] = time.perf_counter() - t3
    return {"seed": seed, "stats": analyse(report, seed=seed), "per_prompt": _per_prompt(report), "cost": cost,
            "seconds": seconds}


def _per_prompt(report_path: Path) -> dict:
    """{system: {stat: {prompt_id: value}}} for the checker's statistics and divtools' metrics."""
    from collections import defaultdict

    from divtools.synthetic import summarise

    report = json.loads(report_path.read_text(encoding="utf-8"))
    texts: dict = defaultdict(lambda: defaultdict(list))
    for line in (report_path.parent / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts[row["system"]][row["prompt_id"]].append(row["response"])
    out: dict = {}
    for system, prompts in texts.items():
        stats = summarise(prompts)
        out[system] = {name: {p: s[name] for p, s in stats.items()} for name in CHECKER_STATS}
        for label, value in report["results"][system].items():
            out[system][label] = value["per_prompt"]
    return out


def combine(runs: list[dict], bootstrap: int = 1000) -> dict:
    """Per system and statistic: mean over seeds, min..max of the seed means, and a bootstrap 95%
    CI over prompts of the per-prompt values averaged over seeds."""
    from divtools.evaluate.bootstrap import aggregate

    systems = list(runs[0]["per_prompt"])
    out: dict = {}
    for system in systems:
        out[system] = {}
        for stat in runs[0]["per_prompt"][system]:
            prompts = list(runs[0]["per_prompt"][system][stat])
            avg = {}
            for p in prompts:
                vals = [r["per_prompt"][system][stat].get(p) for r in runs]
                vals = [v for v in vals if v is not None and np.isfinite(v)]
                avg[p] = float(np.mean(vals)) if vals else float("nan")
            agg = aggregate(avg, seed=0, samples=bootstrap, system=system, label=stat)
            seed_means = [m for r in runs if (m := r["stats"][system][stat]["mean"]) is not None]
            out[system][stat] = {"mean": agg["mean"], "ci95": agg["ci95"],
                                 "seed_min": min(seed_means, default=None), "seed_max": max(seed_means, default=None)}
    return out


#: the per-seed means shown next to these statistics (the seed spread is wider than the prompt CI)
PER_SEED = ("mode_entropy", "quality_share")

#: (candidate, baseline) pairs whose per-seed differences are reported, when both were trained
PAIRED = [("ddpo_paper", "dpo"), ("ddpo_floor", "dpo"), ("ddpo_cap", "dpo"), ("divpo_rho50", "divpo"),
          ("dorpo", "orpo"), ("online_ddpo_2r", "online_dpo_2r"), ("online_ddpo_2r", "ddpo_paper"),
          ("grpo", "ddpo_paper")]


def table(combined: dict, stats: list[str], runs: list[dict]) -> str:
    """Mean [bootstrap 95% CI over prompts] per statistic; for PER_SEED, each seed's mean too."""
    head = [s for stat in stats for s in ([stat, "seeds"] if stat in PER_SEED else [stat])]
    lines = ["| system | " + " | ".join(head) + " |", "|" + "---|" * (len(head) + 1)]
    for system, entry in combined.items():
        cells = []
        for stat in stats:
            e = entry[stat]
            cells.append("—" if e["mean"] is None else f"{e['mean']:.2f} [{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}]")
            if stat in PER_SEED:
                cells.append(" / ".join(_fmt(r["stats"][system][stat]["mean"]) for r in runs))
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float | None, sign: str = "") -> str:
    return "—" if value is None else f"{value:{sign}.2f}"


def paired_table(runs: list[dict]) -> str:
    """Candidate − baseline, seed by seed (same seed: same SFT, same task), for PER_SEED."""
    lines = ["| candidate − baseline | " + " | ".join(f"Δ {s}, per seed" for s in PER_SEED) + " |", "|---|---|---|"]
    trained = runs[0]["stats"]
    for cand, base in PAIRED:
        if cand in trained and base in trained:
            cells = [" / ".join(_fmt(r["stats"][cand][s]["mean"] - r["stats"][base][s]["mean"], "+") for r in runs)
                     for s in PER_SEED]
            lines.append(f"| {cand} − {base} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cost_table(runs: list[dict]) -> str:
    """Per trained system, means over seeds: optimizer steps, seconds inside ``Trainer.train``
    (all rounds), and the wall time of the on-policy variants' whole run (sampling, scoring,
    pairs, training, the per-round evaluations) and of the offline DDPO stage alone, from SFT, as
    their baseline (its own ``run: train``: loading included, the pairs' prepare not)."""
    lines = ["| system | optimizer steps | seconds in Trainer.train | whole variant, wall s |", "|---|---:|---:|---:|"]
    for system in runs[0]["cost"]:
        costs = [r["cost"][system] for r in runs]
        walls = [c["wall"] for c in costs if c["wall"] is not None]
        wall = f"{np.mean(walls):.1f}" if walls else "— (inside the shared train run)"
        lines.append(f"| {system} | {np.mean([c['steps'] for c in costs]):.0f} | "
                     f"{np.mean([c['train_runtime'] for c in costs]):.2f} | {wall} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(SETTINGS), default="tiny")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--objectives", nargs="+", choices=[*OBJECTIVES, *ONLINE], default=None,
                    help="default: every objective (and, on the tiny model, the on-policy variants)")
    ap.add_argument("--pool-size", type=int, default=None, help="responses per prompt (default: the model's)")
    ap.add_argument("--prompts", type=int, default=None, help="training prompts (default: the model's)")
    ap.add_argument("--out", type=Path, default=Path("runs/method_effect"))
    args = ap.parse_args(argv)

    settings = SETTINGS[args.model]
    if args.objectives is None:
        args.objectives = [*OBJECTIVES, *ONLINE] if "online" in settings else list(OBJECTIVES)
    if "online" not in settings and set(args.objectives) & set(ONLINE):
        ap.error(f"the on-policy variants ({', '.join(ONLINE)}) are set up for --model tiny only; "
                 f"leave them out of --objectives for --model {args.model}")
    cfg = dict(settings["config"])
    if args.pool_size:
        cfg["pool_size"] = args.pool_size
    if args.prompts:
        cfg["n_prompts"] = args.prompts
    config = TaskConfig(seed=0, **cfg)
    # the evaluation compares with N gold responses per prompt: smaller pools, fewer samples
    settings = {**settings, "samples": min(settings["samples"], config.pool_size)}
    out = args.out.resolve() / f"{args.model}-pool{config.pool_size}"
    started = time.perf_counter()
    runs = []
    for seed in args.seeds:
        result = run_seed(out / f"seed{seed}", args.model, seed, args.objectives, config, settings)
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items()), flush=True)
        runs.append(result)
    from divtools.atomic import write_json, write_text

    write_json(out / "per_seed.json", runs)  # kept even if the summary below fails
    combined = combine(runs)
    stats = ["mode_entropy", "rare_share", "modes", "quality_share", "valid_share", "tfidf", "distinct_2", "self_bleu"]
    md = table(combined, stats, runs) + "\n\n" + paired_table(runs) + "\n\n" + cost_table(runs)
    record = {
        "command": " ".join(["benchmarks/method_effect.py", *(argv if argv is not None else sys.argv[1:])]),
        "model": args.model, "seeds": args.seeds, "task": config_dict(config), "settings": settings,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}",
        "load_average_at_end": os.getloadavg(), "wall_seconds": time.perf_counter() - started,
        "per_seed_seconds": [r["seconds"] for r in runs], "combined": combined,
        "per_seed": [{"seed": r["seed"], "stats": r["stats"]} for r in runs],
    }
    write_json(out / "results.json", record)
    write_text(out / "results.md", md + "\n")
    print(md)
    print(f"wall {record['wall_seconds']:.0f} s; load average {record['load_average_at_end']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
