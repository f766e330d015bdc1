"""Progress output that reads well on a terminal *and* in a log file.

- :func:`progress`: divtools' own bars. On a terminal, a tqdm bar; when stderr is not a terminal
  (CI, ``nohup``, ``2> log``), plain lines ``desc: 120/1000 prompt (12%), 31.0 s`` printed at most
  every :data:`INTERVAL_ENV` seconds (default 30) and once at the end — no carriage returns, no
  cursor codes, nothing erased. ``quiet`` or ``TQDM_DISABLE=1`` turn them off.
- :func:`configure_libraries`: the bars and warnings of transformers, datasets and
  huggingface_hub (model loading's "Loading weights", ``map`` bars, the Trainer's nested bars):
  off with ``--quiet`` (warnings too), and their bars off whenever stderr is not a terminal,
  because a nested tqdm bar leaves cursor-movement codes in a log. Set through environment
  variables (read when a library is first imported) and, for libraries already imported, their
  own switches; importing nothing itself, so a metric-only run still never loads torch.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any, TextIO

__all__ = ["INTERVAL_ENV", "LineProgress", "bars_enabled", "configure_libraries", "interactive", "progress"]

#: seconds between two plain progress lines when stderr is not a terminal
INTERVAL_ENV = "DIVTOOLS_PROGRESS_INTERVAL"
_LIBRARIES = r"(transformers|trl|peft|accelerate|datasets|huggingface_hub|torch|sentence_transformers|tokenizers)(\.|$)"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def interactive(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (default stderr) is a terminal."""
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


#: set next to TQDM_DISABLE when divtools (not the user) set it, for the libraries' bars only
_OURS = "DIVTOOLS_SET_TQDM_DISABLE"


def bars_enabled(quiet: bool = False) -> bool:
    """Whether divtools shows progress at all (not ``quiet``, not the user's ``TQDM_DISABLE``)."""
    user_disabled = _truthy(os.environ.get("TQDM_DISABLE")) and os.environ.get(_OURS) != "1"
    return not quiet and not user_disabled


class LineProgress:
    """A tqdm-like counter that prints a plain line every ``interval`` seconds and at the end."""

    def __init__(self, total: int | None, desc: str, unit: str, *, initial: int = 0,
                 interval: float | None = None, stream: TextIO | None = None, clock: Any = time.monotonic) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        if interval is None:
            try:
                interval = float(os.environ.get(INTERVAL_ENV, "30"))
            except ValueError:
                interval = 30.0
        self.interval = interval
        self._stream = stream
        self._clock = clock
        self._start = self._last = clock()
        self._closed = False

    def _line(self) -> str:
        elapsed = self._clock() - self._start
        if self.total:
            return f"{self.desc}: {self.n}/{self.total} {self.unit} ({100 * self.n / self.total:.0f}%), {elapsed:.1f} s"
        return f"{self.desc}: {self.n} {self.unit}, {elapsed:.1f} s"

    def _print(self) -> None:
        print(self._line(), file=self._stream if self._stream is not None else sys.stderr, flush=True)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self._clock()
        if now - self._last >= self.interval:
            self._last = now
            self._print()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._print()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _NoProgress:
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass

    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def progress(total: int | None, desc: str, *, unit: str = "it", quiet: bool = False, initial: int = 0,
             leave: bool = False) -> Any:
    """A progress counter with ``update(n)`` and ``close()``: a tqdm bar on a terminal, plain
    periodic lines otherwise, nothing when quiet or ``TQDM_DISABLE`` is set."""
    if not bars_enabled(quiet):
        return _NoProgress()
    if not interactive():
        return LineProgress(total, desc, unit, initial=initial)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, initial=initial, dynamic_ncols=True, leave=leave)


def configure_libraries(quiet: bool) -> None:
    """Library bars off when quiet or without a terminal; library warnings off when quiet."""
    bars = bars_enabled(quiet) and interactive()
    if not bars:
        if not _truthy(os.environ.get("TQDM_DISABLE")):
            # TRL's own bars (reference log-probs, ...) read TQDM_DISABLE; divtools' lines know it was us
            os.environ["TQDM_DISABLE"] = "1"
            os.environ[_OURS] = "1"
        os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # huggingface_hub, and transformers through it
        os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
        if "huggingface_hub" in sys.modules:
            sys.modules["huggingface_hub"].utils.disable_progress_bars()
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.disable_progress_bar()
        if "datasets" in sys.modules:
            sys.modules["datasets"].disable_progress_bars()
    elif os.environ.get(_OURS) == "1":  # an earlier run in this process set it
        os.environ.pop("TQDM_DISABLE", None)
        os.environ.pop(_OURS, None)
    if quiet:
        os.environ["TRANSFORMERS_VERBOSITY"] = "error"
        os.environ["TRANSFORMERS_NO_ADVISORY_WARNINGS"] = "1"
        os.environ.setdefault("DATASETS_VERBOSITY", "error")
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.set_verbosity_error()
        if "datasets" in sys.modules:
            sys.modules["datasets"].utils.logging.set_verbosity_error()
        # divtools itself warns through messages, never the warnings module: deprecation notices
        # are the libraries'; UserWarnings only where a library module issues them
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("ignore", category=UserWarning, module=_LIBRARIES)
