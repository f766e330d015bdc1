"""How much the evaluate run adds around the metrics, and how fast its bootstrap is.

1. An evaluate run (protocol, grouping, distinct-2 per prompt, bootstrap CIs, report.json) over
   2 systems x P prompts x 4 samples, against the baseline of calling the same metric directly on
   the same groups (the unavoidable work). Same values checked.
2. The seeded bootstrap CI (B resamples of P prompt values, blocked and vectorised) against a
   plain per-resample loop drawing from the same generator (identical intervals) and against
   ``scipy.stats.bootstrap(method="percentile")``.

    .venv/bin/python benchmarks/evaluate_overhead.py [--prompts 1000] [--resamples 1000]
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


def _texts() -> list[str]:
    path = ROOT / "tests" / "evaluate" / "data" / "proverbs.jsonl"
    return [json.loads(line)["text"] for line in path.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    P, K, B = args.prompts, 4, args.resamples
    texts = _texts()
    rng = np.random.default_rng(0)
    rows = [{"prompt": f"prompt {p}", "prompt_id": f"q{p}", "system": system, "sample": k,
             "response": texts[int(rng.integers(len(texts)))]}
            for system in ("a", "b") for p in range(P) for k in range(K)]

    from divtools.components import build
    from divtools.evaluate.bootstrap import bootstrap_ci
    from divtools.evaluate.run import compute_report
    from divtools.runs import run_spec_data  # noqa: F401 (imports the spec machinery before timing)
    from divtools.spec.loading import validate_spec

    with tempfile.TemporaryDirectory() as tmp:
        gens = Path(tmp) / "gens.jsonl"
        gens.write_text("".join(json.dumps(r) + "\n" for r in rows))
        spec = validate_spec({"run": "evaluate", "generations": {"path": str(gens)},
                              "metrics": [{"kind": "distinct_n", "n": 2}], "bootstrap_samples": B,
                              "reporters": [{"kind": "json"}], "output": {"dir": str(Path(tmp) / "out")}},
                             file="bench", base_dir=Path(tmp))
        metric = build("metric", spec.metrics[0])
        groups = {s: [[r["response"] for r in rows[(i * P + p) * K:(i * P + p + 1) * K]] for p in range(P)]
                  for i, s in enumerate(("a", "b"))}

        t0 = time.perf_counter()
        direct = {s: [metric.group(g).diversity for g in gs] for s, gs in groups.items()}
        t_direct = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = compute_report(spec, quiet=True)
        from divtools.reporters.json_report import dumps_report

        dumps_report(report)
        t_run = time.perf_counter() - t0
        for s in ("a", "b"):
            got = [report["results"][s]["distinct_n"]["per_prompt"][f"q{p}"] for p in range(P)]
            assert got == direct[s], "values differ"

    values = np.random.default_rng(1).normal(size=P)
    from scipy.stats import bootstrap as scipy_bootstrap

    def timed(fn, repeats: int = 7):
        best, out = float("inf"), None
        for _ in range(repeats):  # best of 7: the machine is shared
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
        return out, best

    def plain_loop():
        loop_rng = np.random.default_rng(7)
        means = [values[loop_rng.integers(0, P, size=P)].mean() for _ in range(B)]
        return tuple(float(v) for v in np.percentile(means, [2.5, 97.5]))

    ours, t_ours = timed(lambda: bootstrap_ci(values, samples=B, rng=np.random.default_rng(7)))
    loop, t_loop = timed(plain_loop)
    assert np.allclose(ours, loop, rtol=0, atol=1e-12), (ours, loop)
    sci, t_scipy = timed(lambda: scipy_bootstrap((values,), np.mean, n_resamples=B, method="percentile",
                                                 vectorized=True, random_state=np.random.default_rng(7)).confidence_interval)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}")
    print(f"evaluate run, 2 systems x {P} prompts x {K} samples, distinct-2, B={B}:")
    print(f"  direct metric calls (baseline): {t_direct:.3f} s")
    print(f"  compute_report + report.json:   {t_run:.3f} s  (x{t_run / t_direct:.2f} of the baseline; same values)")
    print(f"bootstrap 95% CI of {P} values, B={B}:")
    print(f"  ours (blocked, vectorised): {t_ours * 1000:.1f} ms  {ours}")
    print(f"  plain loop, same generator: {t_loop * 1000:.1f} ms  (ours x{t_loop / t_ours:.1f} faster; identical interval)")
    print(f"  scipy.stats.bootstrap:      {t_scipy * 1000:.1f} ms  (ratio scipy/ours {t_scipy / t_ours:.2f}; "
          f"interval ({sci.low!r}, {sci.high!r}))")


if __name__ == "__main__":
    main()
