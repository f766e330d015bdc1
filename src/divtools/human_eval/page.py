"""The annotation page: one self-contained HTML file (no network; a Content-Security-Policy
allows only requests back to the server that served it).

The items are embedded as JSON with ``<`` written as ``\\u003c`` and shown with ``textContent``,
so no story can become markup. Answers autosave to the browser's ``localStorage`` under the
study and annotator ids, so a reload loses nothing; "Export" writes them as JSONL, the input of
``divtools human-eval analyze``. Served by ``divtools human-eval serve``, the page also posts each
answer to the server and starts from the answers the server already holds.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Sequence

__all__ = ["render_page"]

TEMPLATE = "annotate_page.html"


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(study_id: str, items: Sequence[dict], *, annotator: str | None = None, server: bool = False,
                saved: Sequence[dict] = ()) -> str:
    """The page for ``items`` (no system names in them); ``annotator`` fixes the annotator id
    (a server link), else the page asks for one (or reads ``?annotator=`` from its address)."""
    template = resources.files("divtools.builtins").joinpath("data", TEMPLATE).read_text(encoding="utf-8")
    data = {"study_id": study_id, "items": list(items), "annotator": annotator, "server": server,
            "saved": list(saved)}
    return template.replace("<!--DIVTOOLS:DATA-->", _json_for_script(data))
