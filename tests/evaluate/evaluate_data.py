"""Data builders for the evaluation tests: generations and gold files made of real KJV verses
(tests/evaluate/data/proverbs.jsonl, public domain), and a helper that runs an evaluate spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
N_PROMPTS = 8
K = 4


def verses() -> list[str]:
    return [json.loads(line)["text"] for line in (DATA / "proverbs.jsonl").read_text().splitlines()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def prompt_text(i: int) -> str:
    return f"Write a proverb about topic {i}."


def generation_rows(n_prompts: int = N_PROMPTS, k: int = K) -> list[dict[str, Any]]:
    """Two systems over the same prompts: ``diverse`` answers with distinct verses, ``echo`` with
    one verse repeated with a one-word edit. ``score`` is a quality column."""
    texts = verses()
    rows = []
    for p in range(n_prompts):
        for s in range(k):
            rows.append({"prompt": prompt_text(p), "prompt_id": f"q{p}", "system": "diverse", "sample": s,
                         "response": texts[(p * k + s) % len(texts)], "score": float((p + s) % 5)})
            words = texts[p].split()
            words[s % len(words)] = f"edit{s}"
            rows.append({"prompt": prompt_text(p), "prompt_id": f"q{p}", "system": "echo", "sample": s,
                         "response": " ".join(words), "score": float(s)})
    return rows


def gold_rows(counts: list[int]) -> list[dict[str, Any]]:
    """Human responses: ``counts[p]`` distinct verses for prompt q{p}, with an ``upvotes`` column."""
    texts = verses()
    rows, offset = [], 40
    for p, count in enumerate(counts):
        for j in range(count):
            rows.append({"prompt": prompt_text(p), "prompt_id": f"q{p}", "id": f"h{p}-{j}",
                         "response": texts[(offset + j) % len(texts)], "upvotes": j, "score": j % 3})
        offset += count
    return rows


def run_spec(data: dict[str, Any], base_dir: Path, quiet: bool = True) -> Path:
    from divtools.runs import run_spec_data

    return run_spec_data(data, file="spec.yaml", base_dir=base_dir, quiet=quiet)


def load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
