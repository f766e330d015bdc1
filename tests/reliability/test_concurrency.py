"""Two ``divtools run`` processes on one output folder never mix (issue #12 item 1).

Each trial starts two real processes at once on the same empty folder, with specs that differ
in one setting; every trial must end with exactly one run's outputs and manifest (the report
equals what that spec gives alone) and the other run exiting 2, with no traceback. The folder is
claimed with an OS lock (``divtools.rundir``): a killed run's claim is taken over, and a live
run's temporaries are never deleted by another run's clean-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from .conftest import HERE, KJV_GROUPS, REPO, subprocess_env

TRIALS = 20
KILL_AT = HERE / "kill_at.py"


def _generations(path: Path) -> Path:
    # distinct-1 and distinct-2 differ on these, so the report shows which spec made it
    rows = [{"prompt": f"Write about {topic}.", "response": text}
            for topic in ("the sea", "the hills", "the town")
            for text in (f"the {topic} the {topic} and the sky", f"a {topic} under a {topic}",
                         f"{topic} {topic} {topic} again")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _spec(folder: Path, gens: Path, out: Path, n: int) -> Path:
    path = folder / f"spec{n}.yaml"
    path.write_text(yaml.safe_dump({
        "run": "evaluate", "seed": n, "generations": {"path": str(gens)},
        "metrics": [{"kind": "distinct_n", "n": n, "label": "d"}], "reporters": [{"kind": "json"}],
        "output": {"dir": str(out)}}), encoding="utf-8")
    return path


def _start(spec: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "divtools.cli.main", "run", str(spec), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(),
                            cwd=REPO)


def _results(out: Path) -> tuple[int, dict]:
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return report["spec"]["metrics"][0]["n"], report["results"]


@pytest.mark.slow
def test_two_runs_on_one_folder_never_mix(tmp_path):
    gens = _generations(tmp_path / "gens.jsonl")
    reference = {}
    for n in (1, 2):  # each spec alone, in its own folder
        alone = _start(_spec(tmp_path, gens, tmp_path / f"alone{n}", n))
        assert alone.wait(timeout=120) == 0, alone.stderr.read()
        reference[n] = _results(tmp_path / f"alone{n}")[1]
    assert reference[1] != reference[2]

    outcomes = []
    for trial in range(TRIALS):
        out = tmp_path / f"trial{trial}"
        out.mkdir()  # an empty folder, as in the issue
        specs = [_spec(tmp_path, gens, out, n) for n in (1, 2)]
        procs = [_start(s) for s in (specs if trial % 2 else specs[::-1])]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        codes = sorted(code for code, _, _ in results)
        assert codes == [0, 2], results
        loser = next(err for code, _, err in results if code == 2)
        assert "Traceback" not in loser and ("another divtools run is using" in loser
                                             or "holds a run of a different spec" in loser), loser
        manifest = json.loads((out / "divtools-run.json").read_text(encoding="utf-8"))
        n, results_in_report = _results(out)
        assert manifest["spec"]["metrics"][0]["n"] == n
        assert results_in_report == reference[n], f"trial {trial}: report of spec {n} has other numbers"
        assert not any(p.name.endswith(".tmp") for p in out.rglob("*")), sorted(out.rglob("*"))
        outcomes.append("lock" if "another divtools run" in loser else "after")
    assert outcomes.count("lock") >= 1, outcomes  # the lock, not only the manifest check, was exercised


@pytest.mark.slow
def test_two_prepare_runs_on_one_folder_never_mix(tmp_path):
    """The same for ``run: prepare``, which computes before it writes (3 trials: it is slower)."""
    def spec(out: Path, n: int) -> Path:
        path = tmp_path / f"prepare{n}.yaml"
        path.write_text(yaml.safe_dump({
            "run": "prepare", "seed": n,
            "source": {"kind": "jsonl", "path": str(KJV_GROUPS), "columns": {"response_id": "id"}},
            "metrics": [{"kind": "distinct_n", "n": n}], "output": {"dir": str(out)}}), encoding="utf-8")
        return path

    for trial in range(3):
        out = tmp_path / f"trial{trial}"
        procs = [_start(spec(out, n)) for n in ((1, 2) if trial % 2 else (2, 1))]
        results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
        assert sorted(code for code, _, _ in results) == [0, 2], results
        loser = next(err for code, _, err in results if code == 2)
        assert "Traceback" not in loser and ("another divtools run is using" in loser
                                             or "holds a run of a different spec" in loser), loser
        manifest = json.loads((out / "divtools-run.json").read_text(encoding="utf-8"))
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert manifest["spec"]["seed"] == summary["spec"]["seed"]
        assert summary["spec"]["metrics"][0]["n"] == summary["spec"]["seed"]


def _hold(out: Path, spec: Path) -> subprocess.Popen:
    """A process that claims ``out`` like a run does, plants a temporary of a manifest write (as a
    live run has mid-write) and waits until it is told to stop."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from divtools.rundir import RunDir
        from divtools.spec.loading import load_spec
        RunDir.open(load_spec({str(spec)!r}))
        Path({str(out)!r}, ".divtools-run.json.live.tmp").write_text("being written")
        print("held", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=subprocess_env())
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_live_claim_stops_a_second_run_and_its_temporaries_survive(tmp_path):
    gens = _generations(tmp_path / "gens.jsonl")
    out = tmp_path / "out"
    holder = _hold(out, _spec(tmp_path, gens, out, 1))
    try:
        second = _start(_spec(tmp_path, gens, out, 2))
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert f"another divtools run is using {out}" in err and "Traceback" not in err
        assert (out / ".divtools-run.json.live.tmp").read_text() == "being written"
        assert not (out / "report.json").exists()
    finally:
        holder.communicate("", timeout=60)


def test_a_killed_runs_claim_is_taken_over(tmp_path):
    gens = _generations(tmp_path / "gens.jsonl")
    out = tmp_path / "out"
    spec = _spec(tmp_path, gens, out, 2)
    # SIGKILLed right after its manifest is written: the lock file stays, the lock does not
    killed = subprocess.run([sys.executable, str(KILL_AT), "run", str(spec), "--quiet"], capture_output=True,
                            text=True, env=subprocess_env(KILL_AT_REPLACE="1", KILL_WHEN="after"), timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert (out / ".divtools-run.lock").exists() and not (out / "report.json").exists()
    # and a run of *another* spec may take it: the killed run wrote nothing of value (issue #13 item 3)
    rerun = _start(_spec(tmp_path, gens, out, 1))
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert _results(out)[0] == 1
    assert not (out / ".divtools-run.lock").exists()  # released (and removed) at the end of the run
