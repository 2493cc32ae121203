"""How far an import is, as people read it: percent, rows done of all, rows a second and the time left.

The one place these figures are worked out; the result page, the API's job JSON and the CLI's progress line
all show `ImportProgress`. A running import's figures come from its *display progress*: rows seen so far,
including rows of the current batch a slow step (hashing passwords) has prepared but not yet committed, and
when that was last said. It is for reading only; resuming an interrupted import goes by the rows committed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# How often, at most, a step inside a batch says how far it is (each saying is a short write).
REPORT_EVERY_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Rows done of all, a percentage, rows a second and seconds left (None while there is no rate yet)."""

    done: int
    total: int
    percent: int
    rows_per_second: float | None = None
    seconds_left: int | None = None
    is_finished: bool = False

    @property
    def rate_text(self) -> str:
        """'12 rows/s', '0.4 rows/s'; '' while there is no rate yet."""
        if self.rows_per_second is None:
            return ""
        rate = self.rows_per_second
        return f"{rate:,.1f} rows/s" if rate < 10 else f"{rate:,.0f} rows/s"

    @property
    def eta_text(self) -> str:
        """'about 40 s left', 'about 3 min left'; 'estimating…' until the first figures arrive; 'done'."""
        if self.is_finished:
            return "done"
        seconds = self.seconds_left
        if seconds is None:
            return "estimating…"
        if seconds == 0:
            return "finishing…"  # every row seen; the last commit and the report are being written
        return f"about {seconds} s left" if seconds < 60 else f"about {math.ceil(seconds / 60)} min left"

    @property
    def text(self) -> str:
        """The whole line, for a progress bar's accessible text and the terminal:
        '42% · 126 of 300 rows · 3.1 rows/s · about 56 s left'."""
        parts = [f"{self.percent}%", f"{self.done:,} of {self.total:,} rows"]
        if self.rate_text and not self.is_finished:
            parts.append(self.rate_text)
        parts.append(self.eta_text)
        return " · ".join(parts)

    def as_dict(self) -> dict[str, object]:
        """The API's `progress` object."""
        return {"done": self.done, "total": self.total, "percent": self.percent, "eta_seconds": self.seconds_left,
                "rows_per_second": None if self.rows_per_second is None else round(self.rows_per_second, 2),
                "rate_text": self.rate_text, "eta_text": self.eta_text, "text": self.text}


def measure_progress(done: int, total: int, *, elapsed: float | None, since_measured: float = 0.0,
                     is_finished: bool = False) -> ImportProgress:
    """The figures of an import that had done `done` of `total` rows `elapsed` seconds after it started running,
    `since_measured` seconds ago. The rate is the whole run's (rows done over time taken), so one slow batch
    does not swing it; the time left counts down from that measure until the next one arrives, never below 1 s
    while rows remain. `elapsed` None: the start time is not known, so there is no rate."""
    if is_finished:
        return ImportProgress(done, total, 100, seconds_left=0, is_finished=True)
    done = min(done, total) if total else done
    percent = min(math.floor(100 * done / total), 99) if total else 0
    if elapsed is None or elapsed <= 0 or done <= 0:
        return ImportProgress(done, total, percent)
    rate = done / elapsed
    left = max(total - done, 0) / rate - max(since_measured, 0.0)
    return ImportProgress(done, total, percent, rate, max(math.ceil(left), 1 if done < total else 0))


def at_most_every(interval: float, sink: Callable[[int, int], object], *,
                  clock: Callable[[], float] = time.monotonic) -> Callable[[int, int], None]:
    """`sink`, called at most once every `interval` seconds: the sayings in between are dropped (the batch's
    commit says where it ended). The first is passed at once, so the first figures arrive early."""
    last = [-math.inf]

    def throttled(done: int, total: int) -> None:
        now = clock()
        if now - last[0] >= interval:
            last[0] = now
            sink(done, total)

    return throttled
