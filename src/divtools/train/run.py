"""``run: train``: run a train spec's stages in order, resuming where a killed run stopped.

Output layout (``output.dir``)::

    train-spec.json            the resolved spec and its fingerprint (refuses a changed spec)
    <stage>/                   a from_pretrained-loadable checkpoint (model or adapter + tokenizer)
    <stage>/divtools-stage.json  the resolved spec of the stage, written last: the stage is done
    <stage>/log.jsonl          one record per logging step (losses, rewards, weight statistics)
    <stage>/checkpoints/       Trainer checkpoints, used to resume
    train-result.json          the stages' folders, written when all are done
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from divtools.atomic import write_json
from divtools.errors import UserError

__all__ = ["SPEC_FILE", "STAGE_FILE", "fingerprint", "run", "stage_complete"]

SPEC_FILE = "train-spec.json"
STAGE_FILE = "divtools-stage.json"
RESULT_FILE = "train-result.json"


def _spec_data(spec: Any) -> dict[str, Any]:
    return spec.model_dump(mode="json")


def fingerprint(spec: Any) -> str:
    """sha256 of the spec minus ``output.on_existing`` (choosing resume/restart is not a change)."""
    data = _spec_data(spec)
    data.get("output", {}).pop("on_existing", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def _claim(spec: Any) -> None:
    """Make ``output.dir`` this spec's: fresh, resumed, or wiped on ``on_existing: restart``."""
    out = Path(spec.output.dir)
    mode = spec.output.on_existing
    marker = out / SPEC_FILE
    field = "output.dir"
    if out.exists() and any(out.iterdir()):
        if mode == "restart":
            shutil.rmtree(out)
        elif not marker.exists():
            raise UserError(
                f"{out} is not empty and holds no divtools train run; choose another output.dir or set "
                "output.on_existing: restart to wipe it",
                field=field,
            )
        else:
            previous = json.loads(marker.read_text(encoding="utf-8")).get("fingerprint")
            if previous != fingerprint(spec):
                raise UserError(
                    f"{out} holds a run of a different train spec; resuming would mix two runs. Use another "
                    "output.dir, or set output.on_existing: restart to wipe it",
                    field=field,
                )
            if mode == "error":
                raise UserError(f"{out} already holds this run and output.on_existing is 'error'", field=field)
    out.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        write_json(marker, {"fingerprint": fingerprint(spec), "spec": _spec_data(spec)})


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
    if not quiet:
        return
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()


def run(spec: Any, *, quiet: bool = False, callbacks: Sequence[Any] = ()) -> Path:
    """Run (or resume) every stage of ``spec``; return ``output.dir``.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects given to every stage's trainer.
    """
    from divtools.train.stages import RUNNERS

    _quiet(quiet)
    state = _state(spec)
    out = Path(spec.output.dir)
    if state.is_main_process:
        _claim(spec)
    state.wait_for_everyone()
    if not (out / SPEC_FILE).exists() or json.loads((out / SPEC_FILE).read_text())["fingerprint"] != fingerprint(spec):
        raise UserError(f"{out} was not claimed for this spec", field="output.dir")  # pragma: no cover
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
        RUNNERS[stage.kind](spec, stage, stage_dir, prev_dir, quiet=quiet, callbacks=callbacks)
        if state.is_main_process:
            write_json(
                stage_dir / STAGE_FILE,
                {
                    "complete": True,
                    "stage": stage.model_dump(mode="json"),
                    "init": str(prev_dir) if prev_dir else spec.model.path,
                    "base_model": spec.model.model_dump(mode="json"),
                    "adapter": (stage_dir / "adapter_config.json").exists(),
                    "seed": spec.seed,
                    "data": spec.data.model_dump(mode="json"),
                    "versions": _versions(),
                },
            )
        state.wait_for_everyone()
        done.append(stage.name)
    if state.is_main_process:
        write_json(out / RESULT_FILE, {"stages": {name: str(out / name) for name in done}})
    return out
