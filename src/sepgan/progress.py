"""Progress of long commands: a tqdm bar on a terminal, plain periodic lines anywhere else.

A bar is redrawn with ``\\r``; written into a pipe, a log file or a CI log it becomes
one line that grows by a copy of the bar at every redraw. So :func:`progress_bar`
returns a tqdm bar only when stderr is a terminal, and otherwise a
:class:`ProgressLines`, which answers the same calls (iteration, ``update``,
``set_postfix``, ``set_postfix_str``, ``write``, ``close``, ``with``) and prints a
plain line such as ``prepare: 120 triplets, 3.1/s, 39 s, clip07`` at most every
``interval`` seconds, and once more when it closes. Used by ``prepare``,
``evaluate``, ``compare`` and ``train``; ``interpolate``'s bar hides itself off a
terminal (its summary line says what was made).

Torch-free; tqdm is imported only when a bar is made.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

__all__ = ["PROGRESS_INTERVAL_SECONDS", "ProgressLines", "progress_bar"]

PROGRESS_INTERVAL_SECONDS = 30.0  # between two plain progress lines


class ProgressLines:
    """tqdm's interface, printing one plain line per ``interval`` seconds (and at :meth:`close`)."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        initial: int = 0,
        desc: str = "",
        unit: str = "it",
        interval: float = PROGRESS_INTERVAL_SECONDS,
        file: IO[str] | None = None,
    ) -> None:
        self.iterable = iterable
        self.total = total
        self.n = initial
        self.desc = desc
        self.unit = unit
        self.interval = interval
        self.file = file
        self.postfix = ""
        self._initial = initial
        self._started = self._printed_at = time.monotonic()
        self._printed_n = initial
        self._closed = False

    def _stream(self) -> IO[str]:
        return self.file if self.file is not None else sys.stderr  # as it is now (tests capture it)

    def __iter__(self) -> Iterator:
        assert self.iterable is not None, "ProgressLines(iterable) to iterate"
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self._printed_at >= self.interval:
            self._print()

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        self.postfix = text

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def refresh(self) -> None:
        """Nothing to redraw: lines are printed as time passes."""

    def write(self, line: str, file: IO[str] | None = None) -> None:
        print(line, file=file if file is not None else self._stream(), flush=True)

    def line(self) -> str:
        """The progress line as of now: count (of the total), rate, elapsed time, postfix."""
        elapsed = time.monotonic() - self._started
        count = f"{self.n}/{self.total}" if self.total else str(self.n)
        parts = [f"{count} {self.unit}s"]
        if elapsed > 0 and self.n > self._initial:
            parts.append(f"{(self.n - self._initial) / elapsed:.3g}/s")
        parts.append(f"{elapsed:.0f} s")
        if self.postfix:
            parts.append(self.postfix)
        return f"{self.desc}: " + ", ".join(parts) if self.desc else ", ".join(parts)

    def _print(self) -> None:
        self.write(self.line())
        self._printed_at = time.monotonic()
        self._printed_n = self.n

    def close(self) -> None:
        if not self._closed and self.n != self._printed_n:
            self._print()
        self._closed = True


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    initial: int = 0,
    desc: str = "",
    unit: str = "it",
    enabled: bool = True,
    interval: float = PROGRESS_INTERVAL_SECONDS,
) -> Any:
    """A tqdm bar if ``enabled`` and stderr is a terminal, :class:`ProgressLines` if ``enabled`` and it
    is not, a silent (disabled) tqdm bar otherwise; each takes the same calls."""
    from tqdm import tqdm

    if enabled and not sys.stderr.isatty():
        return ProgressLines(iterable, total=total, initial=initial, desc=desc, unit=unit, interval=interval)
    return tqdm(
        iterable, total=total, initial=initial, desc=desc, unit=unit, disable=not enabled, dynamic_ncols=True
    )
