"""Atomic writes: complete or absent, never a half file; ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from divtools.atomic import atomic_write, write_json


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "report.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write('{"a": 2')
            raise RuntimeError("killed halfway")
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_written_file_has_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "x.json", [1])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_same_data_same_bytes(tmp_path):
    a = write_json(tmp_path / "a.json", {"b": 1, "a": [1.5, "é"]}).read_bytes()
    b = write_json(tmp_path / "b.json", {"a": [1.5, "é"], "b": 1}).read_bytes()
    assert a == b
