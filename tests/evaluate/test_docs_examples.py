"""The spec examples in docs/evaluation.md validate (with stand-in input files); a fragment
without ``run:`` is validated inside the smallest spec."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "evaluation.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_validates(index, tmp_path):
    from divtools.spec.loading import load_spec

    for name in ("gens.jsonl", "prompts.jsonl", "human.jsonl", "sft.jsonl", "human_pairs.jsonl"):
        (tmp_path / name).write_text('{"prompt": "a", "response": "b"}\n')
    (tmp_path / "heldout_ids.txt").write_text("a\n")
    for folder in ("checkpoints/ddpo", "checkpoints/reward"):
        (tmp_path / folder).mkdir(parents=True)
    import yaml

    data = yaml.safe_load(BLOCKS[index])
    if "run" not in data:
        data = {"run": "evaluate", "generations": {"path": "gens.jsonl"}, "metrics": [{"kind": "distinct_n"}],
                "output": {"dir": "out"}, **data}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(data))
    spec = load_spec(tmp_path / "spec.yaml")
    assert spec.run == "evaluate"
