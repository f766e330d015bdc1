"""Output directories that resume the same run or start clean, and never mix two runs.

Every run writes ``divtools-run.json`` into its output directory: the run kind, a fingerprint
of the resolved spec (everything but ``output.on_existing``), the spec itself (secrets redacted,
:mod:`divtools.redact`) and divtools' version. Re-running the *same* spec resumes
(``on_existing: resume``, the default), starts over (``restart``) or stops (``error``). A
directory holding a *different* spec's run is never resumed into: divtools stops and names the
fields that changed, unless ``on_existing: restart``. A non-empty directory that divtools did not
create is never wiped. A directory holding nothing of value (the manifest of a run that failed
before writing any output, empty folders) is reused whatever the spec.

One run at a time: a run holds an exclusive OS lock (``flock`` through ``filelock``) on
``DIR/.divtools-run.lock`` from the moment it claims the folder until it ends; a second run on
the same folder stops with "another divtools run is using DIR" (exit 2). The kernel drops the lock
when a process dies, so a killed run's stale claim is simply taken over. Everything that deletes
(the clean-up of a killed run's temporaries, ``restart``) happens only while holding the lock, so
it can never remove a live run's files.

Before ``restart`` clears the folder, every input the spec names (any path field: data, gold,
prompts, models, reward files, generations) is checked: one inside what would be removed stops
the run, so a restart cannot delete its own input.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from divtools.atomic import write_json
from divtools.errors import UserError

__all__ = ["LOCK", "MANIFEST", "RunDir", "claims", "fingerprint", "has_content", "input_paths", "release",
           "safe_child"]

MANIFEST = "divtools-run.json"
#: the lock file a running run holds (an empty file; removed when the run ends normally)
LOCK = ".divtools-run.lock"

#: locks this process holds, by resolved folder: a second claim of the same folder by the same
#: process (prepare checks early and writes late) reuses the first
_HELD: dict[str, Any] = {}


def _interrupted_claim(child: Path) -> bool:
    """The temporary of a manifest write that a kill interrupted (``divtools.atomic`` names it
    ``.divtools-run.json.<random>.tmp``): proof that divtools was claiming the folder, not user data."""
    return child.name.startswith(f".{MANIFEST}.") and child.name.endswith(".tmp")


def _bookkeeping(child: Path) -> bool:
    """Entries that are divtools' claim on a folder, not content: the lock file and an
    interrupted manifest write."""
    return child.name == LOCK or (_interrupted_claim(child) and child.is_file())


def _drop_interrupted_writes(path: Path) -> int:
    """Remove temporaries that ``divtools.atomic`` left when a run was killed mid-write
    (``.<name>.<random>.tmp``, anywhere below ``path``); they were never outputs. Called only while
    holding the folder's lock, so no live run's temporary can be among them. Returns the count."""
    removed = 0
    for tmp in path.rglob(".*.tmp"):
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def has_content(path: Path) -> bool:
    """Whether ``path`` holds anything besides divtools' claim on it (the lock file, the leftover
    of an interrupted manifest write). Only looks: deleting is done under the lock."""
    return any(not _bookkeeping(child) for child in path.iterdir())


def _holds_value(path: Path) -> bool:
    """Whether anything below ``path`` is worth keeping: any file or link other than the
    manifest, the lock and atomic-write temporaries. A run that failed before writing any output
    leaves nothing of value, and its folder is reused by the next run whatever its spec."""
    for child in path.rglob("*"):
        rel = child.relative_to(path)
        if child.is_dir() and not child.is_symlink():
            continue
        if rel.as_posix() in (MANIFEST, LOCK) or (child.name.startswith(".") and child.name.endswith(".tmp")):
            continue
        return True
    return False


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


def safe_child(root: Path, *parts: str, field: str | None = None) -> Path:
    """``root/parts...``, refusing names that would leave ``root`` (``..``, absolute, symlinks).

    ``field`` names where a refused *name* came from (e.g. ``systems``); a symbolic link that
    leads outside is a problem of the output folder, and says so."""
    root_resolved = root.resolve()
    candidate = root.joinpath(*parts)
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise UserError(f"'{part}' cannot be used as a file name inside {root}", field=field)
    resolved = candidate.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        link = next((root.joinpath(*parts[:i]) for i in range(1, len(parts) + 1)
                     if root.joinpath(*parts[:i]).is_symlink()), candidate)
        raise UserError(
            f"{link} is a symbolic link: '{'/'.join(parts)}' would escape the output directory {root}; "
            "remove the link", field="output.dir")
    return candidate


def input_paths(spec: Any) -> list[tuple[str, Path]]:
    """``(field, path)`` for every path the spec reads: every absolute path in it outside
    ``output`` (spec path fields are resolved to absolute paths when the spec is validated, and
    local model folders too), whichever run kind or plugin component holds it."""
    found: list[tuple[str, Path]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}.{i}")
        elif isinstance(node, str) and os.path.isabs(node) and "\n" not in node:
            found.append((where, Path(node)))

    data = _canonical(spec)
    data.pop("output", None)
    walk(data, "")
    return found


def _refuse_inputs_inside(spec: Any, path: Path, keep: tuple[str, ...]) -> None:
    """Stop before ``restart`` removes an input of this very run (one inside ``path`` and not in
    an entry that restart keeps)."""
    root = path.resolve()
    for where, given in input_paths(spec):
        try:
            resolved = given.resolve()
        except (OSError, RuntimeError):
            continue
        if resolved != root and root not in resolved.parents:
            continue
        if resolved != root and resolved.relative_to(root).parts[0] in keep:
            continue
        raise UserError(
            f"{given} is an input of this run and lies inside the output folder {path}, which "
            "on_existing: restart would clear; move the input out of it or choose another output.dir",
            field=where)


def _refuse_package_tree(path: Path) -> None:
    """An output folder inside divtools' own installed source would mix run files into the
    package (and ``restart`` could delete its modules)."""
    import divtools

    package = Path(divtools.__file__).resolve().parent
    resolved = path.resolve()
    if resolved == package or package in resolved.parents:
        raise UserError(f"{path} is inside divtools' own source folder {package}; choose an output folder "
                        "outside the installed package", field="output.dir")


def _os_problem(exc: OSError, path: Path) -> UserError:
    why = exc.strerror or str(exc)
    if exc.errno == errno.ENAMETOOLONG:
        why += " (a file system allows at most 255 bytes per folder or file name)"
    return UserError(f"cannot use {path} as the output folder: {why}", field="output.dir")


def _lock(path: Path) -> None:
    """Create ``path`` and take its lock, or stop: another live run holds it."""
    from filelock import FileLock, Timeout

    key = str(path.resolve())
    if key in _HELD:
        return
    # the folders this claim creates (deepest first): removed again if the run leaves them empty
    created = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path / LOCK, timeout=0)
        lock.acquire()
    except Timeout:
        raise UserError(
            f"another divtools run is using {path}; wait for it to finish or choose another output.dir",
            field="output.dir") from None
    except OSError as exc:
        raise _os_problem(exc, path) from None
    _HELD[key] = (lock, created)


def release(path: Path) -> None:
    """Give up this process's claim on ``path`` (the lock file goes; a run that waits for the
    folder can then take it)."""
    held = _HELD.pop(str(Path(path).resolve()), None)
    if held is None:
        return
    lock, created = held
    with contextlib.suppress(OSError):
        # unlinked while still held: a run that opened the old file finds it unlinked after
        # locking and opens the new one (filelock checks st_nlink), so exclusion is kept
        os.unlink(lock.lock_file)
    with contextlib.suppress(OSError):
        lock.release(force=True)
    for folder in created:  # a run that failed before writing anything leaves no folder behind
        try:
            folder.rmdir()
        except OSError:
            break


@contextlib.contextmanager
def claims() -> Iterator[None]:
    """Folders claimed inside this block are released when it ends (``divtools.runs.run_spec``
    wraps every run in one; a process that dies releases its locks anyway)."""
    before = set(_HELD)
    try:
        yield
    finally:
        for key in [k for k in _HELD if k not in before]:
            release(Path(key))


@dataclass
class RunDir:
    """An output directory owned by one run of one spec."""

    path: Path
    kind: str
    fingerprint: str
    resumed: bool

    @classmethod
    def check(cls, spec: Any, *, kind: str | None = None, keep_on_restart: tuple[str, ...] = ()) -> str:
        """Claim ``spec.output.dir`` (the lock) and decide, without changing anything in it, what
        :meth:`open` will do: ``"fresh"``, ``"resume"`` or ``"restart"``; a user error when the
        folder cannot be used. Runs that compute before they write (prepare) call this first."""
        kind = kind or spec.run
        path = Path(spec.output.dir)
        _refuse_package_tree(path)
        try:
            if path.exists() and not path.is_dir():
                raise UserError(f"{path} exists and is a file; output.dir must be a directory", field="output.dir")
            # a look before taking the lock: someone else's folder gets no lock file of ours
            if path.exists() and has_content(path) and not (path / MANIFEST).exists():
                raise UserError(
                    f"{path} is not empty and was not written by divtools; choose a new or empty directory",
                    field="output.dir")
        except OSError as exc:
            raise _os_problem(exc, path) from None
        _lock(path)
        manifest_path = path / MANIFEST
        if not has_content(path):
            return "fresh"
        if not manifest_path.exists():  # appeared while we took the lock
            raise UserError(
                f"{path} is not empty and was not written by divtools; choose a new or empty directory",
                field="output.dir")
        if not _holds_value(path):
            return "fresh"
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if not isinstance(old, dict):
            old = {}
        policy = spec.output.on_existing
        same = old.get("fingerprint") == fingerprint(spec) and old.get("run") == kind
        if policy == "restart":
            _refuse_inputs_inside(spec, path, keep_on_restart)
            return "restart"
        if not same:
            from divtools.redact import redact_data

            changed = _changed(old.get("spec", {}), redact_data(_canonical(spec))) or ["run"]
            raise UserError(
                f"{path} holds a run of a different spec (changed: {', '.join(changed[:8])}); "
                "use a new output.dir, or set output.on_existing: restart to discard it"
                + (f" (restart keeps {', '.join(keep_on_restart)})" if keep_on_restart else ""),
                field="output.dir",
            )
        if policy == "error":
            raise UserError(
                f"{path} already holds this run; set output.on_existing to resume or restart",
                field="output.on_existing",
            )
        return "resume"

    @classmethod
    def open(cls, spec: Any, *, kind: str | None = None, keep_on_restart: tuple[str, ...] = ()) -> "RunDir":
        """Claim ``spec.output.dir`` for this spec, per ``spec.output.on_existing``.

        ``keep_on_restart`` names entries that ``restart`` leaves in place because they check
        themselves on reuse (evaluate's ``generations/``: the generation driver refuses a file
        made with other settings), so changing a metric does not throw away GPU hours."""
        from divtools import __version__
        from divtools.redact import redact_data

        kind = kind or spec.run
        path = Path(spec.output.dir)
        decision = cls.check(spec, kind=kind, keep_on_restart=keep_on_restart)
        fp = fingerprint(spec)
        if decision == "fresh":
            cls._wipe(path)  # the bookkeeping and empty folders of a run that wrote nothing
        elif decision == "restart":
            cls._wipe(path, keep=keep_on_restart)
        else:
            _drop_interrupted_writes(path)
        if decision != "resume":
            write_json(path / MANIFEST, {"run": kind, "fingerprint": fp, "divtools_version": __version__,
                                         "spec": redact_data(_canonical(spec))})
        return cls(path=path, kind=kind, fingerprint=fp, resumed=decision == "resume")

    @staticmethod
    def _wipe(path: Path, keep: tuple[str, ...] = ()) -> None:
        """Remove everything but ``keep`` and the lock (held by this run; removing it would let a
        second run lock a new file). The manifest goes last, so the folder never looks foreign."""
        children = sorted(path.iterdir(), key=lambda c: c.name == MANIFEST)
        for child in children:
            if child.name in keep or child.name == LOCK:
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
