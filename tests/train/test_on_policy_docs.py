"""docs/on-policy.md: its spec blocks validate, and its reward-function lines run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOC = Path(__file__).parents[2] / "docs" / "on-policy.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_every_spec_block_validates(tmp_path):
    from divtools.spec.loading import validate_spec

    specs = [yaml.safe_load(b) for b in _blocks("yaml")]
    full = [s for s in specs if isinstance(s, dict) and "run" in s]
    assert {s["run"] for s in full} == {"train", "online"}
    for data in full:
        validate_spec(data, file="docs/on-policy.md", base_dir=tmp_path, check_paths=False)
    # the darling stage fragment, as the stage of the train block
    train = next(s for s in full if s["run"] == "train")
    fragment = next(s for s in specs if isinstance(s, list))
    spec = validate_spec({**train, "stages": fragment}, file="docs/on-policy.md", base_dir=tmp_path, check_paths=False)
    assert spec.stages[0].darling and spec.stages[0].reward.partition.kind == "unigram"


def test_the_python_reward_lines_run():
    code = _blocks("python")[0]
    reward_part = code.split("trainer =")[0].replace("from trl import GRPOConfig, GRPOTrainer\n", "")
    scope: dict = {}
    exec(reward_part, scope)  # noqa: S102 - the documentation's own example
    got = scope["darling"](prompts=["p"] * 4, completions=["a b", "a b", "c d", "e f"])
    # unigram classes {0, 1}, {2}, {3}: shares of the other 3 in another class 2/3, 2/3, 1, 1; times 2 words
    assert got == [4 / 3, 4 / 3, 2.0, 2.0]
    assert len(scope["reward"](prompts=["p"] * 4, completions=["a b", "a c", "d e", "f g"])) == 4
