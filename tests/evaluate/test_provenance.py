"""The report's versions name the libraries that took part in the run, and only those."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

PROBE = textwrap.dedent("""
    import json, sys
    from divtools.evaluate.provenance import runtime_versions
    before = runtime_versions()
    import torch, transformers, trl
    after = runtime_versions()
    print(json.dumps({"before": before, "after": after,
                      "expected": {"torch": torch.__version__, "transformers": transformers.__version__,
                                   "trl": trl.__version__}}))
""")


@pytest.mark.slow  # imports torch, transformers and trl in a fresh process
def test_runtime_versions_name_what_was_imported():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                         env={"PATH": "", "TRL_EXPERIMENTAL_SILENCE": "1", "HF_HUB_OFFLINE": "1"}, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert "numpy" in data["before"]
    assert not {"torch", "transformers", "trl"} & set(data["before"])  # not claimed before they ran
    for name, version in data["expected"].items():
        assert data["after"][name] == version


@pytest.mark.slow  # a CLI run in a fresh process
def test_metrics_only_report_records_no_torch(tmp_path):
    """A metrics-only evaluation, in a fresh process, lists no library it did not use."""
    gens = tmp_path / "gens.jsonl"
    gens.write_text("".join(json.dumps({"prompt": f"p{i // 2}", "response": f"story {i} of a fox"}) + "\n"
                            for i in range(8)))
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"run: evaluate\ngenerations: {{path: {gens}}}\nsamples_per_prompt: 2\n"
                    f"metrics: [{{kind: distinct_n, n: 1}}]\noutput: {{dir: {tmp_path / 'out'}}}\n")
    subprocess.run([sys.executable, "-m", "divtools.cli.main", "run", str(spec), "--quiet"], check=True, cwd=ROOT,
                   env={"PATH": "", "DIVTOOLS_LOAD_PLUGINS": "", "HF_HUB_OFFLINE": "1"}, capture_output=True)
    versions = json.loads((tmp_path / "out" / "report.json").read_text())["versions"]
    assert versions["numpy"] and not {"torch", "transformers", "trl"} & set(versions)
