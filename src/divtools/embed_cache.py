"""Content-addressed on-disk cache of embeddings.

Layout: ``<cache_dir>/embeddings/<identity hash>/<text hash[:2]>/<text hash>.vec`` plus an
``identity.json`` per identity folder (what produced the vectors, for people reading the cache).

- identity hash = SHA-256 of the embedder's ``identity()`` (model, resolved revision or a
  fingerprint of a local model folder, every setting that changes the vectors), serialised as
  canonical JSON; text hash = SHA-256 of the UTF-8 text. A changed setting is a new folder, so
  stale vectors are never reused; a re-run with the same settings recomputes nothing.
- an entry is a small binary file: magic ``DTV1``, dimension (uint32), BLAKE2b-128 digest of the
  payload, then the float32 payload (little-endian). No pickle. An entry whose length, magic or
  digest is wrong is treated as missing: it is recomputed and rewritten.
- writes go to a unique temporary file in the same folder and ``os.replace`` it into place, so
  two processes writing the same entry at once both succeed and readers never see half an
  entry. Entries are not fsync'ed (one fsync per vector would cost more than the embedding on
  fast devices); a crash can leave a truncated entry, which the digest catches.

The default folder is ``$DIVTOOLS_CACHE`` or ``~/.cache/divtools``; ``divtools cache clear``
calls :func:`clear_cache`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "ENV_CACHE",
    "EmbeddingCache",
    "cached_encode",
    "clear_cache",
    "default_cache_dir",
    "identity_key",
]

ENV_CACHE = "DIVTOOLS_CACHE"
_MAGIC = b"DTV1"
_HEADER = struct.Struct("<4sI16s")  # magic, dim, blake2b-128 digest of the payload
_LE_F32 = np.dtype("<f4")


def default_cache_dir() -> Path:
    """``$DIVTOOLS_CACHE`` if set, else ``~/.cache/divtools``."""
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "divtools"


def identity_key(identity: dict[str, Any]) -> str:
    """SHA-256 of the identity as canonical JSON (sorted keys, no spaces)."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _pack(vector: np.ndarray) -> bytes:
    payload = np.ascontiguousarray(vector, dtype=_LE_F32).tobytes()
    digest = hashlib.blake2b(payload, digest_size=16).digest()
    return _HEADER.pack(_MAGIC, vector.shape[0], digest) + payload


def _unpack(blob: bytes) -> np.ndarray | None:
    """The vector in ``blob``, or None if the entry is damaged."""
    if len(blob) < _HEADER.size:
        return None
    magic, dim, digest = _HEADER.unpack_from(blob)
    payload = blob[_HEADER.size :]
    if magic != _MAGIC or len(payload) != 4 * dim:
        return None
    if hashlib.blake2b(payload, digest_size=16).digest() != digest:
        return None
    return np.frombuffer(payload, dtype=_LE_F32).astype(np.float32)


class EmbeddingCache:
    """Vectors of one embedder identity under ``cache_dir``."""

    def __init__(self, identity: dict[str, Any], cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.identity = identity
        self.key = identity_key(identity)
        self.dir = self.root / "embeddings" / self.key
        #: entries found damaged (and so recomputed) during this object's life
        self.corrupt = 0

    def _path(self, tkey: str) -> Path:
        return self.dir / tkey[:2] / f"{tkey}.vec"

    def get_many(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The cached vector of each text, or None where missing or damaged."""
        out: list[np.ndarray | None] = []
        for text in texts:
            path = self._path(text_key(text))
            try:
                blob = path.read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                out.append(None)
                continue
            vec = _unpack(blob)
            if vec is None:
                self.corrupt += 1
            out.append(vec)
        return out

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text (atomic per entry; concurrent writers are safe)."""
        if len(texts) == 0:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        ident = self.dir / "identity.json"
        if not ident.exists():
            _replace_bytes(ident, (json.dumps(self.identity, sort_keys=True, indent=2, default=str) + "\n").encode())
        made: set[Path] = set()
        for text, vec in zip(texts, vectors):
            path = self._path(text_key(text))
            if path.parent not in made:
                path.parent.mkdir(exist_ok=True)
                made.add(path.parent)
            _replace_bytes(path, _pack(np.asarray(vec)))


def _replace_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a unique sibling temp file, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def cached_encode(
    embedder: Any,
    texts: Sequence[str],
    *,
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """``embedder.encode(texts)`` through the cache: float32, one row per text (in order).

    Duplicate texts are encoded once; only texts missing from the cache reach the embedder, in
    one call. Embedders with ``batch_dependent = True`` bypass the cache (their vectors depend
    on the other texts of the call).
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    if not use_cache or getattr(embedder, "batch_dependent", False):
        vectors = np.asarray(embedder.encode(unique), dtype=np.float32)
    else:
        cache = EmbeddingCache(embedder.identity(), cache_dir)
        found = cache.get_many(unique)
        missing = [t for t, v in zip(unique, found) if v is None]
        if missing:
            fresh = np.asarray(embedder.encode(missing), dtype=np.float32)
            cache.put_many(missing, fresh)
            fill = dict(zip(missing, fresh))
            found = [fill[t] if v is None else v for t, v in zip(unique, found)]
        vectors = np.stack(found).astype(np.float32, copy=False)
    if len(unique) == len(texts):
        return vectors
    row = {t: i for i, t in enumerate(unique)}
    return vectors[[row[t] for t in texts]]


def _count_entries(paths: Iterable[Path]) -> int:
    return sum(1 for p in paths if p.suffix == ".vec")


def clear_cache(cache_dir: str | os.PathLike[str] | None = None) -> int:
    """Delete every cached embedding under ``cache_dir`` (default :func:`default_cache_dir`);
    return how many entries were removed. Other files in the folder are left alone."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    emb = root / "embeddings"
    if not emb.is_dir():
        return 0
    removed = _count_entries(emb.rglob("*.vec"))
    shutil.rmtree(emb, ignore_errors=True)
    return removed
