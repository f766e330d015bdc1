"""Compression ratio (gzip), as in Shaib et al. and the ``diversity`` package."""

from __future__ import annotations

import gzip
import zlib
from typing import Sequence

import numpy as np

from divtools.api import GroupResult, Metric

__all__ = ["PACKAGE_MTIME", "CompressionRatio", "compressed_size", "compression_ratio"]

#: header time of the inner gzip stream in the ``gzip_twice`` (diversity 0.3.1) convention
PACKAGE_MTIME = 1_700_000_000


def compressed_size(data: bytes, *, twice: bool = False) -> int:
    """Bytes of ``gzip.compress(data, 9)`` (mtime fixed at 0, which does not change the size).

    ``twice=True`` reproduces ``diversity`` 0.3.1 byte for byte: it writes
    ``gzip.compress(text)`` *through* ``gzip.GzipFile('.../compressed.gz', 'w+')``, i.e. gzips
    the gzip stream again, with the file name ``compressed`` stored in the outer header.
    """
    if not twice:
        return len(gzip.compress(data, compresslevel=9, mtime=0))
    # The package's inner gzip.compress stores the current time in its header, so its value
    # moves by a byte or so with the clock; a fixed time keeps ours reproducible.
    once = gzip.compress(data, compresslevel=9, mtime=PACKAGE_MTIME)
    # GzipFile header: 10 bytes + the FNAME field "compressed\0" (11 bytes); trailer: CRC32 +
    # size (8 bytes); body: raw deflate of the inner gzip stream at level 9.
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, zlib.DEF_MEM_LEVEL, 0)
    body = deflate.compress(once) + deflate.flush()
    return 10 + len(b"compressed\0") + len(body) + 8


def compression_ratio(texts: Sequence[str], *, twice: bool = False) -> float:
    """len(utf-8 of ' '.join(texts)) / gzip size of the same bytes (one compression)."""
    raw = " ".join(texts).encode("utf-8")
    return len(raw) / compressed_size(raw, twice=twice)


class CompressionRatio(Metric):
    """gzip compression ratio of the group.

    - diversity = |J| / |gzip(J)| where J = UTF-8 bytes of the texts joined by single spaces,
      gzip level 9, compressed once (``diversity`` 0.3.1 compresses twice, see
      ``gzip_twice``). **Higher = more compressible = less diverse.** Grows with N and with
      text length (longer inputs compress better): compare equal N and similar lengths.
    - deviation_i = (|gzip(J)| − |gzip(J without text i)|) / |text i| in bytes: the compressed
      bytes text i adds per raw byte, given the others (higher = more novel). 0 for an empty text.
    - tokens: none (bytes).
    """

    higher_is_more_diverse = False

    def __init__(self, params) -> None:
        self.twice = params.gzip_twice

    def group(self, texts: Sequence[str]) -> GroupResult:
        if not texts:
            return GroupResult(deviation=np.zeros(0), diversity=float("nan"))
        raw = " ".join(texts).encode("utf-8")
        full = compressed_size(raw, twice=self.twice)
        div = len(raw) / full
        dev = np.zeros(len(texts), dtype=np.float64)
        if len(texts) > 1:
            items = list(texts)
            for i, text in enumerate(items):
                size = len(text.encode("utf-8"))
                if size:
                    rest = " ".join(items[:i] + items[i + 1 :])
                    dev[i] = (full - compressed_size(rest.encode("utf-8"), twice=self.twice)) / size
        return GroupResult(deviation=dev, diversity=div)
