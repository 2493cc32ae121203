"""What running queued imports needs, bound to one unit of work: a worker's claim on an import, its heartbeat,
letting go, and the imports nobody runs any more (the reaper's)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class WorkerClaim:
    """Who runs an import: a token of this run's own, and the machine and process it runs in."""

    token: str
    host: str
    pid: int

    @classmethod
    def for_this_process(cls) -> WorkerClaim:
        return cls(secrets.token_hex(16), socket.gethostname(), os.getpid())


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """An unfinished queued import as the reaper sees it: who claims it, and since when it was quiet."""

    job_id: int
    status: str
    claimed_by: str | None
    claim_host: str | None
    claim_pid: int | None
    quiet_since: datetime | None  # the last heartbeat, or when it was queued
    attempts: int

class WorkerClaims(Protocol):
    def claim(self, job_id: int, claim: WorkerClaim, *, stale_before: datetime,
              is_dead: Callable[[ClaimedJob], bool]) -> bool:
        """Take an unfinished import for this worker unless someone live holds it; False when another does,
        or it is finished."""
        ...

    def refresh_heartbeat(self, job_id: int, token: str) -> bool:
        """The running import is alive; False when its claim is no longer this worker's."""
        ...

    def release(self, job_id: int, token: str, *, was_stopped: bool = False) -> None: ...

    def orphans(self, *, stale_before: datetime, is_dead: Callable[[ClaimedJob], bool]) -> list[ClaimedJob]:
        """Unfinished queued imports nobody is running."""
        ...

    def take_back(self, job: ClaimedJob, *, stale_before: datetime, is_dead: bool) -> bool:
        """Clear an orphan's claim if it is still as seen: of the reapers that see it at once, one gets True."""
        ...
