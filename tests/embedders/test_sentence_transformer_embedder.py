"""sentence_transformer / minilm embedders: options reach sentence-transformers, chunking is a
mean of chunk vectors, identity needs no model, and a cached run never loads the model."""

from __future__ import annotations

import numpy as np
import pytest

from divtools.builtins.embedders import MiniLMParams, SentenceTransformerParams
from divtools.embed_cache import cached_encode
from divtools.embedders.sentence_transformer import MiniLMEmbedder, SentenceTransformerEmbedder, folder_fingerprint

LONG = (
    "The proverbs of Solomon. A wise son maketh a glad father: but a foolish son is the heaviness "
    "of his mother. Treasures of wickedness profit nothing: but righteousness delivereth from death."
)


class FakeST:
    """Stands in for sentence_transformers.SentenceTransformer and records what it was given."""

    made: list[dict] = []

    def __init__(self, name, **kwargs):
        FakeST.made.append({"name": name, **kwargs})
        self.encode_kwargs: list[dict] = []
        self.max_seq_length = 128

    def encode(self, texts, **kwargs):
        self.encode_kwargs.append(kwargs)
        return np.tile(np.array([[3.0, 4.0]]), (len(texts), 1))


@pytest.fixture
def fake_st(monkeypatch):
    import sentence_transformers

    FakeST.made = []
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", FakeST)
    return FakeST


def test_options_reach_sentence_transformers(fake_st, tmp_path):
    (tmp_path / "config.json").write_text("{}")
    params = SentenceTransformerParams(model=str(tmp_path), device="cpu", batch_size=7, max_length=64, task="text-matching", prompt_name="query")
    emb = SentenceTransformerEmbedder(params)
    v = emb.encode(["a", "b"])
    np.testing.assert_allclose(v, [[0.6, 0.8], [0.6, 0.8]], atol=1e-7)
    made = fake_st.made[0]
    assert made["device"] == "cpu" and "trust_remote_code" not in made  # off unless asked
    assert emb.model.max_seq_length == 64
    kw = emb.model.encode_kwargs[0]
    # one text per forward pass whatever batch_size says: a vector must not depend on its batch
    # mates (issue #12 item 7; the old expectation, batch_size reaching the model, was the bug)
    assert kw["batch_size"] == 1 and kw["task"] == "text-matching" and kw["prompt_name"] == "query"
    assert kw["normalize_embeddings"] is True


def test_trust_remote_code_only_when_asked(fake_st, tmp_path):
    SentenceTransformerEmbedder(SentenceTransformerParams(model=str(tmp_path), trust_remote_code=True)).model
    assert fake_st.made[0]["trust_remote_code"] is True


def test_local_folder_identity_follows_its_files(tmp_path, fake_st):
    (tmp_path / "model.safetensors").write_bytes(b"1234")
    params = SentenceTransformerParams(model=str(tmp_path))
    before = SentenceTransformerEmbedder(params).identity()
    assert before["revision"] == "folder:" + folder_fingerprint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"12345")
    after = SentenceTransformerEmbedder(params).identity()
    assert before["revision"] != after["revision"]
    assert not fake_st.made  # identity never loaded a model


def test_hub_model_identity_is_the_cached_snapshot_commit(tmp_path, monkeypatch, fake_st):
    from huggingface_hub import constants

    sha = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--org--style"
    (repo / "snapshots" / sha).mkdir(parents=True)
    (repo / "snapshots" / sha / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    ident = SentenceTransformerEmbedder(SentenceTransformerParams(model="org/style")).identity()
    assert ident["revision"] == sha and ident["model"] == "org/style"
    assert not fake_st.made  # resolved from the local cache, no model loaded
    pinned = SentenceTransformerEmbedder(SentenceTransformerParams(model="org/style", revision="f" * 40)).identity()
    assert pinned["revision"] == "f" * 40


def test_settings_change_identity():
    base = MiniLMEmbedder(MiniLMParams()).identity()
    assert MiniLMEmbedder(MiniLMParams(max_length=64)).identity() != base
    assert MiniLMEmbedder(MiniLMParams(long_texts="chunk")).identity() != base
    assert MiniLMEmbedder(MiniLMParams(batch_size=3)).identity() == base  # same vectors
    assert base["model"] == "sentence-transformers/all-MiniLM-L6-v2"


@pytest.mark.slow
def test_minilm_vectors_and_cached_rerun_loads_no_model(minilm_model):
    texts = ["A wise son maketh a glad father.", "Treasures of wickedness profit nothing."]
    emb = MiniLMEmbedder(MiniLMParams(device="cpu"))
    emb._model = minilm_model  # share the session's loaded model
    v = cached_encode(emb, texts)
    direct = minilm_model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(v, direct, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
    fresh = MiniLMEmbedder(MiniLMParams(device="cpu"))
    again = cached_encode(fresh, texts)
    assert fresh._model is None  # everything came from the cache
    np.testing.assert_array_equal(again, v)


@pytest.mark.slow
def test_chunked_embedding_is_mean_of_chunk_vectors(minilm_model):
    emb = MiniLMEmbedder(MiniLMParams(device="cpu", max_length=16, long_texts="chunk"))
    emb._model = minilm_model
    old = minilm_model.max_seq_length
    minilm_model.max_seq_length = 16
    try:
        chunks = emb.chunks(LONG)
        assert len(chunks) > 2 and "".join(chunks) == LONG
        budget = 16 - minilm_model.tokenizer.num_special_tokens_to_add(pair=False)
        assert all(len(minilm_model.tokenizer(c, add_special_tokens=False)["input_ids"]) <= budget for c in chunks)
        parts = minilm_model.encode(chunks, normalize_embeddings=True).astype(np.float64)
        expected = parts.mean(axis=0)
        expected /= np.linalg.norm(expected)
        got = emb.encode([LONG, "short text"])
        np.testing.assert_allclose(got[0], expected, atol=1e-6)
        np.testing.assert_allclose(got[1], minilm_model.encode(["short text"], normalize_embeddings=True)[0], atol=1e-6)
    finally:
        minilm_model.max_seq_length = old
