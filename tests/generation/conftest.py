"""Fixtures for generation and model-based scorer tests: tiny models built offline, and a fake
OpenAI-compatible chat server on 127.0.0.1 that the test scripts (errors, delays, bad bodies)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch) -> Path:
    """Each test caches (judgements, embeddings) in its own folder, never in ~/.cache."""
    path = tmp_path / "divtools-cache"
    monkeypatch.setenv("DIVTOOLS_CACHE", str(path))
    return path


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory) -> Path:
    from divtools.models.tiny import build_tiny_causal_lm, default_texts

    return build_tiny_causal_lm(default_texts(), tmp_path_factory.mktemp("tiny_lm"))


@pytest.fixture(scope="session")
def tiny_rm(tmp_path_factory) -> Path:
    from divtools.models.tiny import build_tiny_sequence_classifier, default_texts

    return build_tiny_sequence_classifier(default_texts(), tmp_path_factory.mktemp("tiny_rm"), seed=3)


def default_reply(body: dict[str, Any]) -> list[str]:
    """A deterministic completion: depends on the last user message, the seed and the choice."""
    last = body["messages"][-1]["content"]
    n = int(body.get("n", 1))
    return [f"story seed={body.get('seed')} choice={i} about {last[:24]!r}" for i in range(n)]


class FakeChatServer:
    """A chat-completions server. ``script`` holds actions for the next requests, consumed in
    order; when it is empty, ``reply(body) -> list[str]`` answers. Actions:
    ``("status", code[, headers[, body bytes]])``, ``("sleep", seconds)`` (then answer normally),
    ``("raw", bytes)``, ``("json", obj)``.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple] = []
        self.reply: Callable[[dict[str, Any]], list[str]] = default_reply
        self.times: list[float] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                    server.times.append(time.monotonic())
                    action = server.script.pop(0) if server.script else None
                if action and action[0] == "status":
                    self.send_response(action[1])
                    for k, v in (action[2] if len(action) > 2 else {}).items():
                        self.send_header(k, v)
                    payload = action[3] if len(action) > 3 else b'{"error": {"message": "scripted failure"}}'
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if action and action[0] == "sleep":
                    time.sleep(action[1])
                if action and action[0] == "raw":
                    payload = action[1]
                elif action and action[0] == "json":
                    payload = json.dumps(action[1]).encode()
                else:
                    texts = server.reply(body)
                    payload = json.dumps({
                        "id": "x", "object": "chat.completion", "model": body.get("model"),
                        "choices": [
                            {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                            for i, t in enumerate(texts)
                        ],
                    }).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server():
    server = FakeChatServer()
    yield server
    server.close()


@pytest.fixture
def fast_connection(chat_server) -> dict[str, Any]:
    """Params that reach the fake server and retry fast."""
    return {
        "model": "fake-model",
        "base_url": chat_server.url,
        "api_key_env": "DIVTOOLS_TEST_API_KEY",
        "timeout_s": 5.0,
        "max_retries": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
    }
