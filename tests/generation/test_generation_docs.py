"""docs/generation.md: its example spec validates, and every backend/scorer it documents exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "generation.md"


def test_example_spec_validates(tmp_path):
    from divtools.spec.loading import validate_spec

    text = DOC.read_text()
    block = re.search(r"```yaml\n(run: evaluate.*?)```", text, re.S).group(1)
    data = yaml.safe_load(block)
    for key in ("prompts", "gold"):
        (tmp_path / data[key]["path"]).write_text('{"prompt_id": "p1", "prompt": "x", "response": "y"}\n')
    spec = validate_spec(data, file="docs/generation.md", base_dir=tmp_path)
    kinds = [s.backend.kind for s in spec.systems]
    assert kinds == ["transformers", "transformers", "openai_compatible"]
    assert spec.systems[2].backend.mode == "iterative"
    assert [s.kind for s in spec.scorers] == ["reward_model", "llm_judge"]


def test_documented_components_are_registered():
    from divtools.plugins import load_plugins

    registries = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}).registries
    text = DOC.read_text()
    for name in ("transformers", "openai_compatible"):
        assert f"### `{name}`" in text and name in registries["backend"]
    for name in ("reward_model", "llm_judge"):
        assert f"### `{name}`" in text and name in registries["scorer"]
