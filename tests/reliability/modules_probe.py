"""Run the divtools CLI, then print (to stderr, last line) which heavy modules the process imported.

``python modules_probe.py run SPEC --quiet`` -> ``MODULES {"torch": false, ...}``; the tests use it
to show that a bad input stops the run before any model library is loaded."""

from __future__ import annotations

import atexit
import json
import sys

HEAVY = ("torch", "transformers", "sentence_transformers", "trl", "peft")


def _report() -> None:
    print("MODULES " + json.dumps({m: m in sys.modules for m in HEAVY}), file=sys.stderr, flush=True)


if __name__ == "__main__":
    atexit.register(_report)
    from divtools.cli.main import main

    main(sys.argv[1:])
