"""Issue #13 item 16 and issue #12 item 9: progress in a log is plain periodic lines (no carriage
returns, no cursor codes), TQDM_DISABLE is honoured, and --quiet silences the libraries' bars
and warnings."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from divtools.progress import LineProgress, progress

ROOT = Path(__file__).resolve().parents[2]
CURSOR_CODES = ("\r", "\x1b[")


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_line_progress_prints_a_plain_line_per_interval_and_one_at_the_end():
    out, clock = io.StringIO(), _Clock()
    bar = LineProgress(10, "d2 [sys]", "prompt", interval=30, stream=out, clock=clock)
    for i in range(10):
        clock.t = 10.0 * (i + 1)  # one update every 10 s: a line at 30, 60, 90 s
        bar.update(1)
    bar.close()
    bar.close()  # closing twice prints once
    assert out.getvalue().splitlines() == [
        "d2 [sys]: 3/10 prompt (30%), 30.0 s",
        "d2 [sys]: 6/10 prompt (60%), 60.0 s",
        "d2 [sys]: 9/10 prompt (90%), 90.0 s",
        "d2 [sys]: 10/10 prompt (100%), 100.0 s",
    ]
    assert not any(code in out.getvalue() for code in CURSOR_CODES)


def test_without_a_terminal_progress_is_lines_and_tqdm_disable_or_quiet_silence_it(monkeypatch, capsys):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("DIVTOOLS_SET_TQDM_DISABLE", raising=False)
    monkeypatch.setenv("DIVTOOLS_PROGRESS_INTERVAL", "0")
    bar = progress(2, "generate s", unit="prompt")  # pytest's stderr is not a terminal
    assert isinstance(bar, LineProgress)
    bar.update(1)
    bar.update(1)
    bar.close()
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith("generate s: 1/2 prompt (50%), ")
    assert err.splitlines()[-1].startswith("generate s: 2/2 prompt (100%), ")
    for quiet, env in ((True, None), (False, "1")):
        if env:
            monkeypatch.setenv("TQDM_DISABLE", env)
        silent = progress(3, "x", quiet=quiet)
        silent.update(3)
        silent.close()
        assert capsys.readouterr().err == ""


def _evaluate_spec(tmp_path) -> Path:
    sys.path.insert(0, str(ROOT / "tests" / "evaluate"))
    from evaluate_data import generation_rows, write_jsonl

    write_jsonl(tmp_path / "gens.jsonl", generation_rows())
    spec = {"run": "evaluate", "generations": {"path": "gens.jsonl"}, "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"}],
            "output": {"dir": "out"}}
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _run(args, tmp_path, **env):
    import os

    full = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "DIVTOOLS_SET_TQDM_DISABLE")}
    full.update({"DIVTOOLS_PROGRESS_INTERVAL": "0", **env})
    # stderr is a pipe, as in CI or `2> log`
    return subprocess.run([sys.executable, "-m", "divtools.cli.main", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=full)


def test_an_evaluate_run_in_a_log_prints_plain_lines(tmp_path):
    proc = _run(["run", str(_evaluate_spec(tmp_path))], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "d2 [diverse]: 8/8 prompt (100%)" in proc.stderr
    assert not any(code in proc.stderr + proc.stdout for code in CURSOR_CODES)
    (tmp_path / "q").mkdir()
    silent = _run(["run", str(_evaluate_spec(tmp_path / "q"))], tmp_path, TQDM_DISABLE="1")
    assert silent.returncode == 0, silent.stderr
    assert "prompt (" not in silent.stderr


def _train_spec(tmp_path, tiny_lm_dir, pairs_file) -> Path:
    spec = {"run": "train", "output": {"dir": str(tmp_path / "out")}, "model": str(tiny_lm_dir),
            "data": {"train": str(pairs_file)},
            "stages": [{"name": "sft", "kind": "sft", "args": {"per_device_train_batch_size": 4, "max_steps": 2,
                                                            "logging_steps": 1, "max_length": 64}}]}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "train.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    pytest.importorskip("trl")
    from divtools.models.tiny import build_tiny_causal_lm

    texts = [json.loads(line)["text"] for line in (ROOT / "tests/train/data/kjv_proverbs.jsonl").read_text().splitlines()]
    lm = build_tiny_causal_lm(texts, tmp_path_factory.mktemp("lm"), seed=0)
    pairs = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": f"Write about {w}.", "chosen": texts[i], "rejected": texts[i + 1]}) + "\n"
                             for i, w in enumerate(["wisdom", "folly", "wealth", "speech"] * 2)), encoding="utf-8")
    return lm, pairs


@pytest.mark.slow
def test_training_in_a_log_has_no_cursor_codes_and_quiet_has_no_library_noise(tmp_path, tiny_lm):
    lm, pairs = tiny_lm
    proc = _run(["run", str(_train_spec(tmp_path / "a", lm, pairs))], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stderr + proc.stdout
    assert not any(code in text for code in CURSOR_CODES), text[-2000:]
    assert "'loss'" in text  # the Trainer's plain per-logging-step line instead of its bar
    quiet = _run(["run", "--quiet", str(_train_spec(tmp_path / "b", lm, pairs))], tmp_path)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    for noise in ("Loading weights", "Warning", "warn", "%|", "'loss'"):
        assert noise not in quiet.stderr, quiet.stderr[-3000:]


def test_in_a_log_the_libraries_bars_are_off_and_divtools_lines_stay_on(monkeypatch, capsys):
    import os

    from divtools.progress import configure_libraries

    for name in ("TQDM_DISABLE", "DIVTOOLS_SET_TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIVTOOLS_PROGRESS_INTERVAL", "0")
    configure_libraries(quiet=False)  # stderr is not a terminal here
    assert os.environ["TQDM_DISABLE"] == "1"  # what TRL's reference log-prob bar reads
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    bar = progress(1, "mine")
    bar.update(1)
    bar.close()
    assert "mine: 1/1 it (100%)" in capsys.readouterr().err
