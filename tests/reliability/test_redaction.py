"""No secret in any output, log line or message (issue #12 item 3).

A key is planted in the spec (``base_url`` with ``?api-key=``, an ``api_key`` in
``extra_body``), in the environment (the API key variable; ``OPENAI_BASE_URL`` with
``user:PASSWORD@``) and in a 127.0.0.1 server's replies (HTTP 400 and 503 bodies that echo the
request's headers, URL and body; a 200 without ``choices`` echoing them). Each run is a real
``divtools run`` process; every file under its output folder, its stdout and its stderr are
searched: no planted value may appear. One mechanism does it: :mod:`divtools.redact`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from divtools.redact import redact, redact_data

from .conftest import REPO, subprocess_env

ENV_KEY = "sk-ENVKEY-4f3e2d1c0b9a"
QUERY_KEY = "QUERYKEY-77aa88bb99cc"
BODY_KEY = "BODYKEY-1234abcd5678"
PASSWORD = "PASSWORD-0e9d8c7b"
PLANTED = (ENV_KEY, QUERY_KEY, BODY_KEY, PASSWORD, "ENVKEY", "QUERYKEY", "BODYKEY", "PASSWORD-")


class EchoServer:
    """Answers every request per ``mode``: ``ok`` (a chat completion), or ``400`` / ``503`` /
    ``nochoices``: a reply whose body repeats the request line, headers and body."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                server.requests += 1
                # the secrets first, so that no excerpt of the reply can cut them off
                echo = {"sent": [self.headers.get("Authorization"), body, self.path], "headers": dict(self.headers)}
                if server.mode == "ok":
                    n = json.loads(body).get("n", 1)
                    status, payload = 200, {"choices": [{"index": i, "message": {"content": f"text {i} of {server.requests}"}}
                                                        for i in range(n)]}
                elif server.mode == "nochoices":
                    status, payload = 200, {"object": "chat.completion", "echo": echo}
                else:
                    status, payload = int(server.mode), {"error": {"message": f"bad request {echo}"}}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _run(tmp_path: Path, backend: dict, env: dict) -> subprocess.CompletedProcess:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt_id": f"p{i}", "prompt": f"Write about {i}."}) + "\n"
                               for i in range(2)), encoding="utf-8")
    spec = {"run": "evaluate", "prompts": {"path": str(prompts)}, "samples_per_prompt": 2,
            "systems": [{"name": "api", "backend": {"kind": "openai_compatible", "model": "m",
                                                    "api_key_env": "DIVTOOLS_REDACT_KEY", "max_retries": 1,
                                                    "backoff_base_s": 0.01, "backoff_max_s": 0.01,
                                                    "extra_body": {"api_key": BODY_KEY}, **backend}}],
            "metrics": [{"kind": "distinct_n"}], "output": {"dir": str(tmp_path / "out")}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "divtools.cli.main", "run", str(path)], capture_output=True,
                          text=True, timeout=120, cwd=REPO,
                          env=subprocess_env(DIVTOOLS_REDACT_KEY=ENV_KEY, DIVTOOLS_CACHE=str(tmp_path / "out" / "cache"),
                                             **env))


def _assert_no_secret(tmp_path: Path, result: subprocess.CompletedProcess) -> None:
    places = {"stdout": result.stdout, "stderr": result.stderr}
    for path in sorted((tmp_path / "out").rglob("*")) if (tmp_path / "out").exists() else ():
        if path.is_file():
            places[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for where, text in places.items():
        for secret in PLANTED:
            assert secret not in text, f"{secret} in {where}: {text[:2000]}"


@pytest.mark.parametrize("mode", ["ok", "400", "503", "nochoices"])
def test_no_planted_key_in_outputs_logs_or_messages(tmp_path, mode):
    server = EchoServer(mode)
    try:
        result = _run(tmp_path, {"base_url": f"{server.url}?api-version=1&api-key={QUERY_KEY}"}, {})
    finally:
        server.close()
    assert server.requests >= 1
    if mode == "ok":
        assert result.returncode == 0, result.stderr
        manifest = json.loads((tmp_path / "out" / "divtools-run.json").read_text())
        assert manifest["spec"]["systems"][0]["backend"]["base_url"].endswith("?api-version=1&api-key=***")
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        assert report["spec"]["systems"][0]["backend"]["extra_body"] == {"api_key": "***"}
    else:
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert ("HTTP " + mode if mode != "nochoices" else "no 'choices'") in result.stderr
    _assert_no_secret(tmp_path, result)


def test_a_password_in_the_base_url_environment_variable_is_refused_unseen(tmp_path):
    result = _run(tmp_path, {}, {"OPENAI_BASE_URL": f"http://user:{PASSWORD}@127.0.0.1:9/v1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "OPENAI_BASE_URL holds a URL with user:password@" in result.stderr
    _assert_no_secret(tmp_path, result)


def test_redact_forms():
    """The forms a key takes in a text (independent spellings of each, checked by hand)."""
    cases = {
        f"http://user:{PASSWORD}@host/v1": "http://***@host/v1",
        f"https://h/v1?api-version=2&api-key={QUERY_KEY}&x=1": "https://h/v1?api-version=2&api-key=***&x=1",
        f"Authorization: Bearer {BODY_KEY}\r\nHost: h": "Authorization: ***\r\nHost: h",
        json.dumps({"Authorization": f"Bearer {BODY_KEY}", "api-key": BODY_KEY}): '{"Authorization": "***", "api-key": "***"}',
        json.dumps(json.dumps({"x-api-key": BODY_KEY})): json.dumps(json.dumps({"x-api-key": "***"})),
        str({"Api-Key": BODY_KEY}): "{'Api-Key': '***'}",
        f"token {BODY_KEY} and Bearer {BODY_KEY}": "token *** and Bearer ***",
    }
    for text, want in cases.items():
        assert redact(text) == want, text
    assert redact_data({"api_key_env": "OPENAI_API_KEY", "password": "x", "n": [f"?token={QUERY_KEY}"]}) == {
        "api_key_env": "OPENAI_API_KEY", "password": "***", "n": ["?token=***"]}


def test_values_of_secret_environment_variables_are_redacted(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-abcdefgh12345")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-but-long")  # not a secret by its name
    assert redact("x tok-abcdefgh12345 y false-but-long") == "x *** y false-but-long"
