"""The distributed path: the same DDPO spec as 2 CPU processes (torchrun, gloo) and as 1 process
at the same global batch gives the same logged losses, and the weights arrive intact."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spec_file(tmp_path: Path, name: str, lm: Path, pairs: Path, per_device: int) -> Path:
    args = {"per_device_train_batch_size": per_device, "max_steps": 3, "logging_steps": 1, "max_length": 128,
            "learning_rate": 1e-3}
    spec = {"run": "train", "seed": 7, "output": {"dir": str(tmp_path / name)}, "model": str(lm),
            "data": {"train": str(pairs)},
            "stages": [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": args}]}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    return path


def _steps(out: Path) -> list[dict]:
    records = [json.loads(line) for line in (out / "ddpo" / "log.jsonl").read_text().splitlines()]
    return [r for r in records if "loss/weighted" in r]


@pytest.mark.slow
@pytest.mark.distributed
def test_two_processes_match_one(tmp_path, tiny_lm_dir, pairs_file):
    divtools_bin = Path(sys.executable).parent / "divtools"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRL_EXPERIMENTAL_SILENCE": "1", "TOKENIZERS_PARALLELISM": "false"}
    one = _spec_file(tmp_path, "one", tiny_lm_dir, pairs_file, per_device=4)
    two = _spec_file(tmp_path, "two", tiny_lm_dir, pairs_file, per_device=2)
    subprocess.run([str(divtools_bin), "run", str(one), "--quiet"], check=True, env=env, timeout=120)
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
              "--master_port", str(_free_port()), "--no-python", str(divtools_bin), "run", str(two), "--quiet"]
    done = subprocess.run(launch, env=env, timeout=120, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    a, b = _steps(tmp_path / "one"), _steps(tmp_path / "two")
    assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2, 3]
    for ra, rb in zip(a, b):
        assert rb["loss"] == pytest.approx(ra["loss"], abs=1e-6)
        assert rb["loss/unweighted"] == pytest.approx(ra["loss/unweighted"], abs=1e-6)
        # the weights of the global batch, gathered from both ranks, are the 1-process batch's weights
        for key in ("weight/sum", "weight/min", "weight/max", "weight/zero_fraction"):
            assert rb[key] == pytest.approx(ra[key], abs=1e-7), key
    assert any(r["weight/min"] != r["weight/max"] for r in a)  # the weights really vary
    from transformers import AutoModelForCausalLM

    ma = AutoModelForCausalLM.from_pretrained(tmp_path / "one" / "ddpo").state_dict()
    mb = AutoModelForCausalLM.from_pretrained(tmp_path / "two" / "ddpo").state_dict()
    assert all(torch.allclose(ma[k], mb[k], atol=1e-5) for k in ma)
