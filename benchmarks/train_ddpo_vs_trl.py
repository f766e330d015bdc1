"""DDPO (divtools' PreferenceTrainer + ddpo objective) vs TRL's own DPOTrainer, same model/data/batch.

Baseline: ``trl.DPOTrainer`` (loss_type sigmoid, β 0.1) with a separate reference model.
Candidate: ``divtools.train.preference_trainer.PreferenceTrainer`` with the ``ddpo`` objective
(per-example weights from the data, batch mean) and the same reference set-up.

- step time (``--timing interleaved``, the default): both trainers are built in one process from
  the same weights, and their training steps (collated batch -> loss -> backward -> optimizer step,
  the part of a Trainer step that differs) alternate on identical batches, so load from other
  processes on a shared machine hits both alike. The ratio is the median over steps of the ratio
  of the two adjacent step times; the ratio of the fastest steps is printed too.
  ``--timing trainer`` instead times whole ``Trainer.train`` steps in separate subprocesses.
- peak memory: each trainer runs ``Trainer.train`` in a fresh subprocess (alternating, ``--repeats``
  times); on CUDA ``torch.cuda.max_memory_allocated`` during training, on CPU the growth of the
  process's peak RSS during training (``ru_maxrss`` after training − RSS before it), with glibc
  told to serve every allocation over 64 KiB by mmap (``MALLOC_MMAP_THRESHOLD_=65536``) so that
  freed tensors leave RSS at once and the peak is the peak of live memory, not of malloc's cache
  (without it the same allocations gave peaks up to 5% apart from one process to the next).

    python benchmarks/train_ddpo_vs_trl.py                   # ~4.3M-param Llama, CPU
    python benchmarks/train_ddpo_vs_trl.py --device cuda     # on a GPU
    python benchmarks/train_ddpo_vs_trl.py --model preset:smollm2-135m-instruct --lora 16
                                                             # SmolLM2-135M + LoRA (offline preset)

``--model`` takes any divtools model reference (folder, hub id, .gguf file, ``preset:<name>``).
With ``--lora R`` both trainers train the same LoRA (r R, alpha 2R, all linear layers, the same
initial adapter weights) and both use the disabled adapter as the reference, as divtools' LoRA
stages do; without it, all weights train against a separate reference model.

Prints one JSON line per run and the candidate/baseline ratios (median over repeats).
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KJV = ROOT / "tests" / "train" / "data" / "kjv_proverbs.jsonl"


def _texts() -> list[str]:
    return [json.loads(line)["text"] for line in KJV.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rows(texts: list[str], n: int) -> list[dict]:
    weights = [1.0, 0.5, 0.0, 1.5, 2.0, 1.0, 0.25, 0.75]
    rows = []
    for i in range(n):
        chosen = " ".join(texts[(2 * i + k) % len(texts)] for k in range(2))
        rejected = " ".join(texts[(2 * i + 7 + k) % len(texts)] for k in range(2))
        rows.append({"prompt": f"Write a proverb, number {i}.", "chosen": chosen, "rejected": rejected,
                     "weight": weights[i % len(weights)]})
    return rows


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peft(args: argparse.Namespace):
    """The LoRA both trainers train (None: all weights)."""
    if not args.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(r=args.lora, lora_alpha=2 * args.lora, lora_dropout=0.0, target_modules="all-linear",
                      task_type="CAUSAL_LM")


def worker(impl: str, model_dir: str, args: argparse.Namespace) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    cuda = args.device == "cuda"
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = _rows(_texts(), args.batch * (args.steps + args.warmup))
    config = DPOConfig(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=args.batch, max_steps=args.steps + args.warmup,
        learning_rate=1e-5, beta=0.1, loss_type=["sigmoid"], max_length=256, logging_steps=10_000,
        save_strategy="no", report_to="none", seed=0, bf16=cuda, use_cpu=not cuda,
        activation_checkpointing=False, disable_tqdm=True, dataloader_num_workers=0,
    )
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ref = None if args.lora else AutoModelForCausalLM.from_pretrained(model_dir)
    torch.manual_seed(0)  # the same initial LoRA weights in both workers
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            self.t = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - self.t)

    if impl == "trl":
        ds = Dataset.from_list([{k: v for k, v in r.items() if k != "weight"} for r in rows])
        trainer = DPOTrainer(model=model, ref_model=ref, args=config, train_dataset=ds, processing_class=tok,
                             callbacks=[Clock()], peft_config=_peft(args))
    else:
        from divtools.builtins.objectives import DDPOParams
        from divtools.objectives import DDPO
        from divtools.train.preference_trainer import PreferenceTrainer

        trainer = PreferenceTrainer(model=model, ref_model=ref, args=config, train_dataset=Dataset.from_list(rows),
                                    processing_class=tok, callbacks=[Clock()], objective=DDPO(DDPOParams(beta=0.1)),
                                    peft_config=_peft(args))
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_bytes()
    trainer.train()
    if cuda:
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    measured = times[args.warmup:]
    return {"impl": impl, "step_s": statistics.median(measured), "steps": len(measured), "peak_bytes": peak,
            "params": sum(p.numel() for p in model.parameters())}


def interleaved(model_dir: str, args: argparse.Namespace) -> dict:
    """Median per-step time of each trainer, steps alternating on the same batches."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from divtools.builtins.objectives import DDPOParams
    from divtools.objectives import DDPO
    from divtools.train.preference_trainer import PreferenceTrainer

    cuda = args.device == "cuda"
    tok = AutoTokenizer.from_pretrained(model_dir)
    total = args.steps + args.warmup
    rows = _rows(_texts(), args.batch * total)

    def config():
        return DPOConfig(
            output_dir=tempfile.mkdtemp(), per_device_train_batch_size=args.batch, max_steps=total,
            learning_rate=1e-5, beta=0.1, loss_type=["sigmoid"], max_length=256, report_to="none", seed=0,
            bf16=cuda, use_cpu=not cuda, activation_checkpointing=False, disable_tqdm=True,
        )

    def load():
        return AutoModelForCausalLM.from_pretrained(model_dir)

    def ref():
        return None if args.lora else load()

    trl_ds = Dataset.from_list([{k: v for k, v in r.items() if k != "weight"} for r in rows])
    torch.manual_seed(0)
    trl = DPOTrainer(model=load(), ref_model=ref(), args=config(), train_dataset=trl_ds, processing_class=tok,
                     peft_config=_peft(args))
    torch.manual_seed(0)  # the same initial LoRA weights
    ddpo = PreferenceTrainer(model=load(), ref_model=ref(), args=config(), train_dataset=Dataset.from_list(rows),
                             processing_class=tok, objective=DDPO(DDPOParams(beta=0.1)), peft_config=_peft(args))
    trainers = {"trl": trl, "ddpo": ddpo}
    for trainer in trainers.values():
        trainer.create_optimizer_and_scheduler(num_training_steps=total)
        trainer.model.train()
    times: dict[str, list[float]] = {"trl": [], "ddpo": []}
    for step in range(total):
        order = ["trl", "ddpo"] if step % 2 == 0 else ["ddpo", "trl"]
        for name in order:
            trainer = trainers[name]
            examples = [trainer.train_dataset[i] for i in range(step * args.batch, (step + 1) * args.batch)]
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            batch = trainer._prepare_inputs(trainer.data_collator(examples))
            loss = trainer.compute_loss(trainer.model, batch)
            loss.backward()
            trainer.optimizer.step()
            trainer.optimizer.zero_grad()
            if cuda:
                torch.cuda.synchronize()
            if step >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    ratios = [d / t for d, t in zip(times["ddpo"], times["trl"])]
    # each ratio compares two adjacent steps, so bursts of load from other processes cancel; the
    # fastest steps (timeit's convention) are reported too, but one lucky quiet step skews them
    return {"trl_step_s": statistics.median(times["trl"]), "ddpo_step_s": statistics.median(times["ddpo"]),
            "step_time_ratio": statistics.median(ratios), "min_step_ratio": min(times["ddpo"]) / min(times["trl"]),
            "trl_min_step_s": min(times["trl"]), "ddpo_min_step_s": min(times["ddpo"]), "timed_steps": len(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8, help="pairs per step")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="memory runs per trainer")
    parser.add_argument("--memory-steps", type=int, default=3, help="Trainer.train steps per memory run")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--timing", choices=["interleaved", "trainer"], default="interleaved")
    parser.add_argument("--model", help="a model reference (folder, hub id, .gguf, preset:<name>); "
                                         "default: a random tiny Llama of --hidden/--layers")
    parser.add_argument("--lora", type=int, default=0, help="train a LoRA of this rank (0: all weights)")
    parser.add_argument("--worker", choices=["trl", "ddpo"], help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.model_dir, args)))
        return

    if args.model:
        from divtools.models.resolve import resolve_model_ref

        model_dir = resolve_model_ref(args.model)
    else:
        from divtools.models.tiny import build_tiny_causal_lm

        model_dir = build_tiny_causal_lm(_texts(), Path(tempfile.mkdtemp()) / "lm", hidden_size=args.hidden,
                                         num_layers=args.layers, seed=0)
    results: dict[str, list[dict]] = {"trl": [], "ddpo": []}
    for rep in range(args.repeats):
        order = ["trl", "ddpo"] if rep % 2 == 0 else ["ddpo", "trl"]
        for impl in order:
            cmd = [sys.executable, __file__, "--worker", impl, "--model-dir", str(model_dir), "--hidden", str(args.hidden),
                   "--layers", str(args.layers), "--batch", str(args.batch), "--lora", str(args.lora),
                   "--steps", str(args.steps if args.timing == "trainer" else args.memory_steps),
                   "--warmup", str(args.warmup if args.timing == "trainer" else 1), "--device", args.device]
            env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_ARENA_MAX": "2"}
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1]
            record = json.loads(out)
            results[impl].append(record)
            print(json.dumps({"repeat": rep, **record}), flush=True)
    if args.timing == "interleaved":
        timing = interleaved(str(model_dir), args)
        print(json.dumps({"timing": "interleaved", **timing}), flush=True)
        t_trl, t_ddpo, ratio = timing["trl_step_s"], timing["ddpo_step_s"], timing["step_time_ratio"]
    else:
        t_trl = statistics.median(r["step_s"] for r in results["trl"])
        t_ddpo = statistics.median(r["step_s"] for r in results["ddpo"])
        ratio = t_ddpo / t_trl
    m_trl = statistics.median(r["peak_bytes"] for r in results["trl"])
    m_ddpo = statistics.median(r["peak_bytes"] for r in results["ddpo"])
    summary = {
        "model": args.model or f"tiny h{args.hidden}/{args.layers} layers", "lora": args.lora,
        "params": results["trl"][0]["params"], "device": args.device, "batch_pairs": args.batch,
        "trl_step_s": round(t_trl, 4), "ddpo_step_s": round(t_ddpo, 4), "step_time_ratio": round(ratio, 3),
        "timing": args.timing,
        **({"min_step_ratio": round(timing["min_step_ratio"], 3)} if args.timing == "interleaved" else {}),
        "trl_peak_mib": round(m_trl / 2**20, 1), "ddpo_peak_mib": round(m_ddpo / 2**20, 1),
        "peak_memory_ratio": round(m_ddpo / m_trl, 3) if m_trl > 0 else None,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
