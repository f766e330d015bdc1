"""``on_existing: restart`` never deletes the run's own input (issue #12 item 2).

Before restart clears the output folder, ``divtools.rundir`` checks every path the spec reads
(data, gold, prompts, models, reward files, generations; found by walking the resolved spec, so
every run kind and plugin component is covered); one inside what would be removed stops the run
with exit 2 and nothing is removed.
"""

from __future__ import annotations

import json
import shutil

import pytest

from .conftest import KJV_GROUPS, run_cli


def _gens(path):
    rows = [{"prompt": f"Write about {t}.", "response": f"{t} text number {i} and more"}
            for t in ("rain", "snow") for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("field", ["generations", "gold"])
def test_restart_refuses_an_evaluate_input_inside_the_output_folder(tmp_path, field):
    out = tmp_path / "out"
    outside = _gens(tmp_path / "gens.jsonl")
    spec = {"run": "evaluate", "generations": {"path": str(outside)}, "metrics": [{"kind": "distinct_n"}],
            "output": {"dir": str(out)}}
    assert run_cli(spec, tmp_path).exit_code == 0
    inside = out / "mine.jsonl"
    shutil.copy(outside, inside)  # the user keeps an input in the run's folder
    spec[field] = {"path": str(inside)}
    spec["output"]["on_existing"] = "restart"
    before = _snapshot(out)
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert f"{field}.path: {inside} is an input of this run and lies inside the output folder" in result.output
    assert _snapshot(out) == before  # the input and the previous report are untouched


def test_restart_refuses_a_prepare_source_inside_the_output_folder(tmp_path):
    out = tmp_path / "out"
    spec = {"run": "prepare", "source": {"kind": "jsonl", "path": str(KJV_GROUPS), "columns": {"response_id": "id"}},
            "metrics": [{"kind": "distinct_n", "n": 2}], "output": {"dir": str(out)}}
    assert run_cli(spec, tmp_path).exit_code == 0
    inside = out / "data.jsonl"
    shutil.copy(KJV_GROUPS, inside)
    spec["source"]["path"] = str(inside)
    spec["output"]["on_existing"] = "restart"
    before = _snapshot(out)
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 2 and result.exception is None, result.output
    assert "source.path:" in result.output and "on_existing: restart would clear" in result.output
    assert _snapshot(out) == before


def test_restart_may_keep_an_input_in_an_entry_it_keeps(tmp_path):
    """evaluate's restart keeps ``generations/``; a file there is not removed, so it may be read."""
    out = tmp_path / "out"
    outside = _gens(tmp_path / "gens.jsonl")
    spec = {"run": "evaluate", "generations": {"path": str(outside)}, "metrics": [{"kind": "distinct_n"}],
            "output": {"dir": str(out)}}
    assert run_cli(spec, tmp_path).exit_code == 0
    (out / "generations").mkdir()
    kept = out / "generations" / "earlier.jsonl"
    shutil.copy(outside, kept)
    spec["generations"]["path"] = str(kept)
    spec["output"]["on_existing"] = "restart"
    result = run_cli(spec, tmp_path)
    assert result.exit_code == 0, result.output
    assert kept.exists() and (out / "report.json").exists()
