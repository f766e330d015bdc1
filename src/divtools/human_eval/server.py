"""``human-eval serve``: the annotation page on 127.0.0.1, judgements collected into one file.

Each annotator gets one link, ``http://127.0.0.1:PORT/a/<token>/``, whose random token fixes
the annotator id (so nobody types it, and two people cannot write as one by mistake). The links
are kept in ``<judgements>.links.json`` (mode 0600) so a restarted server keeps them. Every
answer the page posts replaces that annotator's answer to that item, and the whole judgements
file is rewritten atomically (:mod:`divtools.atomic`) before the reply: a crash or a reload
loses nothing that was acknowledged, and the page, reloaded, starts from what the server holds.
Only 127.0.0.1 is bound; put a reverse proxy with TLS in front to reach annotators elsewhere.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Sequence

from divtools.atomic import write_text
from divtools.errors import UserError
from divtools.human_eval.analysis import POSITIONS, QUESTIONS
from divtools.human_eval.page import render_page

__all__ = ["JudgementStore", "make_server"]

MAX_BODY = 1 << 20
MAX_COMMENT = 20_000


class JudgementStore:
    """The judgements file: one line per (annotator, item), the latest answer; thread-safe."""

    def __init__(self, path: Path, study_id: str, item_ids: Sequence[str]) -> None:
        self.path = Path(path)
        self.study_id = study_id
        self.item_ids = set(item_ids)
        self.lock = threading.Lock()
        self.rows: dict[tuple[str, str], dict] = {}
        if self.path.exists():
            from divtools.jsonl import read_jsonl

            for _, row in read_jsonl(self.path):
                self.rows[(row["annotator"], row["item_id"])] = row

    def of(self, annotator: str) -> list[dict]:
        with self.lock:
            return [r for (a, _), r in self.rows.items() if a == annotator]

    def add(self, annotator: str, body: Any) -> dict:
        """Check and store one posted answer (ValueError says what is wrong)."""
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        if body.get("item_id") not in self.item_ids:
            raise ValueError(f"unknown item {body.get('item_id')!r}")
        row = {"study_id": self.study_id, "item_id": body["item_id"], "annotator": annotator}
        for q in QUESTIONS:
            if body.get(q) not in (*POSITIONS, None):
                raise ValueError(f"'{q}' must be one of {', '.join(POSITIONS)} or null")
            row[q] = body.get(q)
        comment = body.get("comment") or ""
        if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
            raise ValueError(f"'comment' must be text of at most {MAX_COMMENT} characters")
        row["comment"] = comment
        row["saved_at"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        with self.lock:
            self.rows[(annotator, row["item_id"])] = row
            lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                     for _, r in sorted(self.rows.items(), key=lambda kv: kv[0])]
            write_text(self.path, "".join(lines))
        return row


def _links(path: Path, annotators: Sequence[str]) -> dict[str, str]:
    """token -> annotator, kept from an earlier run for the annotators it already had."""
    known: dict[str, str] = {}
    if path.exists():
        known = json.loads(path.read_text(encoding="utf-8"))
    by_name = {name: token for token, name in known.items()}
    for name in annotators:
        if name not in by_name:
            token = secrets.token_urlsafe(12)
            known[token] = name
            by_name[name] = token
    write_text(path, json.dumps(known, indent=2, sort_keys=True) + "\n")
    os.chmod(path, 0o600)
    return known


def make_server(items_doc: dict, judgements: Path, annotators: Sequence[str], port: int = 0):
    """(server, {annotator: link}); call ``server.serve_forever()`` (``port`` 0: a free port)."""
    if not annotators:
        raise UserError("give at least one annotator id", field="--annotator")
    bad = [a for a in annotators if not a.strip() or len(a) > 100]
    if bad:
        raise UserError(f"annotator id {bad[0]!r}: give 1 to 100 characters", field="--annotator")
    judgements = Path(judgements)
    study_id, items = items_doc["study_id"], items_doc["items"]
    store = JudgementStore(judgements, study_id, [it["item_id"] for it in items])
    tokens = _links(judgements.with_name(judgements.name + ".links.json"), annotators)
    tokens = {t: a for t, a in tokens.items() if a in annotators}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:  # the links are credentials: no access log
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _annotator(self) -> tuple[str | None, str]:
            parts = self.path.split("?", 1)[0].split("/")
            if len(parts) >= 3 and parts[1] == "a" and parts[2] in tokens:
                return tokens[parts[2]], "/".join(parts[3:])
            return None, ""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            annotator, rest = self._annotator()
            if annotator is None:
                self._send(HTTPStatus.NOT_FOUND, b"unknown link\n", "text/plain; charset=utf-8")
            elif self.path.split("?", 1)[0].count("/") == 2:  # /a/<token> -> /a/<token>/
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", self.path.split("?", 1)[0] + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif rest == "":
                page = render_page(study_id, items, annotator=annotator, server=True, saved=store.of(annotator))
                self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

        def do_POST(self) -> None:  # noqa: N802
            annotator, rest = self._annotator()
            if annotator is None or rest != "judgement":
                self._send(HTTPStatus.NOT_FOUND, b'{"error": "not found"}')
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b'{"error": "body size"}')
                return
            try:
                row = store.add(annotator, json.loads(self.rfile.read(length).decode("utf-8")))
            except (ValueError, UnicodeDecodeError) as exc:
                self._send(HTTPStatus.BAD_REQUEST, json.dumps({"error": str(exc)}).encode("utf-8"))
                return
            self._send(HTTPStatus.OK, json.dumps({"ok": True, "saved_at": row["saved_at"]}).encode("utf-8"))

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    host, bound = server.server_address[:2]
    links = {name: f"http://{host}:{bound}/a/{token}/" for token, name in tokens.items()}
    return server, links
