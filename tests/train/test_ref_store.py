"""The shared reference log-prob store (divtools.train.ref_store): exact, shared, and never stale.

Exactness is checked against the path without the store (the reference run on every step, as in
TRL): same per-step losses to float precision, for DPO, DDPO and DivPO, with a full-weight policy
(separate reference model) and with LoRA (frozen SFT adapter copy; disabled adapter).
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

ARGS = {"per_device_train_batch_size": 4, "max_steps": 3, "logging_steps": 1, "max_length": 128, "learning_rate": 1e-3}
LORA = {"r": 4, "alpha": 8, "dropout": 0.0}


def _losses(log_records, path):
    return [(r["step"], r["loss"], r["loss/unweighted"]) for r in log_records(path) if "loss/weighted" in r]


def _reference(out, stage):
    return json.loads((out / stage / "reference-logps.json").read_text())


@pytest.fixture
def count_reference_passes(monkeypatch):
    """How many batches went through a reference model: TRL's precompute pass and divtools' per-step one."""
    from divtools.train.preference_trainer import PreferenceTrainer

    calls = {"precompute": 0, "per_step": 0}
    precompute, per_step = PreferenceTrainer.compute_ref_log_probs, PreferenceTrainer._reference_logps

    def counted_precompute(self, *a, **k):
        calls["precompute"] += 1
        return precompute(self, *a, **k)

    def counted_per_step(self, *a, **k):
        calls["per_step"] += 1
        return per_step(self, *a, **k)

    monkeypatch.setattr(PreferenceTrainer, "compute_ref_log_probs", counted_precompute)
    monkeypatch.setattr(PreferenceTrainer, "_reference_logps", counted_per_step)
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("lora", [None, LORA], ids=["full-weights", "lora"])
@pytest.mark.parametrize("objective", ["dpo", "ddpo", "divpo"])
def test_losses_with_the_store_equal_losses_without_it(
    tmp_path, monkeypatch, tiny_lm_dir, pairs_file, divpo_pairs_file, train_spec, log_records, objective, lora
):
    from divtools.train.run import run

    pairs = divpo_pairs_file if objective == "divpo" else pairs_file
    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    stages = [{"name": "sft", "kind": "sft", "args": ARGS}]
    if lora:
        stages[0]["lora"] = lora
    losses = {}
    for share in (False, True):
        stage = {"name": "p", "kind": "preference", "init": "sft", "objective": {"kind": objective},
                 "share_reference_logps": share, "args": ARGS}
        if lora:
            stage["lora"] = lora
        out = run(train_spec(tmp_path / str(share), tiny_lm_dir, pairs, [*stages, stage]), quiet=True)
        losses[share] = _losses(log_records, out / "p" / "log.jsonl")
        line = _reference(out, "p")["line"]
        assert ("from the shared store" in line) is share, line
    assert len(losses[True]) == 3
    for (s0, l0, u0), (s1, l1, u1) in zip(losses[False], losses[True]):
        assert s0 == s1
        assert l1 == pytest.approx(l0, rel=1e-5, abs=1e-6)
        assert u1 == pytest.approx(u0, rel=1e-5, abs=1e-6)
    # the policy moved, so the equality is not the trivial log 2 of step 1 repeated
    assert len({round(l, 6) for _, l, _ in losses[True]}) > 1


@pytest.mark.slow
def test_later_stages_read_the_store_and_run_no_reference(
    tmp_path, monkeypatch, tiny_lm_dir, pairs_file, train_spec, count_reference_passes, capsys
):
    from divtools.train.run import run

    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    stages = [{"name": "sft", "kind": "sft", "lora": LORA, "args": ARGS}]
    for name, objective in [("dpo", {"kind": "dpo"}), ("ddpo", {"kind": "ddpo"}), ("ddpo_1", {"kind": "ddpo", "beta": 0.5})]:
        stages.append({"name": name, "kind": "preference", "init": "sft", "lora": LORA, "objective": objective, "args": ARGS})
    out = run(train_spec(tmp_path / "a", tiny_lm_dir, pairs_file, stages), quiet=False)
    first, *later = (_reference(out, s)["splits"]["train"] for s in ("dpo", "ddpo", "ddpo_1"))
    assert first == {"pairs": 16, "found": 0, "damaged": 0, "computed": 16}
    assert later == [{"pairs": 16, "found": 16, "damaged": 0, "computed": 0}] * 2
    assert "no reference model run" in _reference(out, "ddpo")["line"]
    assert "stage ddpo: reference log-probs" in capsys.readouterr().out
    # one batched pass (16 pairs / batch 4) for all three stages, and no per-step reference pass
    assert count_reference_passes == {"precompute": 4, "per_step": 0}

    # another run with the same reference and pairs (another output folder) reads the store too
    count_reference_passes.update(precompute=0, per_step=0)
    out_b = run(train_spec(tmp_path / "b", tiny_lm_dir, pairs_file, stages), quiet=True)
    assert _reference(out_b, "dpo")["splits"]["train"]["found"] == 16
    assert count_reference_passes == {"precompute": 0, "per_step": 0}


@pytest.mark.slow
def test_full_weight_stage_with_store_loads_no_reference_model(tmp_path, monkeypatch, tiny_lm_dir, pairs_file, train_spec):
    """A full-weight policy normally gets a separate reference copy; with the store it gets none."""
    from divtools.train import preference_trainer
    from divtools.train.run import run

    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    seen = []
    original = preference_trainer.PreferenceTrainer.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("ref_model"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(preference_trainer.PreferenceTrainer, "__init__", spy)
    stage = {"name": "p", "kind": "preference", "init": "base", "objective": {"kind": "dpo"}, "args": ARGS}
    run(train_spec(tmp_path / "on", tiny_lm_dir, pairs_file, [stage]), quiet=True)
    run(train_spec(tmp_path / "off", tiny_lm_dir, pairs_file, [{**stage, "share_reference_logps": False}]), quiet=True)
    assert seen[0] is None and seen[1] is not None


def _packs(cache):
    return sorted((cache / "ref-logps").rglob("*.pack"))


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "edit"])
def test_damaged_store_is_detected_and_recomputed(tmp_path, monkeypatch, tiny_lm_dir, pairs_file, train_spec, log_records, damage):
    from divtools.train.run import run

    cache = tmp_path / "cache"
    monkeypatch.setenv("DIVTOOLS_CACHE", str(cache))
    stage = {"name": "p", "kind": "preference", "init": "base", "objective": {"kind": "ddpo"}, "args": ARGS}
    clean = run(train_spec(tmp_path / "a", tiny_lm_dir, pairs_file, [stage]), quiet=True)
    (pack,) = _packs(cache)
    data = bytearray(pack.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 5]
    else:  # flip one bit of the last stored value
        data[-1] ^= 0x01
    pack.write_bytes(bytes(data))
    again = run(train_spec(tmp_path / "b", tiny_lm_dir, pairs_file, [stage]), quiet=True)
    report = _reference(again, "p")["splits"]["train"]
    assert report["damaged"] >= 1 and report["found"] < 16 and report["computed"] == 16 - report["found"]
    assert "damaged store entries ignored and recomputed" in _reference(again, "p")["line"]
    # recomputed values, not the damaged ones: the same losses as the clean run
    flat = [[v for rec in _losses(log_records, out / "p" / "log.jsonl") for v in rec] for out in (again, clean)]
    assert flat[0] == pytest.approx(flat[1], rel=1e-6)


@pytest.mark.slow
def test_store_of_another_max_length_or_tokenizer_is_not_used(tmp_path, monkeypatch, tiny_lm_dir, pairs_file, train_spec):
    import shutil

    from divtools.train.run import run

    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    stage = {"name": "p", "kind": "preference", "init": "base", "objective": {"kind": "dpo"}, "args": ARGS}
    run(train_spec(tmp_path / "a", tiny_lm_dir, pairs_file, [stage]), quiet=True)
    shorter = run(train_spec(tmp_path / "b", tiny_lm_dir, pairs_file, [{**stage, "args": {**ARGS, "max_length": 64}}]), quiet=True)
    assert _reference(shorter, "p")["splits"]["train"]["found"] == 0
    # the same weights with an edited tokenizer file: a different reference identity
    other = tmp_path / "other-tokenizer"
    shutil.copytree(tiny_lm_dir, other)
    config = json.loads((other / "tokenizer_config.json").read_text())
    config["model_max_length"] = 12345
    (other / "tokenizer_config.json").write_text(json.dumps(config))
    retok = run(train_spec(tmp_path / "c", other, pairs_file, [stage]), quiet=True)
    assert _reference(retok, "p")["splits"]["train"]["found"] == 0
    assert len(_packs(tmp_path / "cache")) == 3


def test_store_is_off_where_it_would_not_be_exact(tiny_lm_dir):
    from types import SimpleNamespace

    from divtools.spec.train import ModelSpec
    from divtools.train.models import InitPoint
    from divtools.train.ref_store import store_for_stage

    init = InitPoint.of(ModelSpec(path=str(tiny_lm_dir)), None)
    args = SimpleNamespace(bf16=False, fp16=False, max_length=128, truncation_mode="keep_start", sync_ref_model=False, ld_alpha=None)
    store, why = store_for_stage(True, init, mode="adapter", policy_is_peft=True, args=args)
    assert store is not None and why == "shared store"
    cases = [
        (dict(enabled=False), "share_reference_logps: false"),
        (dict(mode="model", policy_is_peft=True), "disabled adapter"),
        (dict(args=SimpleNamespace(**{**vars(args), "sync_ref_model": True})), "sync_ref_model"),
        (dict(args=SimpleNamespace(**{**vars(args), "ld_alpha": 0.5})), "ld_alpha"),
        (dict(init=InitPoint.of(ModelSpec(path="no-such-org/no-such-model"), None)), "cannot be read"),
    ]
    for change, reason in cases:
        kw = {"enabled": True, "init": init, "mode": "adapter", "policy_is_peft": True, "args": args, **change}
        store, why = store_for_stage(kw.pop("enabled"), kw.pop("init"), **kw)
        assert store is None and reason in why, (change, why)


def test_identity_follows_content_not_path(tmp_path, tiny_lm_dir):
    """Copying a model keeps its identity; changing one byte of its weights changes it."""
    import shutil

    from divtools.train.ref_store import folder_digest

    copy = tmp_path / "copy"
    shutil.copytree(tiny_lm_dir, copy)
    assert folder_digest(copy) == folder_digest(tiny_lm_dir)
    (copy / "log.jsonl").write_text("{}\n")  # a stage's log is not part of the model
    assert folder_digest(copy) == folder_digest(tiny_lm_dir)
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    assert folder_digest(copy) != folder_digest(tiny_lm_dir)
