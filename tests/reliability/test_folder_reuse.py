"""A folder holding nothing of value is reusable; the evaluate command names its options (issue #13 item 3).

A run that fails before writing any output leaves at most its manifest (``divtools-run.json``);
the next run, whatever its spec, takes the folder without ``on_existing: restart``. A folder with
an output in it is still protected. ``divtools evaluate`` builds its spec from options, so its
hints name ``--on-existing`` / ``--out``, not the spec fields.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from divtools.cli.main import cli

from .conftest import run_cli


def _gens(path, *, broken: bool = False):
    rows = [json.dumps({"prompt": f"Write about {t}.", "response": f"{t} text number {i} and more"})
            for t in ("rain", "snow") for i in range(3)]
    if broken:
        rows[2] = rows[2][:-5]  # a truncated line: the run fails after claiming its folder
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _spec(tmp_path, gens, n=1):
    return {"run": "evaluate", "generations": {"path": str(gens)}, "metrics": [{"kind": "distinct_n", "n": n}],
            "output": {"dir": str(tmp_path / "out")}}


def test_a_run_that_failed_before_any_output_does_not_lock_its_folder(tmp_path):
    broken = run_cli(_spec(tmp_path, _gens(tmp_path / "bad.jsonl", broken=True)), tmp_path)
    assert broken.exit_code == 2 and "not valid JSON" in broken.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["divtools-run.json"]
    # the fixed spec differs (another file, another n): no "holds a run of a different spec"
    fixed = run_cli(_spec(tmp_path, _gens(tmp_path / "good.jsonl"), n=2), tmp_path)
    assert fixed.exit_code == 0, fixed.output
    manifest = json.loads((tmp_path / "out" / "divtools-run.json").read_text())
    assert manifest["spec"]["metrics"][0]["n"] == 2 and (tmp_path / "out" / "report.json").exists()
    # now it holds a report: another spec is refused again
    again = run_cli(_spec(tmp_path, _gens(tmp_path / "good.jsonl"), n=3), tmp_path)
    assert again.exit_code == 2 and "holds a run of a different spec" in again.output


def test_the_evaluate_command_names_its_options_in_hints(tmp_path):
    gens = _gens(tmp_path / "good.jsonl")
    out = tmp_path / "out"
    args = ["evaluate", "--generations", str(gens), "--out", str(out), "--quiet"]
    assert CliRunner().invoke(cli, [*args, "--metric", "distinct_n:n=1"]).exit_code == 0
    result = CliRunner().invoke(cli, [*args, "--metric", "distinct_n:n=2"])
    assert result.exit_code == 2, result.output
    assert "--out: " in result.output and "set --on-existing restart to discard it" in result.output
    assert "output.on_existing" not in result.output and "output.dir" not in result.output
    again = CliRunner().invoke(cli, [*args, "--metric", "distinct_n:n=1", "--on-existing", "error"])
    assert again.exit_code == 2 and "--on-existing: " in again.output and "set --on-existing to resume" in again.output
