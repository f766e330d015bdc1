"""Self-BLEU over 1,000 texts: divtools (vectorised) vs nltk's per-text sentence_bleu loop.

Baseline: for each text, ``nltk.translate.bleu_score.sentence_bleu(others, text,
smoothing_function=SmoothingFunction().method1)`` (BLEU-4) — what Texygen and Vendi-Score's
``self_bleu`` do. Both run in this process on the same tokens; the script checks the values are
equal (max |difference| <= 1e-9) and prints the speed ratio.

    .venv/bin/python benchmarks/metrics_self_bleu.py [--texts 1000]

Texts: public-domain KJV Proverbs verses (tests/metrics/data), text i = verses i and i+1
(mod 388) so that 1,000 distinct texts exist.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from kjv_corpus import corpus  # noqa: E402  (benchmarks/ is on sys.path when run as a script)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=1000)
    args = parser.parse_args()
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    from divtools.metrics.self_bleu import self_bleu_scores

    texts = corpus(args.texts)
    tokens = [t.split() for t in texts]
    smooth = SmoothingFunction().method1

    t0 = time.perf_counter()
    ours = self_bleu_scores(tokens, 4)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    ref = np.array([sentence_bleu(tokens[:i] + tokens[i + 1 :], tok, smoothing_function=smooth) for i, tok in enumerate(tokens)])
    t_ref = time.perf_counter() - t0

    diff = float(np.abs(ours - ref).max())
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"self-BLEU-4, {len(texts)} texts, {sum(map(len, tokens))} tokens")
    print(f"  nltk sentence_bleu loop: {t_ref:8.3f} s   mean {ref.mean():.12f}")
    print(f"  divtools self_bleu     : {t_ours:8.3f} s   mean {ours.mean():.12f}")
    print(f"  max |difference| {diff:.2e}; speed-up {t_ref / t_ours:.0f}x")
    assert diff <= 1e-9, "values differ"


if __name__ == "__main__":
    main()
