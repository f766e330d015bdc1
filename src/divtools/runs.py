"""Dispatch a validated spec to the stage its ``run:`` field names."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, Iterable

from divtools.errors import DEBUG_ENV, NotImplementedYet, StageFailed, UserError

__all__ = ["RUNNERS", "remote_code_fields", "run_spec", "run_spec_data", "run_spec_file"]

#: run kind -> "module:function" taking (spec, *, quiet) and returning the main output path
RUNNERS = {
    "prepare": "divtools.data.prepare_run:run",
    "train": "divtools.train.run:run",
    "evaluate": "divtools.evaluate.run:run",
    "pipeline": "divtools.runs:run_pipeline",
    "online": "divtools.train.online:run",
}


def remote_code_fields(spec: Any) -> list[str]:
    """Dotted paths of every ``trust_remote_code: true`` in a spec, whichever component (or plugin)
    holds it."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                where = f"{path}.{key}" if path else str(key)
                if key == "trust_remote_code" and value is True:
                    found.append(where)
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}.{i}")

    walk(spec.model_dump(mode="json") if hasattr(spec, "model_dump") else spec, "")
    return found


def run_spec(spec: Any, *, quiet: bool = False) -> Path:
    import sys

    # a security notice, printed even with --quiet (a pipeline's steps print their own)
    for where in remote_code_fields(spec) if spec.run != "pipeline" else ():
        print(f"divtools: WARNING: {where} is true: the model repository's own Python code will run",
              file=sys.stderr, flush=True)
    from divtools.progress import configure_libraries

    configure_libraries(quiet)  # library bars/warnings: off when quiet, bars off in a log
    module_name, _, attr = RUNNERS[spec.run].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise NotImplementedYet(f"'run: {spec.run}' is not implemented in this version of divtools") from None
        raise
    from divtools.rundir import claims

    with claims():  # the output folder this run claims is released when it ends, however it ends
        try:
            return getattr(module, attr)(spec, quiet=quiet)
        except Exception as exc:
            # a runner marks a library's failure inside a stage with the line the user needs
            # (train: the stage and the likely field); the traceback only when debugging
            message = getattr(exc, "divtools_message", None)
            if message is None or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
                raise
            raise StageFailed(message) from exc


def run_spec_data(data: dict[str, Any], *, file: str, base_dir: Path, quiet: bool = False) -> Path:
    from divtools.spec.loading import validate_spec

    return run_spec(validate_spec(data, file=file, base_dir=base_dir), quiet=quiet)


def run_spec_file(path: Path, overrides: Iterable[str] = (), *, quiet: bool = False) -> Path:
    from divtools.spec.loading import load_spec

    try:
        return run_spec(load_spec(path, overrides), quiet=quiet)
    except UserError as exc:
        if exc.file is not None:
            raise
        # an error found while running names a spec field: say which spec file it is in
        raise UserError(exc.message, file=str(path), field=exc.field) from None


def run_pipeline(spec: Any, *, quiet: bool = False) -> Path:
    """Run each step of a ``run: pipeline`` spec in order; returns the last step's output."""
    import sys

    # a train step's TRL configs are checked before the first step runs, not after prepare
    for step in spec.steps.values():
        if step.run == "train":
            from divtools.train.run import check_configs

            check_configs(step)
    if not quiet:  # the Goodhart guard: a training signal the evaluation also measures
        from divtools.train.goodhart import pipeline_overlaps, warning_lines

        for line in warning_lines(pipeline_overlaps(spec)):
            print(f"divtools: WARNING: {line}", file=sys.stderr, flush=True)
    result = Path(".")
    total = len(spec.steps)
    for i, (name, step) in enumerate(spec.steps.items(), 1):
        if not quiet:
            print(f"divtools: step {i}/{total} '{name}' (run: {step.run})", file=sys.stderr, flush=True)
        result = run_spec(step, quiet=quiet)
    return result
