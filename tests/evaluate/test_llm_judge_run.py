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
