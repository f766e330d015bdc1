"""The docs stand alone: every link in docs/ and the README points into the repository (or is a
URL), and the file it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: [text](target) and <img src="target">; reference-style definitions "[x]: target"
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)|src=\"([^\"]+)\"", re.M)


def links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [next(g for g in m.groups() if g) for m in LINK.finditer(text)]


def test_the_link_pattern_finds_links():
    page = ROOT / "docs" / "README.md"
    assert "method.md" in links(page) and "quickstart.md" in links(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository(page):
    bad = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("file:"):
            continue  # a URL (https:, mailto:)
        path = target.split("#", 1)[0]
        if not path:
            continue  # an anchor on the same page
        resolved = (page.parent / path).resolve()
        if path.startswith(("/", "file:")) or not resolved.is_relative_to(ROOT.resolve()):
            bad.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            bad.append(f"{target} (no such file)")
    assert not bad, f"{page.relative_to(ROOT)}: {bad}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_names_a_file_outside_the_repository(page):
    """Not even as plain text: a path into the development workspace means nothing to a user."""
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"\.\./shared|/work/|METHOD\.md", text), page
