"""Benchmark: ``run: prepare`` over synthetic WritingPrompts-shaped data, 10k / 50k / 100k responses.

What it shows (issue 4):
1. the whole prepare run scales linearly in the number of prompts (time per 10k responses is flat);
2. the weight step (deviation -> weights, docs/method.md §3) costs <= 5% of the embedding step.

Setup: responses per prompt follow a WritingPrompts-like skew (median 2, mean ~5.6, max 60);
~80 words per response from a Zipf vocabulary; upvotes heavy-tailed. Deviation metric:
``embedding_diversity`` with the ``stylometric`` embedder (the cheapest registered embedder, so
the ratio in (2) is the hardest case; MiniLM or jina embeddings cost 100x more per text) and the
content-addressed embedding cache in a temporary folder. Stage times come from calling the stage
functions the prepare run calls, in the same order; "prepare (cold)" / "prepare (warm)" are full
``run: prepare`` calls with an empty / filled embedding cache.

Baselines timed in the same run: the embedding step (cold cache) for the weight-step ratio, the
10k run for the linearity ratio, and a pool-by-pool loop of the same weight formula for the
vectorised weight step.

Times are CPU seconds of the process (``time.process_time``): the benchmark machine is shared.

Run: ``.venv/bin/python benchmarks/prepare_scaling.py [--sizes 10000 50000 100000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def clock() -> float:
    """CPU seconds of this process (all threads). The 2-core machine is shared, so wall time
    would measure the neighbours' load; CPU time measures this code."""
    return time.process_time()


def synthetic(path: Path, n_responses: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(20_000)])
    p = 1.0 / np.arange(1, vocab.size + 1)
    p /= p.sum()
    written = prompts = 0
    with open(path, "w", encoding="utf-8") as fh:
        while written < n_responses:
            r = rng.random()
            n = 2 if r < 0.5 else 3 if r < 0.65 else 4 if r < 0.75 else int(rng.integers(5, 11)) if r < 0.93 else int(rng.integers(11, 61))
            n = min(n, n_responses - written) if n_responses - written >= 2 else 2
            prompt = f"[WP] prompt {prompts}: " + " ".join(rng.choice(vocab[:2000], size=12))
            for k in range(n):
                text = " ".join(rng.choice(vocab, size=int(rng.integers(60, 100)), p=p)) + "."
                score = int(rng.geometric(0.08)) - 1
                fh.write(json.dumps({"prompt": prompt, "response": text, "score": score}) + "\n")
            written += n
            prompts += 1
    return prompts


def spec_data(src: Path, out: Path, on_existing: str = "restart") -> dict:
    return {
        "run": "prepare",
        "source": {"kind": "jsonl", "path": str(src)},
        "metrics": [{"kind": "embedding_diversity", "label": "style", "embedder": {"kind": "stylometric"}}],
        "output": {"dir": str(out), "on_existing": on_existing},
    }


class Timed:
    """Wraps a metric; records the seconds spent in ``groups`` (embedding + deviation)."""

    def __init__(self, metric) -> None:
        self.metric = metric
        self.seconds = 0.0

    def groups(self, texts):
        t = clock()
        try:
            return self.metric.groups(texts)
        finally:
            self.seconds += clock() - t


def stages(src: Path, out: Path) -> dict[str, float]:
    """Seconds per stage, calling what ``run: prepare`` calls (train split only, as it dominates)."""
    from divtools.components import build
    from divtools.data.cleaning import clean_groups
    from divtools.data.prepare_run import PAIR_COLUMNS, pair_rows, write_rows
    from divtools.data.split import split_groups
    from divtools.data.weights import WeightSettings, weigh_pairs
    from divtools.spec.loading import validate_spec

    spec = validate_spec(spec_data(src, out), file="bench", base_dir=src.parent)
    t = {}
    s = clock()
    groups = build("source", spec.source).load()
    t["load"] = clock() - s
    s = clock()
    groups, _ = clean_groups(groups, spec.cleaning)
    train, _ = split_groups(groups, eval_fraction=0.1, seed=42)
    t["clean+split"] = clock() - s
    s = clock()
    pairs = build("pair_builder", spec.pair_builder).build(train, seed=spec.seed)
    t["pairs"] = clock() - s
    metric = Timed(build("metric", spec.metrics[0]))
    s = clock()
    weights = weigh_pairs(train, pairs, [("style", metric)], WeightSettings.from_spec(spec.weights))
    total = clock() - s
    t["embedding+deviation"] = metric.seconds
    t["weights"] = total - metric.seconds
    s = clock()
    rows = pair_rows(pairs, weights, ["style"], system=False)
    write_rows(out.parent / "bench_rows.jsonl", rows, [*PAIR_COLUMNS, "deviation_style_chosen", "deviation_style_rejected"])
    t["write"] = clock() - s
    t["pairs_n"] = len(pairs)
    t["pools"] = weights.stats["pools"]
    return t


def loop_weights_baseline(src: Path, out: Path) -> tuple[float, float]:
    """(vectorised seconds, pool-by-pool seconds) for the same pools and deviations."""
    from divtools.data.weights import pool_weights, pooled_weights

    rng = np.random.default_rng(1)
    sizes = np.array([2] * 5000 + [3] * 1500 + [4] * 1000 + [8] * 1800 + [30] * 700)
    d = rng.random((2, int(sizes.sum())))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    s = clock()
    fast, _, _ = pooled_weights(d, starts)
    vec = clock() - s
    s = clock()
    slow = [pool_weights(d[:, a : a + n])[0] for a, n in zip(starts, sizes)]
    loop = clock() - s
    assert np.allclose(fast, np.concatenate(slow), rtol=0, atol=1e-12), "vectorised weights differ from the loop"
    return vec, loop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from divtools.runs import run_spec_data

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # warm-up: imports and plugin loading are not part of any size's time
        os.environ["DIVTOOLS_CACHE"] = str(tmp / "cache-warmup")
        synthetic(tmp / "warmup.jsonl", 300, seed=9)
        run_spec_data(spec_data(tmp / "warmup.jsonl", tmp / "warmup"), file="bench", base_dir=tmp, quiet=True)
        stages(tmp / "warmup.jsonl", tmp / "warmup-stages")
        for n in args.sizes:
            os.environ["DIVTOOLS_CACHE"] = str(tmp / f"cache{n}")
            src = tmp / f"data{n}.jsonl"
            prompts = synthetic(src, n)
            s = clock()
            run_spec_data(spec_data(src, tmp / f"out{n}"), file="bench", base_dir=tmp, quiet=True)
            cold = clock() - s
            s = clock()
            run_spec_data(spec_data(src, tmp / f"out{n}"), file="bench", base_dir=tmp, quiet=True)
            warm = clock() - s
            os.environ["DIVTOOLS_CACHE"] = str(tmp / f"cache{n}-stages")  # cold cache for the stage timing
            st = stages(src, tmp / f"stage{n}")
            results.append((n, prompts, cold, warm, st))
            print(f"{n:>7} responses {prompts:>6} prompts: prepare cold {cold:7.2f} s, warm {warm:7.2f} s (CPU) | "
                  + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in st.items()), flush=True)
        base_n, _, base_cold, base_warm, _ = results[0]
        print("\nlinearity (seconds per 10k responses; ratio to the smallest size):")
        for n, prompts, cold, warm, st in results:
            c, w = cold / n * 1e4, warm / n * 1e4
            print(f"  {n:>7}: cold {c:6.3f} s ({c / (base_cold / base_n * 1e4):.2f}x)  warm {w:6.3f} s "
                  f"({w / (base_warm / base_n * 1e4):.2f}x)  per prompt warm {warm / prompts * 1e3:.3f} ms")
        print("\nweight step vs embedding step (cold cache, stylometric embedder):")
        for n, prompts, cold, warm, st in results:
            print(f"  {n:>7}: weights {st['weights']:.3f} s / embedding+deviation {st['embedding+deviation']:.3f} s "
                  f"= {100 * st['weights'] / st['embedding+deviation']:.2f}%")
        vec, loop = loop_weights_baseline(tmp, tmp)
        print(f"\nweight formula on 10,000 pools: vectorised {vec * 1e3:.1f} ms, pool-by-pool loop {loop * 1e3:.1f} ms "
              f"({loop / vec:.1f}x; same weights to 1e-12)")


if __name__ == "__main__":
    main()
