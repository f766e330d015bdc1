"""Rebuild examples/quickstart/tiny-lm: a Llama config and a byte-level BPE tokenizer trained on
the bundled stories (no weights: the quickstart trains from scratch with ``from_config: true``).

    .venv/bin/python examples/quickstart/build_tiny_lm.py

tests/examples/test_quickstart.py checks that the committed files equal a fresh build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "stories.jsonl"

#: ~1M parameters; a 4k-token vocabulary holds most of the stories' words whole, so even a
#: minute of CPU SFT gives strings of real words
SIZE = {"hidden_size": 128, "num_layers": 2, "vocab_size": 4096, "max_position_embeddings": 512}


def texts() -> list[str]:
    out = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        out.append(row["post_title"])
        out.extend(row["comment_texts"])
    return out


def build(out_dir: Path) -> Path:
    from divtools.models.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(texts(), out_dir, weights=False, seed=0, **SIZE)


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "tiny-lm"))
