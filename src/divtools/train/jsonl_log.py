"""A Trainer callback that appends every log record to a JSONL file (main process only)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from divtools.atomic import write_text

__all__ = ["JsonlLogCallback", "truncate_log"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class JsonlLogCallback(TrainerCallback):
    """One JSON object per ``Trainer.log`` call: ``{"stage", "step", "epoch", ...metrics}``."""

    def __init__(self, path: Path, stage: str) -> None:
        self.path = Path(path)
        self.stage = stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"stage": self.stage, "step": state.global_step, "epoch": state.epoch}
        record.update({k: _clean(v) for k, v in logs.items()})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()


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
