"""A small evaluated run for the reporter tests: a human reference and several systems whose
diversity differs by construction (KJV proverbs, public domain, from tests/evaluate/data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROVERBS = Path(__file__).parents[1] / "evaluate" / "data" / "proverbs.jsonl"
N_PROMPTS = 6
K = 4


def verses() -> list[str]:
    return [json.loads(line)["text"] for line in PROVERBS.read_text().splitlines()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def system_rows(name: str, spread: int, n_prompts: int = N_PROMPTS, k: int = K, offset: int = 0) -> list[dict]:
    """``spread`` distinct verses per prompt (1 = the same verse k times with one-word edits)."""
    texts = verses()
    rows = []
    for p in range(n_prompts):
        for s in range(k):
            base = texts[(offset + p * 7 + (s % spread)) % len(texts)]
            words = base.split()
            if spread < k:
                words[s % len(words)] = f"edit{s}"
            rows.append({"prompt": f"Write a proverb about topic {p}.", "prompt_id": f"q{p}", "system": name,
                         "sample": s, "response": " ".join(words), "score": float((p + s + spread) % 5)})
    return rows


def build_run(tmp_path: Path, systems: dict[str, int], *, reporters: list | None = None, **extra) -> Path:
    """Evaluate ``systems`` (name -> spread) plus gold ``human``; returns the output folder."""
    from divtools.runs import run_spec_data

    tmp_path.mkdir(parents=True, exist_ok=True)
    rows = [r for i, (name, spread) in enumerate(systems.items()) for r in system_rows(name, spread, offset=i)]
    write_jsonl(tmp_path / "gens.jsonl", rows)
    gold = [dict(r, system=None, id=f"h{i}") for i, r in enumerate(system_rows("human", K, offset=50))]
    write_jsonl(tmp_path / "gold.jsonl", [{k: v for k, v in r.items() if k != "system"} for r in gold])
    spec = {
        "run": "evaluate",
        "generations": {"path": "gens.jsonl"},
        "gold": {"path": "gold.jsonl"},
        "samples_per_prompt": K,
        "metrics": [{"kind": "distinct_n", "n": 2, "label": "d2"}, {"kind": "self_bleu", "label": "self_bleu"}],
        "scorers": [{"kind": "length"}, {"kind": "dataset_score", "label": "quality"}],
        "effective_diversity": {"quantiles": 3},
        "bootstrap_samples": 200,
        "output": {"dir": "out"},
    }
    if reporters is not None:
        spec["reporters"] = reporters
    spec.update(extra)
    run_spec_data(spec, file="spec.yaml", base_dir=tmp_path, quiet=True)
    return tmp_path / "out"


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
