"""Generation throughput: divtools' transformers backend + resumable driver vs a plain loop.

Baseline ("naive loop"): what a hand-written script does, one ``model.generate`` call per prompt
with ``num_return_sequences = K``, texts kept in memory. Compared in the same run:

- ``driver, batch_size 1``: the same work through ``generate_to_jsonl`` (templating, seeds,
  one fsynced append per prompt) -> the driver's overhead; its texts must equal the loop's
  (checked: the loop seeds each prompt as the driver does);
- ``driver, batch_size 8``: prompts batched (left padding) -> the batching gain.

Usage: ``python benchmarks/generation_batching.py [--prompts 8] [--k 4] [--tokens 32] [--threads 1]``
(a tiny random Llama, hidden 256, 4 layers, built offline; CPU unless a GPU is present).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: steadier on a shared machine)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from divtools.builtins.backends import TransformersBackendParams
    from divtools.generation.driver import generate_to_jsonl, read_generations
    from divtools.generation.seeds import derive_seed
    from divtools.generation.transformers_backend import TransformersBackend
    from divtools.models.tiny import build_tiny_causal_lm, default_texts

    tmp = Path(tempfile.mkdtemp(prefix="divtools-bench-gen-"))
    model_dir = build_tiny_causal_lm(default_texts(), tmp / "lm", hidden_size=256, num_layers=4)
    prompts = [(f"p{i}", f"Write story number {i} about the {['sea', 'king', 'dragon', 'river'][i % 4]}.")
               for i in range(args.prompts)]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    sampling = dict(do_sample=True, temperature=1.0, top_k=50, top_p=0.95, repetition_penalty=1.1,
                    max_new_tokens=args.tokens, min_new_tokens=args.tokens)

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()

    def naive() -> list[str]:
        texts = []
        for pid, text in prompts:
            torch.manual_seed(derive_seed(0, "chunk", pid))  # the seed the driver gives a 1-prompt call
            chat = tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
            enc = tok(chat, return_tensors="pt", add_special_tokens=False).to(device)
            with torch.inference_mode():
                out = model.generate(**enc, num_return_sequences=args.k, pad_token_id=tok.pad_token_id, **sampling)
            texts += tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        return texts

    def ours(batch_size: int, run: int) -> list[str]:
        params = TransformersBackendParams(model=str(model_dir), batch_size=batch_size, max_new_tokens=args.tokens,
                                           device=device)
        backend = TransformersBackend(params)
        backend._load()
        backend._model = model  # same weights object, loaded once: time generation, not loading
        # the backend has no min_new_tokens knob; keep lengths equal to the baseline's for a fair time
        backend._model.generation_config.min_new_tokens = args.tokens
        path = tmp / f"gen-{batch_size}-{run}.jsonl"
        generate_to_jsonl(backend, prompts, path, num_samples=args.k, seed=0, system="bench", quiet=True)
        backend._model.generation_config.min_new_tokens = None
        return [row["response"] for row in read_generations(path)]

    # rounds interleave the three so that load from other processes hits them alike; best of rounds
    naive()  # warm-up
    best = {"naive": float("inf"), "b1": float("inf"), "b8": float("inf")}
    counts = {}
    for r in range(args.repeats):
        for name, fn in (("naive", naive), ("b1", lambda: ours(1, r)), ("b8", lambda: ours(8, r))):
            start = time.perf_counter()
            counts[name] = fn()
            best[name] = min(best[name], time.perf_counter() - start)
    t_naive, t_b1, t_b8 = best["naive"], best["b1"], best["b8"]
    n_naive, n_b1, n_b8 = (len(counts[k]) for k in ("naive", "b1", "b8"))
    # values: with one prompt per call and the same seed, the driver's texts are the loop's texts
    assert counts["b1"] == counts["naive"], "driver (batch 1) and the loop gave different texts"
    assert n_naive == n_b1 == n_b8 == args.prompts * args.k
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"device {device}; torch {torch.__version__}")
    print(f"{args.prompts} prompts x K={args.k} x {args.tokens} new tokens, tiny Llama h256/4 layers, best of {args.repeats}")
    print(f"naive loop (baseline)        {t_naive:7.2f} s   {n_naive / t_naive:7.1f} samples/s")
    print(f"driver, batch_size 1         {t_b1:7.2f} s   {n_b1 / t_b1:7.1f} samples/s   ratio {t_b1 / t_naive:.2f}x baseline time"
          "   (texts identical to the baseline's)")
    print(f"driver, batch_size 8         {t_b8:7.2f} s   {n_b8 / t_b8:7.1f} samples/s   ratio {t_b8 / t_naive:.2f}x baseline time")


if __name__ == "__main__":
    main()
