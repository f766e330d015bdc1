"""The committed schemas/ equal what `divtools schema` writes from divtools' own components."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_committed_schemas_are_fresh(tmp_path):
    env = dict(os.environ, DIVTOOLS_LOAD_PLUGINS="")
    out = subprocess.run([sys.executable, "-m", "divtools.cli.main", "schema", "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    fresh = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    committed = {p.name: p.read_text() for p in (ROOT / "schemas").glob("*.json")}
    assert fresh.keys() == committed.keys()
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"schemas/ is stale ({stale}): run `DIVTOOLS_LOAD_PLUGINS= divtools schema --out schemas/`"


def test_schema_lists_registered_components_as_a_discriminated_union():
    schema = json.loads((ROOT / "schemas" / "evaluate.schema.json").read_text())
    text = json.dumps(schema)
    assert '"distinct_n"' in text
    assert "length_spread" not in text  # third-party plugins are not part of divtools' own schema


def test_schema_with_plugins_includes_them():
    from divtools.cli.schema import schemas

    text = json.dumps(schemas())  # this process loads every installed plugin
    assert "length_spread" in text
