"""The CLI's light start-up path: fast, and never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from divtools import __version__
from divtools.cli.main import cli

SPECS = Path(__file__).parents[1] / "specs" / "valid"

PROBE = """
import sys, time
t = time.perf_counter()
from divtools.cli.main import main
try:
    main({args!r})
except SystemExit as exc:
    code = exc.code
print("ELAPSED", time.perf_counter() - t, "CODE", code, "TORCH", "torch" in sys.modules,
      "TRANSFORMERS", "transformers" in sys.modules, file=sys.stderr)
"""


def _probe(args):
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True)
    tail = out.stderr.strip().splitlines()[-1].split()
    return out, float(tail[1]), int(tail[3]), tail[5] == "True", tail[7] == "True"


def test_validate_never_imports_torch():
    # how long validate takes is measured by benchmarks/validate_startup.py (tests do not time)
    out, _, code, torch_loaded, transformers_loaded = _probe(["validate", str(SPECS / "metric_only.yaml")])
    assert code == 0, out.stderr
    assert "ok (run: evaluate)" in out.stdout
    assert not torch_loaded and not transformers_loaded


def test_help_list_and_plugins_never_import_torch():
    for args in (["--help"], ["list", "metric"], ["plugins"]):
        out, _, code, torch_loaded, _ = _probe(args)
        assert code == 0, out.stderr
        assert not torch_loaded, args


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_list_unknown_kind_is_a_usage_error():
    result = CliRunner().invoke(cli, ["list", "metrics"])
    assert result.exit_code == 2
    assert "'metric'" in result.output


def test_list_json_shape():
    result = CliRunner().invoke(cli, ["list", "metric", "--json"])
    rows = json.loads(result.output)
    row = next(r for r in rows if r["name"] == "distinct_n")
    assert row["plugin"] == "divtools.builtins.metrics"
    assert row["description"].startswith("distinct-n")
    assert {"name": "n", "type": "int", "allowed": None, "required": False, "default": 2,
            "description": "n-gram order."} in row["parameters"]
