"""Spec sections shared by every run kind."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from divtools.spec.base import SpecModel, SpecPath

__all__ = ["OutputSpec"]


class OutputSpec(SpecModel):
    """Where a run writes its files."""

    dir: SpecPath
    """Output directory (relative paths resolve against the spec file's folder)."""
    on_existing: Literal["resume", "restart", "error"] = "resume"
    """If the directory holds an earlier run of the *same* spec: continue it (resume), wipe it
    (restart) or stop (error). A directory holding a *different* spec's run is never mixed in:
    divtools stops unless on_existing is restart."""
    formats: list[Literal["jsonl", "parquet"]] = Field(default_factory=lambda: ["jsonl"])
    """Dataset file formats, where the run writes a dataset."""
