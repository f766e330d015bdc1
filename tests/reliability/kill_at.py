"""Run the divtools CLI and SIGKILL this very process at a chosen point (for the kill-and-rerun tests).

The point comes from the environment, so the tests pick it (seeded) without touching divtools:

- ``KILL_AT_REPLACE=N`` and ``KILL_WHEN=before|after``: at the N-th ``os.replace`` (every atomic
  write in divtools publishes its file with one), before or after the rename;
- ``KILL_AT_STEP=N``: at the end of training step N (a transformers callback added to each stage);
  with ``KILL_STAGE_DIR=text``, only in stages whose folder path contains ``text`` (e.g.
  ``round-2`` of ``run: online``);
- ``KILL_IN_SAVE=1``: inside the first checkpoint save, after the weights and optimizer are
  written and before ``trainer_state.json`` (a half-written checkpoint folder);
- ``KILL_AT_GENERATE=N``: when a generation backend is called for the N-th time;
- ``COUNT_FILE=path``: at a normal exit, write how many ``os.replace`` calls there were.

SIGKILL cannot be caught: no ``finally``, no ``atexit``, no flush — what a crash or an OOM killer does.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys

_real_replace = os.replace
_count = 0


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _replace(src, dst, *args, **kwargs):
    global _count
    _count += 1
    at = int(os.environ.get("KILL_AT_REPLACE", "0"))
    when = os.environ.get("KILL_WHEN", "after")
    if _count == at and when == "before":
        _die()
    result = _real_replace(src, dst, *args, **kwargs)
    if _count == at and when == "after":
        _die()
    return result


def _write_count() -> None:
    path = os.environ.get("COUNT_FILE")
    if path:
        with open(path, "w") as fh:
            fh.write(str(_count))


def _patch_train() -> None:
    step = int(os.environ.get("KILL_AT_STEP", "0"))
    in_save = os.environ.get("KILL_IN_SAVE") == "1"
    if not (step or in_save):
        return
    import transformers

    from divtools.train import stages

    only_in = os.environ.get("KILL_STAGE_DIR", "")
    if step:
        class KillAtStep(transformers.TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == step:
                    _die()

        real_callbacks = stages._callbacks
        def callbacks(stage_dir, stage, extra):
            found = real_callbacks(stage_dir, stage, extra)
            return [*found, KillAtStep()] if only_in in str(stage_dir) else found

        stages._callbacks = callbacks
    if in_save:
        def save_rng_state(self, output_dir):
            _die()

        transformers.Trainer._save_rng_state = save_rng_state


def _patch_generate() -> None:
    at = int(os.environ.get("KILL_AT_GENERATE", "0"))
    if not at:
        return
    from divtools.generation import driver

    real = driver.generate_to_jsonl
    calls = [0]

    def generate_to_jsonl(backend, *args, **kwargs):
        generate = backend.generate

        def counted(*a, **k):
            calls[0] += 1
            if calls[0] == at:
                _die()
            return generate(*a, **k)

        backend.generate = counted
        return real(backend, *args, **kwargs)

    driver.generate_to_jsonl = generate_to_jsonl


if __name__ == "__main__":
    os.replace = _replace
    atexit.register(_write_count)
    _patch_train()
    _patch_generate()
    from divtools.cli.main import main

    main(sys.argv[1:])
