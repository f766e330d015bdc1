"""Output directories: resume the same spec, refuse a different one, never wipe foreign files."""

from __future__ import annotations

from pathlib import Path

import pytest

from divtools.errors import UserError
from divtools.rundir import LOCK, RunDir, fingerprint, safe_child
from divtools.spec.loading import validate_spec

GENS = Path(__file__).parents[1] / "specs" / "gens.jsonl"


def spec(out: Path, n: int = 2, on_existing: str = "resume"):
    data = {"run": "evaluate", "generations": {"path": str(GENS)}, "metrics": [{"kind": "distinct_n", "n": n}],
            "output": {"dir": str(out), "on_existing": on_existing}}
    return validate_spec(data, file="t.yaml", base_dir=out.parent)


def test_same_spec_resumes_and_on_existing_does_not_change_the_fingerprint(tmp_path):
    out = tmp_path / "out"
    first = RunDir.open(spec(out))
    assert not first.resumed and (out / "divtools-run.json").exists()
    (out / "partial.jsonl").write_text("row\n")
    again = RunDir.open(spec(out))
    assert again.resumed and (out / "partial.jsonl").exists()
    assert fingerprint(spec(out, on_existing="error")) == fingerprint(spec(out))
    with pytest.raises(UserError, match="already holds this run"):
        RunDir.open(spec(out, on_existing="error"))


def test_changed_spec_is_refused_with_the_changed_field_named(tmp_path):
    out = tmp_path / "out"
    RunDir.open(spec(out))
    (out / "report.json").write_text("{}")  # an output: a folder with only the manifest is reused
    with pytest.raises(UserError, match=r"different spec \(changed: metrics\)"):
        RunDir.open(spec(out, n=3))
    restarted = RunDir.open(spec(out, n=3, on_existing="restart"))
    assert not restarted.resumed


def test_restart_wipes_only_a_divtools_directory(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    with pytest.raises(UserError, match="not written by divtools"):
        RunDir.open(spec(out, on_existing="restart"))
    assert (out / "precious.txt").read_text() == "mine"


def test_stage_markers(tmp_path):
    run = RunDir.open(spec(tmp_path / "o"))
    assert not run.is_done("sft")
    run.mark_done("sft", {"steps": 3})
    assert RunDir.open(spec(tmp_path / "o")).is_done("sft")


def test_safe_child_refuses_escapes(tmp_path):
    assert safe_child(tmp_path, "a.json") == tmp_path / "a.json"
    for bad in ("..", "../x", "/etc/passwd", "a/b", ""):
        with pytest.raises(UserError):
            safe_child(tmp_path, bad)
    (tmp_path / "link").symlink_to("/tmp")
    with pytest.raises(UserError, match="escape"):
        safe_child(tmp_path, "link")


def test_restart_keeps_the_entries_a_run_asks_to_keep(tmp_path):
    out = tmp_path / "out"
    RunDir.open(spec(out))
    (out / "generations").mkdir()
    (out / "generations" / "sys.jsonl").write_text("expensive\n")
    (out / "report.json").write_text("{}")
    with pytest.raises(UserError, match=r"restart keeps generations"):
        RunDir.open(spec(out, n=3), keep_on_restart=("generations",))
    RunDir.open(spec(out, n=3, on_existing="restart"), keep_on_restart=("generations",))
    assert (out / "generations" / "sys.jsonl").read_text() == "expensive\n"
    assert not (out / "report.json").exists()


def test_resuming_removes_temporaries_of_writes_a_kill_interrupted(tmp_path):
    out = tmp_path / "out"
    RunDir.open(spec(out))
    (out / "sub").mkdir()
    (out / ".report.json.k3j2.tmp").write_text('{"half": ')
    (out / "sub" / ".rows.jsonl.x9.tmp").write_text("half")
    (out / "rows.jsonl").write_text("complete\n")
    RunDir.open(spec(out))
    # (the lock file is this run's claim, still held: RunDir.open outside `divtools run`)
    assert sorted(p.name for p in out.rglob("*") if p.name != LOCK) == ["divtools-run.json", "rows.jsonl", "sub"]
