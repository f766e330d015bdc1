"""Output directories that resume the same run or start clean, and never mix two runs.

Every run writes ``divtools-run.json`` into its output directory: the run kind, a fingerprint
of the resolved spec (everything but ``output.on_existing``), the spec itself and divtools'
version. Re-running the *same* spec resumes (``on_existing: resume``, the default), starts over
(``restart``) or stops (``error``). A directory holding a *different* spec's run is never
resumed into: divtools stops and names the fields that changed, unless ``on_existing: restart``.
A non-empty directory that divtools did not create is never wiped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from divtools.atomic import write_json
from divtools.errors import UserError

__all__ = ["MANIFEST", "RunDir", "fingerprint", "has_content", "safe_child"]

MANIFEST = "divtools-run.json"


def _interrupted_claim(child: Path) -> bool:
    """The temporary of a manifest write that a kill interrupted (``divtools.atomic`` names it
    ``.divtools-run.json.<random>.tmp``): proof that divtools was claiming the folder, not user data."""
    return child.name.startswith(f".{MANIFEST}.") and child.name.endswith(".tmp")


def _drop_interrupted_writes(path: Path) -> int:
    """Remove temporaries that ``divtools.atomic`` left when a run was killed mid-write
    (``.<name>.<random>.tmp``, anywhere below ``path``); they were never outputs. Returns the count."""
    removed = 0
    for tmp in path.rglob(".*.tmp"):
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def has_content(path: Path) -> bool:
    """Whether ``path`` holds anything besides leftovers of an interrupted claim (which are removed),
    so a run killed while claiming an empty folder can be rerun."""
    found = False
    for child in path.iterdir():
        if _interrupted_claim(child) and child.is_file():
            child.unlink(missing_ok=True)
        else:
            found = True
    return found


def _canonical(spec: Any) -> dict[str, Any]:
    data = spec.model_dump(mode="json") if hasattr(spec, "model_dump") else dict(spec)
    output = data.get("output")
    if isinstance(output, dict):
        output = {k: v for k, v in output.items() if k != "on_existing"}
        data["output"] = output
    return data


def fingerprint(spec: Any) -> str:
    """sha256 of the canonical JSON of the resolved spec (without ``output.on_existing``)."""
    blob = json.dumps(_canonical(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _changed(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            out += _changed(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [prefix.rstrip(".") or "(top level)"]


def safe_child(root: Path, *parts: str) -> Path:
    """``root/parts...``, refusing names that would leave ``root`` (``..``, absolute, symlinks)."""
    root_resolved = root.resolve()
    candidate = root.joinpath(*parts)
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise UserError(f"'{part}' cannot be used as a file name inside {root}", field="id")
    resolved = candidate.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise UserError(f"'{'/'.join(parts)}' would escape the output directory {root}", field="id")
    return candidate


@dataclass
class RunDir:
    """An output directory owned by one run of one spec."""

    path: Path
    kind: str
    fingerprint: str
    resumed: bool

    @classmethod
    def open(cls, spec: Any, *, kind: str | None = None, keep_on_restart: tuple[str, ...] = ()) -> "RunDir":
        """Claim ``spec.output.dir`` for this spec, per ``spec.output.on_existing``.

        ``keep_on_restart`` names entries that ``restart`` leaves in place because they check
        themselves on reuse (evaluate's ``generations/``: the generation driver refuses a file
        made with other settings), so changing a metric does not throw away GPU hours."""
        from divtools import __version__

        kind = kind or spec.run
        path = Path(spec.output.dir)
        policy = spec.output.on_existing
        fp = fingerprint(spec)
        manifest_path = path / MANIFEST
        resumed = False
        if path.exists() and not path.is_dir():
            raise UserError(f"{path} exists and is a file; output.dir must be a directory", field="output.dir")
        if path.exists() and has_content(path):
            if not manifest_path.exists():
                raise UserError(
                    f"{path} is not empty and was not written by divtools; choose a new or empty directory",
                    field="output.dir",
                )
            try:
                old = json.loads(manifest_path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                old = {}
            same = old.get("fingerprint") == fp and old.get("run") == kind
            if policy == "restart":
                cls._wipe(path, keep=keep_on_restart)
            elif not same:
                changed = _changed(old.get("spec", {}), _canonical(spec)) or ["run"]
                raise UserError(
                    f"{path} holds a run of a different spec (changed: {', '.join(changed[:8])}); "
                    "use a new output.dir, or set output.on_existing: restart to discard it"
                    + (f" (restart keeps {', '.join(keep_on_restart)})" if keep_on_restart else ""),
                    field="output.dir",
                )
            elif policy == "error":
                raise UserError(
                    f"{path} already holds this run; set output.on_existing to resume or restart",
                    field="output.on_existing",
                )
            else:
                resumed = True
                _drop_interrupted_writes(path)
        path.mkdir(parents=True, exist_ok=True)
        if not resumed:
            write_json(manifest_path, {"run": kind, "fingerprint": fp, "divtools_version": __version__,
                                       "spec": _canonical(spec)})
        return cls(path=path, kind=kind, fingerprint=fp, resumed=resumed)

    @staticmethod
    def _wipe(path: Path, keep: tuple[str, ...] = ()) -> None:
        for child in path.iterdir():
            if child.name in keep:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()

    def file(self, *parts: str) -> Path:
        """A path inside the run directory (``..`` and absolute names refused)."""
        return safe_child(self.path, *parts)

    # Stage markers: a finished stage is not redone on resume.
    def is_done(self, stage: str) -> bool:
        return self.file(f".done-{stage}").exists()

    def mark_done(self, stage: str, info: dict[str, Any] | None = None) -> None:
        write_json(self.file(f".done-{stage}"), info or {})
