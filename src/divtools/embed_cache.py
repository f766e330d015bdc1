"""Content-addressed on-disk cache of embeddings.

Layout: ``<cache_dir>/embeddings/<identity hash>/`` holds ``identity.json`` (what produced the
vectors, for people reading the cache) and immutable *pack* files ``<random>.pack``, one per
batch of newly computed vectors.

- identity hash = SHA-256 of the embedder's ``identity()`` (model, resolved revision or a
  fingerprint of a local model folder, every setting that changes the vectors), serialised as
  canonical JSON; text key = SHA-256 of the UTF-8 text. A changed setting is a new folder, so
  stale vectors are never reused; a re-run with the same settings recomputes nothing.
- a pack: magic ``DTP1``, entry count, dimension and a BLAKE2b-128 digest of its index, then
  the index (per entry: 32-byte text key, BLAKE2b-128 digest of that entry's payload), then the
  little-endian float32 payloads. No pickle. A pack whose header or index does not check out is
  ignored; an entry whose payload digest fails is treated as missing. Either way the vectors
  are recomputed and written to a new pack.
- a pack is written to a unique temporary file in the same folder and renamed into place
  (atomic), and never changed afterwards, so any number of processes can write at once without
  locks and readers never see half a pack. Packs are not fsync'ed; a crash can leave a
  truncated pack, which the digests catch. One file per batch rather than per vector, because
  creating a file costs about a millisecond on common file systems, more than a GPU spends
  embedding a text.

The default folder is ``$DIVTOOLS_CACHE`` or ``~/.cache/divtools``; ``divtools cache clear``
calls :func:`clear_cache`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Sequence

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
_MAGIC = b"DTP1"
_HEADER = struct.Struct("<4sII16s")  # magic, count, dim, blake2b-128 of the index
_KEY = 32  # sha256 digest
_DIGEST = 16  # blake2b-128
_LE_F32 = np.dtype("<f4")

# Packs never change once renamed into place, so their parsed indexes can be kept for the life
# of the process: path -> (file size, dim, count, {text key: slot}, payload digests).
_INDEXES: dict[str, tuple[int, int, int, dict[bytes, int], list[bytes]]] = {}
# Per identity folder: the pack names merged so far and text key -> [(pack, slot)], so a lookup
# costs one dictionary probe per text however many packs the folder holds.
_FOLDERS: dict[str, tuple[set[str], dict[bytes, list[tuple[Path, int]]]]] = {}


def default_cache_dir() -> Path:
    """``$DIVTOOLS_CACHE`` if set, else ``~/.cache/divtools``."""
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "divtools"


def identity_key(identity: dict[str, Any]) -> str:
    """SHA-256 of the identity as canonical JSON (sorted keys, no spaces)."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def text_key(text: str) -> bytes:
    """SHA-256 digest of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=_DIGEST).digest()


def pack_bytes(keys: Sequence[bytes], vectors: np.ndarray) -> bytes:
    """Serialise one pack (see the module docstring)."""
    vectors = np.ascontiguousarray(vectors, dtype=_LE_F32)
    count, dim = vectors.shape
    payloads = vectors.tobytes()
    row = 4 * dim
    index = b"".join(k + _digest(payloads[i * row : (i + 1) * row]) for i, k in enumerate(keys))
    return _HEADER.pack(_MAGIC, count, dim, _digest(index)) + index + payloads


def _read_index(path: Path) -> tuple[int, int, int, dict[bytes, int], list[bytes]] | None:
    """The parsed index of a pack, or None if the pack is damaged."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    cached = _INDEXES.get(str(path))
    if cached is not None and cached[0] == size:
        return cached
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEADER.size)
            if len(head) < _HEADER.size:
                return None
            magic, count, dim, index_digest = _HEADER.unpack(head)
            if magic != _MAGIC or size != _HEADER.size + count * (_KEY + _DIGEST + 4 * dim):
                return None
            index = fh.read(count * (_KEY + _DIGEST))
    except OSError:
        return None
    if _digest(index) != index_digest:
        return None
    step = _KEY + _DIGEST
    slots = {index[i * step : i * step + _KEY]: i for i in range(count)}
    digests = [index[i * step + _KEY : (i + 1) * step] for i in range(count)]
    parsed = (size, dim, count, slots, digests)
    _INDEXES[str(path)] = parsed
    return parsed


class EmbeddingCache:
    """Vectors of one embedder identity under ``cache_dir``."""

    def __init__(
        self, identity: dict[str, Any], cache_dir: str | os.PathLike[str] | None = None, *, folder: str = "embeddings"
    ) -> None:
        # ``folder``: the cache's other user, the shared reference log-probs (divtools.train.ref_store),
        # keeps its two-float "vectors" in the same pack format under its own folder.
        self.root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.identity = identity
        self.key = identity_key(identity)
        self.dir = self.root / folder / self.key
        #: entries found damaged (and so treated as missing) during this object's life
        self.corrupt = 0

    def packs(self) -> list[Path]:
        try:
            return sorted(p for p in self.dir.iterdir() if p.suffix == ".pack")
        except FileNotFoundError:
            return []
        except OSError as exc:  # an unreadable cache folder: compute everything, say so once
            _unusable(self.root, exc)
            return []

    def _locations(self) -> dict[bytes, list[tuple[Path, int]]]:
        """text key -> every (pack, slot) holding it; new packs are merged in on each call."""
        seen, where = _FOLDERS.setdefault(str(self.dir), (set(), {}))
        for path in self.packs():
            if path.name in seen:
                continue
            seen.add(path.name)
            parsed = _read_index(path)
            if parsed is None:
                self.corrupt += 1
                continue
            for key, slot in parsed[3].items():
                where.setdefault(key, []).append((path, slot))
        return where

    def get_many(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The cached vector of each text, or None where missing or damaged."""
        wanted: dict[bytes, list[int]] = {}
        for i, text in enumerate(texts):
            wanted.setdefault(text_key(text), []).append(i)
        out: list[np.ndarray | None] = [None] * len(texts)
        where = self._locations()
        # every copy of every wanted key, grouped by pack (a damaged copy falls back to the next)
        by_pack: dict[Path, list[tuple[int, bytes]]] = {}
        for key in wanted:
            for path, slot in where.get(key, ()):
                by_pack.setdefault(path, []).append((slot, key))
        for path, hits in by_pack.items():
            hits = [(slot, key) for slot, key in hits if key in wanted]
            parsed = _read_index(path) if hits else None
            if parsed is None:
                continue
            _, dim, count, _, digests = parsed
            base = _HEADER.size + count * (_KEY + _DIGEST)
            row = 4 * dim
            try:
                with path.open("rb") as fh:
                    for slot, key in sorted(hits):
                        fh.seek(base + slot * row)
                        payload = fh.read(row)
                        if len(payload) != row or _digest(payload) != digests[slot]:
                            self.corrupt += 1
                            continue
                        vec = np.frombuffer(payload, dtype=_LE_F32).astype(np.float32)
                        for i in wanted.pop(key):
                            out[i] = vec
            except OSError:  # removed meanwhile (cache cleared): recompute
                continue
        return out

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> Path | None:
        """Store one vector per text as a new pack (atomic; concurrent writers are safe)."""
        if len(texts) == 0 or str(self.root) in _UNWRITABLE:
            return None
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            ident = self.dir / "identity.json"
            if not ident.exists():
                _replace_bytes(ident, (json.dumps(self.identity, sort_keys=True, indent=2, default=str) + "\n").encode())
            path = self.dir / f"{uuid.uuid4().hex}.pack"
            _replace_bytes(path, pack_bytes([text_key(t) for t in texts], np.asarray(vectors)))
        except OSError as exc:
            if exc.errno not in _CACHE_ERRNOS:
                raise
            _unusable(self.root, exc)  # a full or read-only cache costs speed, never the run
            return None
        return path


#: write errors that turn the cache off for the rest of the process instead of failing the run
_CACHE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
#: cache roots found unusable in this process (each reported once)
_UNWRITABLE: set[str] = set()


def _unusable(root: Path, exc: OSError) -> None:
    if str(root) in _UNWRITABLE:
        return
    _UNWRITABLE.add(str(root))
    print(f"divtools: WARNING: the cache folder {root} cannot be used ({exc.strerror or exc}); going on without "
          "the cache: results are the same, they are only not kept for the next run (set DIVTOOLS_CACHE to "
          "another folder, or free space)", file=sys.stderr, flush=True)


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
    one call. Which texts those are depends on the cache's history, so the result is the same
    bytes warm, cold or partly warm only because embedders give each text the vector it gets
    alone (:class:`divtools.api.Embedder`'s contract; tested in
    tests/reliability/test_cache_determinism.py). Embedders with ``batch_dependent = True``
    bypass the cache (their vectors depend on the other texts of the call).
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


def clear_cache(cache_dir: str | os.PathLike[str] | None = None) -> int:
    """Delete every cached embedding under ``cache_dir`` (default :func:`default_cache_dir`);
    return how many vectors were removed. Other files in the folder are left alone."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    emb = root / "embeddings"
    if not emb.is_dir():
        return 0
    removed = 0
    for pack in emb.rglob("*.pack"):
        parsed = _read_index(pack)
        removed += parsed[2] if parsed is not None else 0
        _INDEXES.pop(str(pack), None)
    shutil.rmtree(emb, ignore_errors=True)
    for folder in [f for f in _FOLDERS if Path(f).parent == emb]:
        del _FOLDERS[folder]
    return removed
