"""What the CLI prints for an exception: ``FILE: field: message`` and exit 2, never a secret.

divtools' own :class:`~divtools.errors.UserError` already reads ``FILE: field: message``. Some
problems of the user's input or machine surface as standard exceptions from deep inside a
library, and are mapped here instead of showing a traceback (the readers catch what they can
name a line for; this is the net under them):

- ``RecursionError``: an input nested deeper than Python can walk;
- ``OverflowError``: a number too large for a float;
- ``ValueError`` of Python's 4,300-digit limit on integer text (CVE-2020-10735);
- transformers refusing a model folder that asks for its own code without ``trust_remote_code``;
- torch refusing a code-running pickle in a checkpoint (the message never suggests loading it anyway);
- ``OSError`` of a full disk (``ENOSPC``, ``EDQUOT``), a read-only file system (``EROFS``), a
  name too long (``ENAMETOOLONG``) or a refused permission: ``FILE: message: fix``, where FILE is
  the path the operating system names (``divtools.atomic`` adds it to errors of the writes it does).

Everything printed goes through :func:`divtools.redact.redact`. Anything else is a bug of
divtools and keeps its traceback (redacted too, see :func:`print_traceback`).
"""

from __future__ import annotations

import errno
import re
import sys
import traceback

from divtools.errors import DivtoolsError
from divtools.redact import redact

__all__ = ["REFUSED_PICKLE", "REMOTE_CODE", "print_traceback", "refused_pickle", "user_message"]

_OS_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space (or choose an output.dir on another disk) "
                  "and run again: the run resumes",
    errno.EDQUOT: "disk quota exceeded; free some space and run again: the run resumes",
    errno.EROFS: "the file system is read-only; choose an output.dir (or DIVTOOLS_CACHE) where divtools may write",
    errno.ENAMETOOLONG: "a file or folder name is too long (at most 255 bytes per name); choose a shorter output.dir",
    errno.EACCES: "permission denied; choose a folder where divtools may write, or fix its permissions",
    errno.EPERM: "operation not permitted; choose a folder where divtools may write, or fix its permissions",
}


#: a model folder whose config names its own Python code (``auto_map``), loaded without trust_remote_code
REMOTE_CODE = ("the model asks to run its own Python code to load (an auto_map in its config); divtools runs no "
               "model code unless the spec sets trust_remote_code: true on this model, which you should do only "
               "for code you have read and trust")
#: never suggests loading the file anyway: the pickle would run its code
REFUSED_PICKLE = ("a checkpoint or model file holds a pickle that would run code when loaded, and it was refused "
                  "(divtools loads only plain tensors and values). Delete that file, or the checkpoint folder "
                  "holding it (a resumed run then starts from an earlier checkpoint), or set "
                  "output.on_existing: restart")


def refused_pickle(exc: BaseException) -> bool:
    """torch refusing a pickle that calls code (``torch.load(..., weights_only=True)``)."""
    return type(exc).__name__ == "UnpicklingError" and "Weights only load failed" in str(exc)


def user_message(exc: BaseException) -> str | None:
    """The redacted one-line message for an exception that is the user's to fix, else None."""
    if isinstance(exc, DivtoolsError):
        return redact(str(exc))
    if isinstance(exc, RecursionError):
        return ("divtools: input nested too deeply: a spec, --set value or data line holds more levels of "
                "lists/mappings than divtools reads; flatten it")
    if isinstance(exc, OverflowError):
        return redact(f"divtools: a number is too large ({exc}); use a value within the float range (about 1.8e308)")
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return ("divtools: an integer has more than 4300 digits, which Python refuses to read; "
                "use a smaller number (or a float)")
    if isinstance(exc, ValueError) and "contains custom code which must be executed" in str(exc):
        found = re.search(r"The repository `?(\S+?)`? contains custom code", str(exc))
        return redact(f"{found.group(1) if found else 'divtools'}: model: {REMOTE_CODE}")
    if refused_pickle(exc):
        return f"divtools: {REFUSED_PICKLE}"
    if isinstance(exc, OSError) and exc.errno in _OS_HINTS:
        where = exc.filename if exc.filename is not None else "divtools"
        return redact(f"{where}: {_OS_HINTS[exc.errno]}")
    return None


def print_traceback(exc: BaseException) -> None:
    """A divtools bug: the traceback, redacted (a secret may sit in a local variable's repr)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    print(redact(text), file=sys.stderr, end="", flush=True)
