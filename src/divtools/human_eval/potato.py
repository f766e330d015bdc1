"""``human-eval export-potato``: the items as a Potato project (Pei et al., 2022).

Potato annotates one text per instance and has no set-level task, so each item becomes one
instance whose text is HTML showing the prompt and the two sets side by side (every story
HTML-escaped), with the paper's two questions as radio schemes and a free-text box. The
instance ids are the item ids, so Potato's answers map back through the same hidden key.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Sequence

import yaml

from divtools.atomic import write_text

__all__ = ["export_potato", "instance_html"]

LABELS = ["Left set", "Right set", "About the same"]


def instance_html(item: dict) -> str:
    def column(side: str, title: str) -> str:
        stories = "".join(f'<div style="border:1px solid #ddd;padding:6px;margin:4px 0;white-space:pre-wrap">'
                          f"<b>story {i + 1}</b><br>{html.escape(text)}</div>" for i, text in enumerate(item[side]))
        return f'<div style="flex:1"><h4>{title}</h4>{stories}</div>'

    return (f"<p><b>Prompt:</b> {html.escape(item['prompt'])}</p>"
            f'<div style="display:flex;gap:16px">{column("left", "Left set")}{column("right", "Right set")}</div>')


def export_potato(study_id: str, items: Sequence[dict], out_dir: Path) -> list[Path]:
    """``config.yaml`` and ``data/items.jsonl`` under ``out_dir``; start with
    ``potato start out_dir/config.yaml``."""
    out_dir = Path(out_dir)
    data = "".join(json.dumps({"id": it["item_id"], "text": instance_html(it)}, ensure_ascii=False) + "\n"
                   for it in items)
    config = {
        "annotation_task_name": f"divtools human evaluation: {study_id}",
        "server_name": "divtools human evaluation",
        "port": 8000,
        "output_annotation_dir": "annotation_output/",
        "output_annotation_format": "jsonl",
        "data_files": ["data/items.jsonl"],
        "item_properties": {"id_key": "id", "text_key": "text"},
        "user_config": {"allow_all_users": True, "users": []},
        "annotation_schemes": [
            {"annotation_type": "radio", "name": "diverse", "description": "Which set of stories is more diverse?",
             "labels": list(LABELS)},
            {"annotation_type": "radio", "name": "best_story", "description": "Which set holds the best story?",
             "labels": list(LABELS)},
            {"annotation_type": "text", "name": "comment", "description": "Anything else (optional)"},
        ],
        "html_layout": "default",
        "base_html_template": "default",
        "header_file": "default",
        "site_dir": "default",
    }
    return [write_text(out_dir / "data" / "items.jsonl", data),
            write_text(out_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False, allow_unicode=True))]
