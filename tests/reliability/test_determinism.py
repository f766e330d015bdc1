"""Same spec and seed, same outputs — train (prepare and evaluate are covered elsewhere: see
docs/errors.md; the kill-and-rerun tests also compare byte for byte across processes)."""

from __future__ import annotations

import pytest

from .conftest import TINY_ARGS, write_pairs


@pytest.mark.slow
def test_train_same_spec_and_seed_give_identical_weights_and_another_seed_does_not(tmp_path, tiny_lm):
    torch = pytest.importorskip("torch")
    safetensors = pytest.importorskip("safetensors.torch")
    from divtools.runs import run_spec_data

    pairs = write_pairs(tmp_path / "pairs.jsonl")
    # LoRA with dropout: the seed drives the adapter's initialisation, dropout and the data order
    stages = [{"name": "ddpo", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": TINY_ARGS,
               "lora": {"r": 4, "alpha": 8, "dropout": 0.1}}]

    def weights(name: str, seed: int) -> dict:
        spec = {"run": "train", "seed": seed, "model": str(tiny_lm), "data": {"train": str(pairs)},
                "stages": stages, "output": {"dir": str(tmp_path / name)}}
        out = run_spec_data(spec, file="train.yaml", base_dir=tmp_path, quiet=True)
        files = sorted((out / "ddpo").glob("*.safetensors"))
        assert files, list((out / "ddpo").iterdir())
        return {f"{f.name}:{k}": v for f in files for k, v in safetensors.load_file(f).items()}

    a, b, c = weights("a", 3), weights("b", 3), weights("c", 4)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert a.keys() == c.keys() and not all(torch.equal(a[k], c[k]) for k in a)
