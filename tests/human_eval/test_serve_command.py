"""``divtools human-eval serve`` as a process: it prints one 127.0.0.1 link per annotator, stores
each posted answer atomically, and stops cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from divtools.cli.main import cli


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_prints_links_stores_answers_and_stops_on_sigint(run_dir, tmp_path, stop):
    """Also when started with SIGINT ignored, as a background job of a non-interactive shell is."""
    made = CliRunner().invoke(cli, ["human-eval", "make", str(run_dir), "--systems", "ddpo", "sft",
                                    "--out", str(tmp_path / "items")])
    assert made.exit_code == 0, made.output
    first = json.loads((tmp_path / "items" / "items.jsonl").read_text().splitlines()[0])
    out = tmp_path / "judgements.jsonl"
    cmd = [sys.executable, "-c", "from divtools.cli.main import main; main()", "human-eval", "serve",
           str(tmp_path / "items"), "--annotator", "ann1", "--annotator", "ann2", "--out", str(out), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        links = dict(proc.stdout.readline().strip().split(": ", 1) for _ in range(2))
        assert set(links) == {"ann1", "ann2"} and all(v.startswith("http://127.0.0.1:") for v in links.values())
        assert "collecting into" in proc.stdout.readline()
        page = urllib.request.urlopen(links["ann2"]).read().decode("utf-8")
        assert '"annotator": "ann2"' in page and first["item_id"] in page
        body = json.dumps({"item_id": first["item_id"], "diverse": "left", "best_story": "tie", "comment": "ok"})
        reply = urllib.request.urlopen(urllib.request.Request(links["ann2"] + "judgement", data=body.encode(),
                                                              method="POST"))
        assert json.loads(reply.read())["ok"] is True
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [(r["annotator"], r["item_id"], r["diverse"], r["best_story"]) for r in rows] == [
            ("ann2", first["item_id"], "left", "tie")]
        assert not list(Path(tmp_path).glob(".judgements.jsonl.*.tmp"))  # written atomically
    finally:
        proc.send_signal(stop)
        code = proc.wait(timeout=20)
    assert code == 0, proc.stderr.read()
    assert oct((tmp_path / "judgements.jsonl.links.json").stat().st_mode & 0o777) == "0o600"
