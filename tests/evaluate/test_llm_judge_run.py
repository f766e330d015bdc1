"""An evaluate run with the ``llm_judge`` scorer against a chat server started on 127.0.0.1:
good answers give a report; a malformed answer stops the run with a clear error and no report."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from divtools.errors import DivtoolsError
from evaluate_data import load, run_spec


class Judge:
    """Answers every chat completion with ``reply(user message)``."""

    def __init__(self) -> None:
        self.reply = lambda text: json.dumps({"choices": [{"message": {"role": "assistant", "content": str(len(text) % 9 + 1)}}]})
        self.requests = 0
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                judge.requests += 1
                data = judge.reply(body["messages"][-1]["content"]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def judge():
    server = Judge()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _spec(gens, url: str, out: str) -> dict:
    return {
        "run": "evaluate",
        "generations": {"path": gens.name},
        "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"}],
        "scorers": [{"kind": "llm_judge", "model": "judge", "base_url": url, "api_key_env": None, "label": "judge",
                     "max_retries": 0, "timeout_s": 5}],
        "reporters": [{"kind": "json"}, {"kind": "markdown"}],
        "output": {"dir": out},
    }


def test_judge_scores_reach_the_report(gens, tmp_path, judge):
    report = load(run_spec(_spec(gens, judge.url, "ok"), tmp_path))
    assert judge.requests == 2 * 8 * 4
    entry = report["results"]["echo"]["judge"]
    assert entry["n_prompts"] == 8 and 1 <= entry["mean"] <= 9


def test_a_malformed_judge_answer_leaves_no_report(gens, tmp_path, judge):
    judge.reply = lambda text: '{"choices": "not a list"}'
    with pytest.raises(DivtoolsError, match="malformed"):
        run_spec(_spec(gens, judge.url, "bad"), tmp_path)
    assert sorted(p.name for p in (tmp_path / "bad").iterdir()) == ["divtools-run.json"]


def _unreadable_for(marker: str):
    """A judge that cannot give a score for responses containing ``marker`` (even when re-asked)."""

    def reply(text: str) -> str:
        content = "1. The story is a classic example" if marker in text or "no readable score" in text else "Score: 5"
        return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})

    return reply


def test_unreadable_judgements_are_counted_not_fatal(gens, tmp_path, judge):
    rows = [json.loads(line) for line in gens.read_text().splitlines()]
    marked = [r for r in rows if r["system"] == "echo"][:2]  # 2 of echo's 32 samples
    for r in marked:
        r["response"] += " UNREADABLE"
    gens.write_text("".join(json.dumps(r) + "\n" for r in rows))
    judge.reply = _unreadable_for("UNREADABLE")
    spec = _spec(gens, judge.url, "gaps")
    spec["scorers"][0].update(reask=1, max_missing_share=0.1)
    report = load(run_spec(spec, tmp_path))
    out = tmp_path / "gaps"
    missing = report["results"]["echo"]["judge"]["missing"]
    assert missing["count"] == 2 and missing["of"] == 32 and missing["share"] == pytest.approx(2 / 32)
    assert len(missing["examples"]) == 2 and "classic example" in missing["examples"][0]
    assert report["results"]["diverse"]["judge"]["missing"]["count"] == 0
    assert report["results"]["echo"]["judge"]["mean"] == pytest.approx(5.0)  # the gaps are not averaged in
    assert "2 of 32 samples (6.2%) without a score" in (out / "report.md").read_text()


def test_a_missing_share_past_the_threshold_exits_2(gens, tmp_path, judge, capsys):
    from divtools.cli.main import main

    rows = [json.loads(line) for line in gens.read_text().splitlines()]
    for r in [r for r in rows if r["system"] == "echo"][:4]:
        r["response"] += " UNREADABLE"
    gens.write_text("".join(json.dumps(r) + "\n" for r in rows))
    judge.reply = _unreadable_for("UNREADABLE")
    spec = _spec(gens, judge.url, str(tmp_path / "strict"))
    spec["scorers"][0].update(reask=0, max_missing_share=0.1)
    spec["generations"]["path"] = str(gens)
    spec_file = tmp_path / "strict.json"
    spec_file.write_text(json.dumps(spec))
    with pytest.raises(SystemExit) as exc:
        main(["run", "--quiet", str(spec_file)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "scorers[0].max_missing_share" in err and "4 of 32 samples of system 'echo'" in err
    assert "12.5%" in err and "classic example" in err and "Traceback" not in err
    assert not (tmp_path / "strict" / "report.json").exists()
