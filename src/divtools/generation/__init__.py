"""Generation: backends that sample K responses per prompt, and the driver that writes them to a
resumable JSONL file. Nothing heavy is imported here; backends import torch/transformers when
they are built.
"""

from __future__ import annotations

__all__ = ["generate_to_jsonl", "read_generations"]


def __getattr__(name: str):
    if name in __all__:
        from divtools.generation import driver

        return getattr(driver, name)
    raise AttributeError(f"module 'divtools.generation' has no attribute '{name}'")
