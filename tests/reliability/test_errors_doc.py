"""docs/errors.md lists every malformed spec and data file, and its totals match the corpus."""

from __future__ import annotations

import re

from .conftest import BAD_DATA, REPO

DOC = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
INVALID = REPO / "tests" / "specs" / "invalid"


def _total(row_start: str) -> int:
    line = next(line for line in DOC.splitlines() if line.startswith(row_start))
    return int(re.split(r"\s*\|\s*", line)[2])


def test_every_corpus_file_has_a_row():
    for folder in (INVALID, BAD_DATA):
        for path in folder.iterdir():
            if path.name != "EXPECTED.yaml":
                assert f"| `{path.name}` |" in DOC, f"{path.name} is missing from docs/errors.md"


def test_totals_match_the_corpus():
    specs = [p for p in INVALID.iterdir() if p.name != "EXPECTED.yaml"]
    assert _total("| malformed spec files") == len(specs) + 2  # + 2 inline specs in test_untrusted.py
    assert _total("| malformed data files, committed") == len(list(BAD_DATA.iterdir()))
    assert len(specs) >= 30 and len(list(BAD_DATA.iterdir())) >= 20
