"""A broken plugin is reported by name with its error and does not break runs that do not use it.

The unit tests of loading (import failure, raising hook, name clash naming both plugins, misspelt
hook) are in tests/core/test_plugins.py; this one runs the real CLI in a fresh process with the
broken plugins installed."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import HERE, REPO, subprocess_env


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = subprocess_env(PYTHONPATH=str(REPO), DIVTOOLS_QUIET_PLUGIN_ERRORS="0")
    return subprocess.run([sys.executable, str(HERE / "with_broken_plugins.py"), *args], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=120)


def test_divtools_plugins_lists_the_broken_ones_with_their_errors():
    out = _cli("plugins")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert "failed to import: ModuleNotFoundError" in rows["broken"]["error"]
    assert "divtools_dependency_that_does_not_exist" in rows["broken"]["error"]
    assert "RuntimeError: model file missing" in rows["raising"]["error"]
    assert rows["divtools.builtins.metrics"].get("error") is None and rows["broken"]["components"] == []
    assert "plugin 'broken' not loaded" in out.stderr and "plugin 'raising' not loaded" in out.stderr


def test_a_run_that_does_not_use_them_succeeds(tmp_path):
    gens = tmp_path / "g.jsonl"
    gens.write_text("".join(json.dumps({"prompt": f"p{i % 2}", "response": f"text number {i}"}) + "\n"
                            for i in range(6)))
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"run: evaluate\ngenerations: {{path: {gens}}}\nmetrics: [{{kind: distinct_n, n: 1}}]\n"
                    f"reporters: [{{kind: json}}]\nbootstrap_samples: 100\noutput: {{dir: {tmp_path / 'out'}}}\n")
    out = _cli("run", str(spec), "--quiet")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "report.json").exists()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["results"]["default"]["distinct_n"]["n_prompts"] == 2
