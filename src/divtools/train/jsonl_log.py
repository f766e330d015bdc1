"""A Trainer callback that appends every log record to a JSONL file (main process only), and
keeps the log of a resumed run equal to an uninterrupted run's.

Resume continuity: the Trainer checkpoints its ``TrainerState`` but not the counters behind
the logged values, which restart from zero on resume: the running loss total behind the final
``train_loss`` (it then averaged only the resumed steps), the loss and TRL's per-step metrics
(logps, rewards, entropy ...) of the logging interval a checkpoint fell inside, and TRL's token
counter behind ``num_tokens``. At every checkpoint the
callback writes them next to it (:data:`STATE_FILE`); when training resumes from that
checkpoint it puts them back before the first step, and divides the final ``train_loss`` by all
steps, as the uninterrupted run does. The values are the Trainer's own floats, restored, not
recomputed, so the records match bit for bit (tested in tests/reliability/test_train_log_resume.py).
With several processes, the interval loss restored is the main process's; the interval holding a
checkpoint can then differ slightly unless checkpoints fall on logging steps.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from divtools.atomic import write_text

__all__ = ["STATE_FILE", "JsonlLogCallback", "bind_log_callbacks", "truncate_log"]

#: written into each ``checkpoint-N`` folder: the logging counters a resume restores
STATE_FILE = "divtools-log-state.json"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class JsonlLogCallback(TrainerCallback):
    """One JSON object per ``Trainer.log`` call: ``{"stage", "step", "epoch", ...metrics}``.

    :meth:`bind` it to its trainer to keep the log continuous across a resume (module docstring).
    """

    def __init__(self, path: Path, stage: str) -> None:
        self.path = Path(path)
        self.stage = stage
        self.trainer: Any = None
        #: the step training resumed from (None: a fresh start)
        self.resumed_from: int | None = None

    def bind(self, trainer: Any) -> "JsonlLogCallback":
        self.trainer = trainer
        return self

    # ------------------------------------------------------------ resume continuity
    def on_save(self, args, state, control, **kwargs):
        trainer = self.trainer
        if trainer is None or not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not folder.is_dir():
            return
        pending = getattr(trainer, "_tr_loss", None)
        record = {
            "step": state.global_step,
            "total_loss_scalar": float(getattr(trainer, "_total_loss_scalar", 0.0)),
            # the loss summed since the last logging step, drained at the next one
            "pending_loss": float(pending.item()) if pending is not None else 0.0,
            "globalstep_last_logged": int(getattr(trainer, "_globalstep_last_logged", state.global_step)),
            "total_train_tokens": getattr(trainer, "_total_train_tokens", None),
            # TRL's per-step values (logps, rewards, entropy ...) waiting to be averaged at the next
            # logging step; they would be lost for the steps before the checkpoint
            "pending_metrics": _pending_metrics(trainer),
        }
        write_text(folder / STATE_FILE, json.dumps(record, sort_keys=True) + "\n")

    def on_train_begin(self, args, state, control, **kwargs):
        self.resumed_from = None
        trainer = self.trainer
        if trainer is None or state.global_step == 0:
            return
        saved = Path(args.output_dir) / f"checkpoint-{state.global_step}" / STATE_FILE
        try:
            record = json.loads(saved.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # a checkpoint from before this file existed: counters restart, as they used to
        if record.get("step") != state.global_step:
            return
        self.resumed_from = state.global_step
        trainer._total_loss_scalar = float(record["total_loss_scalar"])
        if getattr(trainer, "_tr_loss", None) is not None:
            trainer._tr_loss += float(record["pending_loss"])
        trainer._globalstep_last_logged = int(record["globalstep_last_logged"])
        if record.get("total_train_tokens") is not None and hasattr(trainer, "_total_train_tokens"):
            trainer._total_train_tokens = type(trainer._total_train_tokens)(record["total_train_tokens"])
        metrics = getattr(trainer, "_metrics", None)
        if record.get("pending_metrics") and isinstance(metrics, dict) and "train" in metrics:
            for key, values in record["pending_metrics"].items():
                metrics["train"][key] = list(values) + list(metrics["train"].get(key, []))

    # ------------------------------------------------------------ the log
    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.resumed_from is not None and logs and "train_loss" in logs and self.trainer is not None:
            # the Trainer divided the (restored) whole-run total by the resumed steps only
            logs["train_loss"] = self.trainer._total_loss_scalar / max(state.global_step, 0.001)
            if state.log_history and "train_loss" in state.log_history[-1]:
                state.log_history[-1]["train_loss"] = logs["train_loss"]
        if not state.is_world_process_zero or not logs:
            return
        record = {"stage": self.stage, "step": state.global_step, "epoch": state.epoch}
        record.update({k: _clean(v) for k, v in logs.items()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()


def _pending_metrics(trainer: Any) -> dict[str, list[float]] | None:
    """TRL trainers' ``_metrics["train"]``: key -> the values since the last logging step."""
    metrics = getattr(trainer, "_metrics", None)
    if not isinstance(metrics, dict) or "train" not in metrics:
        return None
    out: dict[str, list[float]] = {}
    for key, values in metrics["train"].items():
        try:
            out[str(key)] = [float(v) for v in values]
        except (TypeError, ValueError):
            return None  # not plain numbers: leave TRL's state alone
    return out


def bind_log_callbacks(trainer: Any) -> None:
    """Bind every :class:`JsonlLogCallback` of ``trainer`` to it (for resume continuity)."""
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, JsonlLogCallback):
            callback.bind(trainer)


def truncate_log(path: Path, *, max_step: int) -> None:
    """Drop records after ``max_step`` (logged by a run that was killed after its last checkpoint)."""
    path = Path(path)
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the kill
        if int(record.get("step", 0)) <= max_step:
            kept.append(line)
    write_text(path, "".join(line + "\n" for line in kept))
