"""How long ``divtools validate`` takes from importing the CLI to its verdict (issue #2's budget: 0.5 s).

Baseline, in the same run: importing the CLI's own light dependencies (pydantic, pyyaml, pluggy,
click, numpy) and nothing of divtools, the floor any divtools start-up pays. Each is timed in a
fresh interpreter, alternating, ``--repeats`` times; prints the medians and the budget.

    python benchmarks/validate_startup.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "specs" / "valid" / "metric_only.yaml"
PROBES = {
    "baseline: import pydantic, yaml, pluggy, click, numpy": (
        "import time; t = time.perf_counter(); import pydantic, yaml, pluggy, click, numpy; "
        "print(time.perf_counter() - t)"),
    "divtools validate": (
        "import time; t = time.perf_counter(); from divtools.cli.main import main\n"
        "try:\n    main(['validate', %r])\nexcept SystemExit:\n    pass\n"
        "import sys; print(time.perf_counter() - t, file=sys.stderr)" % str(SPEC)),
}


def once(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "", "HF_HUB_OFFLINE": "1"})
    return float((out.stderr.strip() or out.stdout.strip()).splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in PROBES}
    for _ in range(args.repeats):
        for name, code in PROBES.items():
            times[name].append(once(code))
    print(json.dumps({name: round(statistics.median(v), 3) for name, v in times.items()} | {"budget_s": 0.5}))


if __name__ == "__main__":
    main()
