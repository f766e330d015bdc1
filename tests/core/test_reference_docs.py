"""docs/cli.md and docs/spec-reference.md are generated; they fail here when stale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_generated_reference_docs_are_fresh(tmp_path):
    env = dict(os.environ, DIVTOOLS_LOAD_PLUGINS="")
    out = subprocess.run([sys.executable, "-m", "divtools.reference_docs", str(tmp_path)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    for name in ("cli.md", "spec-reference.md"):
        assert (tmp_path / name).read_text() == (ROOT / "docs" / name).read_text(), (
            f"docs/{name} is stale: run `make docs`")


def test_cli_reference_covers_every_command():
    from divtools.cli.main import cli

    text = (ROOT / "docs" / "cli.md").read_text()
    for name in cli.commands:
        assert f"## `divtools {name}`" in text
