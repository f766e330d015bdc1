"""docs/training.md's spec blocks validate; the accelerate configs it names parse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from divtools.spec.loading import validate_spec
from divtools.spec.yaml_loader import load_yaml

ROOT = Path(__file__).resolve().parents[2]


def _blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "training.md").read_text(), flags=re.S)


def test_training_doc_specs_validate(tmp_path):
    blocks = _blocks()
    spec = yaml.safe_load(blocks[0])
    (tmp_path / "pairs.jsonl").write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n')
    spec["data"]["train"] = "pairs.jsonl"
    for fragment in blocks[1:]:
        loaded = yaml.safe_load(fragment)
        if isinstance(loaded, list):  # stage fragments; whole specs are run by test_new_user_ddpo.py
            spec["stages"].extend(loaded)
    validated = validate_spec(spec, file="training.md", base_dir=tmp_path)
    # the "Data" section's Hugging Face dataset block, in place of the prepared file
    data_blocks = [b for b in map(load_yaml, blocks[1:]) if isinstance(b, dict) and set(b) == {"data"}]
    assert len(data_blocks) == 1
    hf = validate_spec({**spec, **data_blocks[0]}, file="training.md", base_dir=tmp_path)
    assert hf.data.train.hf_dataset == "trl-lib/my-pairs" and hf.data.eval.split == "test"
    kinds = [s.kind for s in validated.stages]
    assert kinds == ["sft", "preference", "preference", "reward_model"]
    assert validated.stages[1].reference == "adapter" and validated.stages[2].objective.kind == "dorpo"


@pytest.mark.parametrize("name", ["multi_gpu", "deepspeed_zero2", "deepspeed_zero3", "fsdp"])
def test_accelerate_configs_parse(name):
    pytest.importorskip("accelerate")
    from accelerate.commands.config.config_args import ClusterConfig

    path = ROOT / "examples" / "accelerate" / f"{name}.yaml"
    assert name in (ROOT / "docs" / "training.md").read_text()
    config = ClusterConfig.from_yaml_file(str(path))
    assert config.mixed_precision == "bf16" and config.num_processes >= 2
