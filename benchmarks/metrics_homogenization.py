"""Homogenization over 200 texts: divtools (bit-parallel LCS, each unordered pair once) vs
rouge-score's pairwise loop as ``diversity.homogenization_score`` 0.3.1 runs it.

Baseline: for each text i, ``RougeScorer(['rougeL']).score(other, text_i)['rougeL'].fmeasure``
for every other text, averaged (N·(N−1) calls, each tokenising both texts and filling an
|a|×|b| Python table). Same process, same texts; values must agree to 1e-9.

    .venv/bin/python benchmarks/metrics_homogenization.py [--texts 200]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from kjv_corpus import corpus  # noqa: E402  (benchmarks/ is on sys.path when run as a script)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=200)
    args = parser.parse_args()
    from rouge_score import rouge_scorer

    from divtools.builtins.metrics import HomogenizationParams
    from divtools.metrics.homogenization import Homogenization

    texts = corpus(args.texts)
    metric = Homogenization(HomogenizationParams())

    t0 = time.perf_counter()
    ours = metric.group(texts)
    t_ours = time.perf_counter() - t0

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    t0 = time.perf_counter()
    per_text = []
    for i, ref in enumerate(texts):
        preds = [x for j, x in enumerate(texts) if j != i]
        per_text.append(sum(scorer.score(pred, ref)["rougeL"].fmeasure for pred in preds) / (len(texts) - 1))
    t_ref = time.perf_counter() - t0
    ref_value = float(np.mean(per_text))

    diff = max(abs(ours.diversity - ref_value), float(np.abs(1 - np.array(per_text) - ours.deviation).max()))
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"homogenization (ROUGE-L), {len(texts)} texts, {len(texts) * (len(texts) - 1)} ordered pairs")
    print(f"  rouge-score pairwise loop: {t_ref:8.3f} s   value {ref_value:.12f}")
    print(f"  divtools homogenization  : {t_ours:8.3f} s   value {ours.diversity:.12f}")
    print(f"  max |difference| {diff:.2e}; speed-up {t_ref / t_ours:.0f}x")
    assert diff <= 1e-9, "values differ"


if __name__ == "__main__":
    main()
