"""Seeds derived from a run's seed, so each request or chunk gets its own reproducible seed."""

from __future__ import annotations

import hashlib

__all__ = ["derive_seed"]


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 31-bit seed from ``seed`` and the place it is used (sha256 of their repr).

    Same inputs give the same seed on every machine and Python version (unlike ``hash``).
    """
    digest = hashlib.sha256(repr((int(seed), *parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
