"""Whether the process that claimed an import is still there: queued imports' workers and direct (CLI) runs
alike claim their job with their machine's name and their pid (plugin.ports.queue.WorkerClaim)."""

from __future__ import annotations

import os
import socket
from typing import Protocol


class Holder(Protocol):
    """A claim as it is stored: the machine and the process holding it."""

    @property
    def claim_host(self) -> str | None: ...

    @property
    def claim_pid(self) -> int | None: ...


def is_process_running(pid: int) -> bool:
    """Whether a process of this machine is alive (a zombie, killed but not yet waited for, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return True  # no /proc here: kill(0) said it exists


def holder_is_dead(job: Holder, *, host: str | None = None) -> bool:
    """A claim held by a process of this machine that is gone: its import can be taken back at once."""
    this_host = host if host is not None else socket.gethostname()
    return job.claim_host == this_host and job.claim_pid is not None and not is_process_running(job.claim_pid)
