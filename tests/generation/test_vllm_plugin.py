"""The divtools-vllm plugin: lists and validates without vLLM, says clearly that vLLM is missing
when asked to generate, and (with a stand-in ``vllm`` module) maps the protocol onto vLLM's API."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import types
from pathlib import Path

import pytest

from divtools.errors import UserError
from divtools.plugins import load_plugins

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugins" / "divtools-vllm"
VLLM_INSTALLED = importlib.util.find_spec("vllm") is not None


@pytest.fixture(scope="module")
def plugin():
    if importlib.util.find_spec("divtools_vllm") is None:
        sys.path.insert(0, str(PLUGIN_DIR / "src"))
    import divtools_vllm

    return divtools_vllm


@pytest.fixture(scope="module")
def registries(plugin):
    ps = load_plugins(env={"DIVTOOLS_LOAD_PLUGINS": ""}, extra={"vllm": plugin})
    assert not ps.failures
    return ps.registries


def test_entry_point_declared_in_the_divtools_group():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    meta = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["divtools"] == {"vllm": "divtools_vllm"}
    assert "vllm" not in " ".join(meta["project"]["dependencies"])  # installable without vLLM


def test_listed_and_validated_without_importing_vllm(registries):
    info = registries["backend"].get("vllm")
    assert info.plugin == "vllm" and info.impl == "divtools_vllm.backend:VLLMBackend"
    params = info.params(kind="vllm", model="meta-llama/Llama-3.1-8B", tensor_parallel_size=2)
    assert params.sampling() == {"temperature": 1.0, "top_k": 50, "top_p": 0.95, "repetition_penalty": 1.1,
                                 "max_new_tokens": 2048}
    with pytest.raises(ValueError):
        info.params(kind="vllm", model="m", gpu_memory_utilization=1.5)
    backend = info.build(params)  # building imports nothing heavy either
    assert backend.prompts_per_call == 256
    assert backend.settings()["backend"] == "vllm"


def test_listing_in_a_fresh_process_never_imports_vllm():
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import divtools_vllm\n"
        "from divtools.plugins import load_plugins\n"
        "ps = load_plugins(env={'DIVTOOLS_LOAD_PLUGINS': ''}, extra={'vllm': divtools_vllm})\n"
        "info = ps.registries['backend'].get('vllm'); info.build(info.params(kind='vllm', model='m'))\n"
        "print('vllm' in sys.modules, 'torch' in sys.modules)\n"
    ) % str(PLUGIN_DIR / "src")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(VLLM_INSTALLED, reason="vllm is installed here")
def test_generating_without_vllm_says_it_is_not_installed(registries):
    info = registries["backend"].get("vllm")
    backend = info.build(info.params(kind="vllm", model="m"))
    with pytest.raises(UserError, match="needs the vllm package, which is not installed.*pip install vllm"):
        backend.generate(["p"], num_samples=2, seed=0)


def test_protocol_mapped_onto_vllm(registries, tiny_lm, monkeypatch):
    """With a stand-in vllm module: per-prompt seeds, n = K, token ids without a doubled BOS."""
    from transformers import AutoTokenizer

    made = {}

    class SamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class LLM:
        def __init__(self, **kw):
            made["llm"] = kw

        def get_tokenizer(self):
            return AutoTokenizer.from_pretrained(tiny_lm)

        def generate(self, inputs, sampling, lora_request=None, use_tqdm=True):
            made["inputs"], made["sampling"] = inputs, sampling
            return [
                types.SimpleNamespace(outputs=[types.SimpleNamespace(index=j, text=f"p{i} s{j}")
                                               for j in reversed(range(sp.kw["n"]))])
                for i, sp in enumerate(sampling)
            ]

    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", fake)
    info = registries["backend"].get("vllm")
    backend = info.build(info.params(kind="vllm", model=str(tiny_lm), top_k=0))
    out = backend.generate(["Hello", "World"], num_samples=3, seed=9)
    assert out == [["p0 s0", "p0 s1", "p0 s2"], ["p1 s0", "p1 s1", "p1 s2"]]
    assert made["llm"]["model"] == str(tiny_lm) and made["llm"]["trust_remote_code"] is False
    kws = [sp.kw for sp in made["sampling"]]
    assert [k["n"] for k in kws] == [3, 3] and kws[0]["seed"] != kws[1]["seed"]
    assert kws[0]["top_k"] == -1 and kws[0]["temperature"] == 1.0 and kws[0]["max_tokens"] == 2048
    tok = AutoTokenizer.from_pretrained(tiny_lm)
    assert made["inputs"][0]["prompt_token_ids"] == tok("<|user|>Hello<|end|><|assistant|>", add_special_tokens=False)["input_ids"]
    again = info.build(info.params(kind="vllm", model=str(tiny_lm), top_k=0))
    again.generate(["Hello", "World"], num_samples=3, seed=9)
    assert [sp.kw["seed"] for sp in made["sampling"]] == [k["seed"] for k in kws]
