"""The paper's four DPO-family variants from one SFT, with and without the shared reference store.

Baseline: ``share_reference_logps: false`` on every stage — each of DPO, DDPO-sem, DDPO-sty and
DDPO-both runs the reference forward pass on every step of every epoch, as TRL does.
Candidate: the default, the shared store (:mod:`divtools.train.ref_store`) — the first stage
computes the reference log-probs once, the other three read them and run no reference.

Both are one ``run: train`` spec with the stages sft → dpo, ddpo_sem, ddpo_sty, ddpo_both (all from
the SFT checkpoint, as in the paper's recipe), run through divtools' own CLI in a fresh subprocess
with a fresh, empty divtools cache each. Measured per run:

- preference-training wall time: from the SFT stage's completion record to the last preference
  stage's (model loading, the store's pass, training and saving of all four stages);
- peak memory: the subprocess's peak RSS (``ru_maxrss``), with glibc serving allocations over 64 KiB
  by mmap so freed tensors leave RSS at once.

Runs alternate baseline, candidate, baseline, ... (``--repeats`` each) so drifting load from other
processes on a shared machine hits both alike; the ratio is of the medians.

    python benchmarks/ref_logps_sharing.py                                     # ~4.3M-param Llama, full weights
    python benchmarks/ref_logps_sharing.py --model preset:smollm2-135m-instruct --lora 16 --pairs 8 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KJV = ROOT / "tests" / "train" / "data" / "kjv_proverbs.jsonl"
VARIANTS = [("dpo", {"kind": "dpo"}), ("ddpo_sem", {"kind": "ddpo", "weight_column": "weight_semantic"}),
            ("ddpo_sty", {"kind": "ddpo", "weight_column": "weight_style"}), ("ddpo_both", {"kind": "ddpo"})]


def _pairs(path: Path, n: int) -> None:
    texts = [json.loads(line)["text"] for line in KJV.read_text(encoding="utf-8").splitlines() if line.strip()]
    weights = [1.0, 0.5, 0.0, 1.5, 2.0, 1.0, 0.25, 0.75]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            row = {"prompt": f"Write a proverb, number {i}.",
                   "chosen": " ".join(texts[(2 * i + k) % len(texts)] for k in range(2)),
                   "rejected": " ".join(texts[(2 * i + 7 + k) % len(texts)] for k in range(2)),
                   "weight": weights[i % 8], "weight_semantic": weights[(i + 3) % 8], "weight_style": weights[(i + 5) % 8]}
            fh.write(json.dumps(row) + "\n")


def _spec(model: str, pairs: Path, out: Path, args: argparse.Namespace, share: bool) -> dict:
    train_args = {"per_device_train_batch_size": args.batch, "num_train_epochs": args.epochs, "logging_steps": 1,
                  "max_length": args.max_length, "learning_rate": 1e-4, "save_strategy": "no"}
    lora = {"r": args.lora, "alpha": 2 * args.lora, "dropout": 0.0} if args.lora else None
    sft = {"name": "sft", "kind": "sft", "args": {**train_args, "num_train_epochs": 1}}
    stages = [sft | ({"lora": lora} if lora else {})]
    for name, objective in VARIANTS:
        stage = {"name": name, "kind": "preference", "init": "sft", "objective": objective,
                 "share_reference_logps": share, "args": train_args}
        stages.append(stage | ({"lora": lora} if lora else {}))
    return {"run": "train", "seed": 0, "model": {"path": model, "dtype": "float32"}, "data": {"train": str(pairs)},
            "output": {"dir": str(out)}, "stages": stages}


def worker(spec_file: str) -> None:
    from divtools.cli.main import main

    code = 0
    try:
        main(["run", "--quiet", spec_file])
    except SystemExit as exc:
        code = exc.code or 0
    print(json.dumps({"exit": code, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def one_run(model: str, pairs: Path, work: Path, args: argparse.Namespace, share: bool, tag: str) -> dict:
    out = work / f"out-{tag}"
    spec_file = work / f"spec-{tag}.json"
    spec_file.write_text(json.dumps(_spec(model, pairs, out, args, share)))
    env = {**os.environ, "DIVTOOLS_CACHE": str(work / f"cache-{tag}"), "MALLOC_MMAP_THRESHOLD_": "65536",
           "HF_HUB_OFFLINE": "1", "TRL_EXPERIMENTAL_SILENCE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, __file__, "--worker", str(spec_file)], env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines or json.loads(lines[-1])["exit"] != 0:
        sys.exit(f"run {tag} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    done = lambda stage: (out / stage / "divtools-stage.json").stat().st_mtime  # noqa: E731
    seconds = done(VARIANTS[-1][0]) - done("sft")
    paths = [json.loads((out / name / "reference-logps.json").read_text())["line"] for name, _ in VARIANTS]
    return {"share": share, "preference_s": round(seconds, 2), "peak_rss_mib": round(json.loads(lines[-1])["maxrss_kib"] / 1024, 1),
            "reference_paths": paths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="'tiny' (a ~4.3M-param Llama built here) or any divtools model reference")
    parser.add_argument("--lora", type=int, default=0, help="LoRA rank (0: full weights, separate reference model)")
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3, help="the paper trains DPO/DDPO for 3 epochs")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = args.model
        if model == "tiny":
            from divtools.models.tiny import build_tiny_causal_lm

            texts = [json.loads(line)["text"] for line in KJV.read_text(encoding="utf-8").splitlines() if line.strip()]
            model = str(build_tiny_causal_lm(texts, work / "tiny-lm", seed=0, hidden_size=256, num_layers=4))
        else:  # a preset or .gguf file: materialised once here, so no run pays for it
            from divtools.models.resolve import resolve_model_ref

            model = resolve_model_ref(model)
        pairs = work / "pairs.jsonl"
        _pairs(pairs, args.pairs)
        runs = []
        for r in range(args.repeats):
            for share in (False, True):
                result = one_run(model, pairs, work, args, share, f"{r}-{int(share)}")
                print(json.dumps(result), flush=True)
                runs.append(result)
    med = {s: {k: statistics.median(x[k] for x in runs if x["share"] is s) for k in ("preference_s", "peak_rss_mib")}
           for s in (False, True)}
    print(json.dumps({
        "model": args.model, "lora": args.lora, "pairs": args.pairs, "epochs": args.epochs, "repeats": args.repeats,
        "without_store": med[False], "with_store": med[True],
        "time_ratio": round(med[True]["preference_s"] / med[False]["preference_s"], 3),
        "peak_memory_ratio": round(med[True]["peak_rss_mib"] / med[False]["peak_rss_mib"], 3),
    }))


if __name__ == "__main__":
    main()
