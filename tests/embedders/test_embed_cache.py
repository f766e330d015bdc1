"""The embedding cache: hits, keys, damaged entries, concurrent writers, clearing."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from divtools.api import Embedder
from divtools.embed_cache import EmbeddingCache, cached_encode, clear_cache, default_cache_dir, identity_key, text_key


class SpyEmbedder(Embedder):
    def __init__(self, setting=1):
        self.setting = setting
        self.seen: list[str] = []

    def identity(self):
        return {"embedder": "spy", "setting": self.setting}

    def encode(self, texts):
        self.seen.extend(texts)
        v = np.array([[len(t) + 1.0, self.setting, 1.0] for t in texts])
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def packs(root: Path) -> list[Path]:
    return sorted((root / "embeddings").rglob("*.pack"), key=lambda p: p.stat().st_mtime_ns)


def n_entries(root: Path) -> int:
    return sum(int.from_bytes(p.read_bytes()[4:8], "little") for p in packs(root))


def test_second_run_recomputes_nothing(private_cache):
    spy = SpyEmbedder()
    first = cached_encode(spy, ["a", "bb", "a", "ccc"])
    assert spy.seen == ["a", "bb", "ccc"]  # duplicates encoded once
    second = cached_encode(spy, ["ccc", "a", "bb"])
    assert spy.seen == ["a", "bb", "ccc"]
    np.testing.assert_array_equal(second, first[[3, 0, 1]])
    assert second.dtype == np.float32
    assert n_entries(private_cache) == 3 and len(packs(private_cache)) == 1  # one pack per batch


def test_changed_setting_never_reuses_vectors(private_cache):
    cached_encode(SpyEmbedder(setting=1), ["a"])
    other = SpyEmbedder(setting=2)
    out = cached_encode(other, ["a"])
    assert other.seen == ["a"]
    assert out[0, 1] > 0.4  # built with setting 2, not read from setting 1's entry
    assert identity_key({"a": 1, "b": 2}) == identity_key({"b": 2, "a": 1})
    assert len(list((private_cache / "embeddings").iterdir())) == 2


@pytest.mark.parametrize("new_process", [True, False])
@pytest.mark.parametrize("damage", ["flip_payload", "flip_index", "truncate", "garbage", "empty"])
def test_damaged_entry_is_detected_and_recomputed(private_cache, damage, new_process):
    spy = SpyEmbedder()
    good = np.concatenate([cached_encode(spy, ["hello"]), cached_encode(spy, ["world"])])
    path = packs(private_cache)[0]  # the pack holding "hello"
    blob = bytearray(path.read_bytes())
    if damage == "flip_payload":
        blob[-1] ^= 0x01
    elif damage == "flip_index":
        blob[30] ^= 0x01
    elif damage == "truncate":
        blob = blob[:-3]
    elif damage == "garbage":
        blob = bytearray(b"\x80\x04not a vector at all")
    else:
        blob = bytearray()
    path.write_bytes(bytes(blob))
    from divtools import embed_cache

    if new_process:  # forget the indexes parsed before the damage
        embed_cache._INDEXES.clear()
        embed_cache._FOLDERS.clear()
    spy.seen.clear()
    again = cached_encode(spy, ["hello", "world"])
    # only the damaged one; a damaged index read before the damage is harmless (the payload
    # digests still check out), so then nothing needs recomputing
    assert spy.seen == ([] if damage == "flip_index" and not new_process else ["hello"])
    np.testing.assert_array_equal(again, good)
    cache = EmbeddingCache(spy.identity())
    assert all(v is not None for v in cache.get_many(["hello", "world"]))  # rewritten


def test_pack_format_is_plain_float32(private_cache):
    cached_encode(SpyEmbedder(), ["x", "yy"])
    blob = packs(private_cache)[0].read_bytes()
    header, index = 28, 2 * (32 + 16)
    assert blob[:4] == b"DTP1" and len(blob) == header + index + 2 * 4 * 3
    assert blob[header : header + 32] == text_key("x")
    payload = np.frombuffer(blob[header + index :], dtype="<f4").reshape(2, 3)
    np.testing.assert_array_equal(payload, SpyEmbedder().encode(["x", "yy"]))
    ident = next((private_cache / "embeddings").iterdir()) / "identity.json"
    assert '"setting": 1' in ident.read_text()


def _writer(root, barrier, texts):
    barrier.wait()
    for _ in range(3):
        EmbeddingCache({"embedder": "spy", "setting": 1}, root).put_many(texts, SpyEmbedder().encode(texts))


def test_two_processes_writing_at_once(private_cache):
    texts = [f"text {i}" for i in range(150)]
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(private_cache, barrier, texts)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    got = EmbeddingCache({"embedder": "spy", "setting": 1}, private_cache).get_many(texts)
    np.testing.assert_array_equal(np.stack(got), SpyEmbedder().encode(texts))
    assert not list(private_cache.rglob("*.tmp"))  # no temporary file left behind
    assert len(packs(private_cache)) == 6  # every write landed whole


def test_many_packs_one_lookup_each(private_cache):
    spy = SpyEmbedder()
    for i in range(40):
        cached_encode(spy, [f"t{i}", f"u{i}"])
    assert len(packs(private_cache)) == 40
    spy.seen.clear()
    texts = [f"t{i}" for i in range(40)] + ["new"]
    out = cached_encode(spy, texts)
    assert spy.seen == ["new"]
    np.testing.assert_array_equal(out, SpyEmbedder().encode(texts))


def test_clear_cache_counts_entries(private_cache, tmp_path):
    cached_encode(SpyEmbedder(1), ["a", "b"])
    cached_encode(SpyEmbedder(2), ["a"])
    (private_cache / "notes.txt").write_text("keep me")
    assert clear_cache(private_cache) == 3
    assert not packs(private_cache) and (private_cache / "notes.txt").exists()
    assert clear_cache(private_cache) == 0
    assert clear_cache(tmp_path / "never-made") == 0


def test_default_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("DIVTOOLS_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "divtools"


def test_cli_cache_clear(private_cache):
    cached_encode(SpyEmbedder(), ["a", "b"])
    from click.testing import CliRunner

    from divtools.cli.cache import command

    result = CliRunner().invoke(command, ["clear", "--dir", str(private_cache)])
    assert result.exit_code == 0, result.output
    assert "removed 2 cached entries" in result.output


def test_use_cache_false_writes_nothing(private_cache):
    spy = SpyEmbedder()
    cached_encode(spy, ["a"], use_cache=False)
    cached_encode(spy, ["a"], use_cache=False)
    assert spy.seen == ["a", "a"] and not (private_cache / "embeddings").exists()


def test_ngram_and_model_free_metrics_never_import_torch(tmp_path):
    code = """
import sys
from divtools.components import build
from divtools.plugins import registries
reg = registries()["metric"]
entries = [
    {"kind": "distinct_n"}, {"kind": "ngram_diversity"}, {"kind": "self_bleu"},
    {"kind": "compression_ratio"}, {"kind": "homogenization"}, {"kind": "self_repetition"},
    {"kind": "vendi"}, {"kind": "vendi", "embedder": {"kind": "stylometric"}},
    {"kind": "embedding_diversity", "embedder": {"kind": "stylometric"}},
    {"kind": "embedding_diversity", "embedder": {"kind": "tfidf"}},
]
for e in entries:
    m = build("metric", reg.get(e["kind"]).params.model_validate(e))
    m.groups([["one text here", "another text there", "a third one"]])
assert "torch" not in sys.modules, "torch was imported"
assert "sentence_transformers" not in sys.modules
print("ok")
"""
    env = {"DIVTOOLS_CACHE": str(tmp_path), "DIVTOOLS_LOAD_PLUGINS": "", "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
