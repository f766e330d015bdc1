"""distinct_k with NoveltyBench's unigram rule: divtools vs NoveltyBench's own partition code.

Baseline: ``partition_responses(prompt, texts, equivalence_check_unigram)`` from
novelty-bench/novelty-bench ``src/partition.py`` (the excerpt kept, with its MIT licence, in
tests/metrics/novelty_bench_ref/), which calls rouge-score's ``RougeScorer(["rouge1"]).score``
for every comparison. divtools tokenises each text once and computes ROUGE-1 F1 from unigram
counts. Same texts, same process; the partitions must be identical.

    .venv/bin/python benchmarks/metrics_novelty.py [--groups 100] [--k 10]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.metrics.novelty_bench_ref

from kjv_corpus import corpus  # noqa: E402  (benchmarks/ is on sys.path when run as a script)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    from tests.metrics.novelty_bench_ref import partition as ref

    from divtools.builtins.equivalences import UnigramParams
    from divtools.metrics.equivalence import Unigram

    texts = corpus(args.groups * args.k)
    groups = [texts[i * args.k:(i + 1) * args.k] for i in range(args.groups)]
    eq = Unigram(UnigramParams())

    t0 = time.perf_counter()
    ours = [eq.partition("", g) for g in groups]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = [asyncio.run(ref.partition_responses("", g, ref.equivalence_check_unigram)) for g in groups]
    t_ref = time.perf_counter() - t0

    same = ours == theirs
    mean_distinct = sum(max(p) + 1 for p in theirs) / len(theirs)
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"distinct_k (unigram rule), {args.groups} groups of k = {args.k}; mean distinct {mean_distinct:.2f}")
    print(f"  NoveltyBench partition_responses: {t_ref:8.3f} s")
    print(f"  divtools Unigram.partition      : {t_ours:8.3f} s")
    print(f"  identical partitions: {same}; speed-up {t_ref / t_ours:.1f}x")
    assert same, "partitions differ"


if __name__ == "__main__":
    main()
