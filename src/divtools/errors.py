"""Exceptions divtools raises on purpose.

A ``UserError`` is a mistake the user can fix (bad spec, bad data file, missing path). The CLI
prints it as ``FILE: field: what is wrong`` and exits with code 2, without a traceback.
"""

from __future__ import annotations

__all__ = ["DEBUG_ENV", "DivtoolsError", "UserError", "NotImplementedYet", "StageFailed", "EXIT_USER_ERROR"]

EXIT_USER_ERROR = 2
#: set to 1 (``divtools run --debug`` does) to see the traceback of a failure inside a trainer
DEBUG_ENV = "DIVTOOLS_DEBUG"


class DivtoolsError(Exception):
    """Base class of divtools' own exceptions."""


class UserError(DivtoolsError):
    """Bad input: the message names the file, the field and the fix."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.file = file
        self.field = field
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        parts = [p for p in (self.file, self.field) if p]
        return ": ".join([*parts, self.message])


class NotImplementedYet(DivtoolsError, NotImplementedError):
    """A documented feature that this version does not implement; says so instead of pretending."""


class StageFailed(DivtoolsError):
    """A library (a TRL trainer, a model) failed inside a run's stage: the message names the
    stage and the spec field to check; the original exception is its ``__cause__``."""
