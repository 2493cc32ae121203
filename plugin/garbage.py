"""The cycle collector waits while an import's rows are worked on, and collects once after each batch.

An import makes millions of small objects (cells, values, planned rows) that reference counting frees at once;
the cycle collector, run by allocation counts, kept walking them anyway: about 5 µs a row on a first import
and 9 on a re-import of 100,000 customers (issue 14). Paused for a batch, every object the batch made is still
in the youngest generation at its end, so one young collection there finds any cycle it left: memory stays
bounded by a batch, whatever the file's size.

The collector is the process's: imports running in several threads at once pause it together, and it runs
again when the last of them leaves (unless something else had turned it off before).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pausing = 0  # imports running now, in all threads
_was_enabled = False  # the collector's state before the first of them
_batches = 0  # batches done while paused, in this process
FULL_EVERY = 100


@contextmanager
def collector_paused() -> Iterator[None]:
    """Around an import: no automatic collection inside; call batch_done() after each batch."""
    global _pausing, _was_enabled
    with _lock:
        if _pausing == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausing += 1
    try:
        yield
    finally:
        with _lock:
            _pausing -= 1
            if _pausing == 0 and _was_enabled:
                gc.enable()


def batch_done() -> None:
    """A young collection, cheap: what is still in the youngest generation was made since the last batch. Every
    FULL_EVERY batches a full one, for a process whose imports overlap so that the collector never runs again."""
    global _batches
    if _pausing:
        _batches += 1
        gc.collect(2 if _batches % FULL_EVERY == 0 else 0)
