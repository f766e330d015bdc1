"""Stopping a training run in the middle, in-process: a callback that raises after a given step
(the kill-and-resume tests of tests/train and tests/realmodel)."""

from __future__ import annotations


class Killed(Exception):
    pass


def killer(at_step: int):
    """A callback that stops training by an exception right after step ``at_step``."""
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == at_step:
                raise Killed(f"killed after step {at_step}")

    return Kill()
