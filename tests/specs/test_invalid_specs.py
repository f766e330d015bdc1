"""Every malformed spec in tests/specs/invalid/ gives its expected message and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from divtools.cli.main import cli

HERE = Path(__file__).parent
INVALID = HERE / "invalid"
EXPECTED: dict[str, str] = yaml.safe_load((INVALID / "EXPECTED.yaml").read_text())


def test_corpus_is_complete():
    files = sorted(p.name for p in INVALID.iterdir() if p.name != "EXPECTED.yaml")
    assert files == sorted(EXPECTED), "every invalid spec needs an EXPECTED.yaml entry and vice versa"
    assert len(files) >= 15


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_spec(name):
    path = INVALID / name
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert EXPECTED[name] in result.output
    assert result.output.startswith(f"{path}: ")
    assert "Traceback" not in result.output


def test_real_process_exit_code_and_no_traceback():
    out = subprocess.run([sys.executable, "-m", "divtools.cli.main", "validate", str(INVALID / "03_unknown_kind.yaml")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "did you mean 'distinct_n'" in out.stderr and "Traceback" not in out.stderr


def test_run_with_bad_spec_exits_2_before_doing_anything(tmp_path):
    result = CliRunner().invoke(cli, ["run", str(INVALID / "05_bad_path.yaml")])
    assert result.exit_code == 2
    assert "path does not exist" in result.output
