"""Writing a report with every reporter, all-or-nothing.

Reporters write into a fresh staging folder inside the output directory; only when every one of
them succeeded are the files moved into place (``os.replace``, atomic per file on POSIX), with
``report.json`` last, and files an earlier report wrote that this one does not are removed. An
error in any reporter removes the staging folder and leaves the output directory as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from divtools.atomic import write_json, write_text
from divtools.errors import DivtoolsError

__all__ = ["FILES_MANIFEST", "publish_reports", "reporter_params"]

#: the report files of the last published report, so the next one can remove stale ones
FILES_MANIFEST = ".report-files.json"
REPORT_JSON = "report.json"
STAGING_PREFIX = ".report-staging-"


def reporter_params(reporters: Sequence[Any]) -> list[Any]:
    """The reporters to run: the spec's, with ``json`` added first when it is missing (report.json
    is the run's record and what ``divtools compare`` reads)."""
    from divtools.builtins.reporters import JsonReporterParams

    out = list(reporters)
    if not any(r.kind == "json" for r in out):
        out.insert(0, JsonReporterParams())
    return out


def publish_reports(report: Mapping[str, Any], reporters: Sequence[Any], out_dir: Path,
                    extra: Mapping[str, str] | None = None) -> Path:
    """Run ``reporters`` on ``report`` into ``out_dir``, with ``extra`` files (name -> text)
    published alongside; returns the path of report.json."""
    from divtools.components import build

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for leftover in out_dir.glob(f"{STAGING_PREFIX}*"):  # from a process killed while publishing
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    try:
        written: list[Path] = []
        for name, text in (extra or {}).items():
            written.append(write_text(staging / name, text))
        for params in reporter_params(reporters):
            reporter = build("reporter", params)
            for path in reporter.write(report, staging):
                path = Path(path)
                if staging.resolve() not in path.resolve().parents:
                    raise DivtoolsError(f"reporter '{params.kind}' wrote {path} outside the folder it was given")
                written.append(path)
        names = sorted({p.relative_to(staging).as_posix() for p in written})
        if REPORT_JSON not in names:
            raise DivtoolsError("no reporter wrote report.json")
        old = _previous(out_dir)
        for name in [n for n in names if n != REPORT_JSON] + [REPORT_JSON]:
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
        for name in sorted(set(old) - set(names)):
            stale = out_dir / name
            if stale.is_file() and out_dir.resolve() in stale.resolve().parents:
                stale.unlink()
        write_json(out_dir / FILES_MANIFEST, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir / REPORT_JSON


def _previous(out_dir: Path) -> list[str]:
    try:
        names = json.loads((out_dir / FILES_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str) and ".." not in Path(n).parts]
