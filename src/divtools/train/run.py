"""``run: train``: run a train spec's stages in order, resuming where a killed run stopped.

Output layout (``output.dir``)::

    divtools-run.json          the resolved spec and its fingerprint (divtools.rundir; refuses a changed spec)
    <stage>/                   a from_pretrained-loadable checkpoint (model or adapter + tokenizer)
    <stage>/divtools-stage.json  the resolved spec of the stage, written last: the stage is done
    <stage>/log.jsonl          one record per logging step (losses, rewards, weight statistics)
    <stage>/checkpoints/       Trainer checkpoints, used to resume
    train-result.json          the stages' folders, written when all are done
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Sequence

from divtools.atomic import write_json
from divtools.errors import DivtoolsError, UserError
from divtools.redact import redact_data

__all__ = ["STAGE_FILE", "check_configs", "run", "stage_complete"]

STAGE_FILE = "divtools-stage.json"
RESULT_FILE = "train-result.json"


def _claim(spec: Any) -> Any:
    """Make ``output.dir`` this spec's (:class:`divtools.rundir.RunDir`): fresh, resumed or restarted."""
    from divtools.rundir import RunDir

    return RunDir.open(spec, kind="train")


def stage_complete(stage_dir: Path) -> bool:
    marker = Path(stage_dir) / STAGE_FILE
    if not marker.exists():
        return False
    try:
        return bool(json.loads(marker.read_text(encoding="utf-8")).get("complete"))
    except json.JSONDecodeError:
        return False


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("divtools", "trl", "transformers", "torch", "peft", "accelerate"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _state(spec: Any) -> Any:
    """accelerate's process state, set up like TrainingArguments would (gloo on CPU under torchrun)."""
    import torch
    from accelerate import PartialState

    kwargs: dict[str, Any] = {}
    if not torch.cuda.is_available():
        kwargs["cpu"] = True
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            kwargs["backend"] = "gloo"
    backend = next((s.args["ddp_backend"] for s in spec.stages if "ddp_backend" in s.args), None)
    if backend:
        kwargs["backend"] = backend
    return PartialState(**kwargs)


def _quiet(quiet: bool) -> None:
    # also for callers of train.run.run itself (not through divtools.runs.run_spec)
    from divtools.progress import configure_libraries

    configure_libraries(quiet)


def _check_data(spec: Any) -> None:
    """Read every unfinished stage's data and let its objective refuse it now, before any stage
    loads a model: a DDPO stage's missing ``weight`` column must not cost the SFT stage before it."""
    from divtools.components import build
    from divtools.train.pairs_data import REQUIRED, read_pairs

    out = Path(spec.output.dir)
    for stage in spec.stages:
        if stage.kind == "reward_model" or stage_complete(out / stage.name):
            continue  # reward stages read their own files (prompt/response rows) when they start
        data = stage.data or spec.data
        objective = build("objective", stage.objective) if stage.kind == "preference" else None
        required = getattr(stage, "data_columns", REQUIRED)  # a grpo stage reads prompts only
        for path in filter(None, (data.train, data.eval)):
            rows = read_pairs(path, limit=data.limit, required=required)
            if objective is not None:
                objective.check_dataset(list(rows[0]), lambda c, rows=rows: [r.get(c) for r in rows], file=str(path))


def check_configs(spec: Any, quiet: bool = True) -> None:
    """Build every unfinished stage's TRL config object now, before any model loads: a
    combination of args that TRL/transformers refuse is a ``stages.NAME.args`` error at once."""
    from divtools.train.stages import stage_config

    # TrainingArguments may set up accelerate's process state: set it up first, as run() does
    # (gloo on CPU under torchrun), so that it is the state the training uses
    _state(spec)
    out = Path(spec.output.dir)
    for stage in spec.stages:
        if not stage_complete(out / stage.name):
            stage_config(spec, stage, out / stage.name, quiet=quiet)


def _likely_field(stage: Any, exc: BaseException) -> str:
    """The spec field a trainer's exception most likely comes from."""
    text = f"{type(exc).__name__}: {exc}"
    # an args key the message names, whole or by its last words ("batch_size" for per_device_train_batch_size)
    words = set(re.findall(r"[A-Za-z]+(?:_[A-Za-z]+)+", text))
    named = [key for key in stage.args if key in text or any(key.endswith("_" + w) for w in words)]
    if named:
        return ", ".join(f"stages.{stage.name}.args.{key}" for key in named)
    if "out of memory" in text.lower() or "OutOfMemoryError" in text:
        return (f"stages.{stage.name}.args.per_device_train_batch_size or max_length (lower them; "
                "gradient_accumulation_steps keeps the global batch)")
    if any(word in text for word in ("tokenizer", "pad_token", "chat_template", "eos_token")):
        return "model (its tokenizer) or data.chat_template"
    return f"stages.{stage.name}.args"


def _annotate(stage: Any, exc: BaseException) -> None:
    """Attach the user-facing message to an exception raised inside a stage's trainer;
    :func:`divtools.runs.run_spec` turns it into a :class:`~divtools.errors.StageFailed` (the CLI
    prints it, exit 2) unless DIVTOOLS_DEBUG / ``--debug`` is set. ``run`` itself re-raises the
    exception unchanged, for callers of the Python API."""
    detail = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else ""
    exc.divtools_message = (  # type: ignore[attr-defined]
        f"stage '{stage.name}' ({stage.kind}) failed while training: {type(exc).__name__}: {detail}\n"
        f"  likely field: {_likely_field(stage, exc)}\n"
        "  run again with --debug (or DIVTOOLS_DEBUG=1) for the traceback; finished stages are kept"
    )


def run(spec: Any, *, quiet: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """Run (or resume) every stage of ``spec``; return ``output.dir``.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects given to every stage's trainer.
    """
    from divtools.train.stages import RUNNERS

    _quiet(quiet)
    _check_data(spec)
    check_configs(spec, quiet)
    state = _state(spec)
    out = Path(spec.output.dir)
    if state.is_main_process:
        _claim(spec)
    state.wait_for_everyone()
    if not state.is_main_process:
        from divtools.rundir import MANIFEST, fingerprint

        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("fingerprint") != fingerprint(spec):  # pragma: no cover - ranks given different specs
            raise UserError(f"{out} was claimed for another spec by the main process", field="output.dir")
    done = []
    for index, stage in enumerate(spec.stages):
        stage_dir = out / stage.name
        if stage_complete(stage_dir):
            if not quiet and state.is_main_process:
                print(f"stage {stage.name}: already done, skipped")
            done.append(stage.name)
            continue
        init_name = spec.init_stage(index)
        prev_dir = out / init_name if init_name else None
        try:
            RUNNERS[stage.kind](spec, stage, stage_dir, prev_dir, quiet=quiet, callbacks=callbacks)
        except Exception as exc:
            if not isinstance(exc, DivtoolsError):
                _annotate(stage, exc)
            raise
        if state.is_main_process:
            write_json(
                stage_dir / STAGE_FILE,
                {
                    "complete": True,
                    "stage": redact_data(stage.model_dump(mode="json")),
                    "init": str(prev_dir) if prev_dir else spec.model.path,
                    "base_model": redact_data(spec.model.model_dump(mode="json")),
                    "adapter": (stage_dir / "adapter_config.json").exists(),
                    "seed": spec.seed,
                    "data": redact_data(spec.data.model_dump(mode="json")),
                    "versions": _versions(),
                },
            )
        state.wait_for_everyone()
        done.append(stage.name)
    if state.is_main_process:
        write_json(out / RESULT_FILE, {"stages": {name: str(out / name) for name in done}})
    return out
