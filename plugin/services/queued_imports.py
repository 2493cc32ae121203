"""QueuedImports: a worker's hold on the imports it runs (claim, heartbeat, letting go) and the reaper's view of
the imports nobody runs any more. Reached as services.queued_imports; the queue itself is the adapters'."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from plugin.ports.queue import ClaimedJob, WorkerClaim
from plugin.report import ImportReport

if TYPE_CHECKING:
    from plugin.services import Services


class QueuedImports:
    """The claim use cases; each is one short transaction of its own."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def claim(self, job_id: int, claim: WorkerClaim, *, stale_before: datetime,
              is_dead: Callable[[ClaimedJob], bool]) -> bool:
        """Take an unfinished import for this worker; False when someone live holds it, or it is finished."""
        with self.services.unit_of_work() as work:
            taken = work.claims.claim(job_id, claim, stale_before=stale_before, is_dead=is_dead)
            work.commit()
        return taken

    def heartbeat(self, job_id: int, token: str) -> bool:
        """The running import is alive; False when its claim is no longer this worker's."""
        with self.services.unit_of_work() as work:
            alive = work.claims.refresh_heartbeat(job_id, token)
            work.commit()
        return alive

    def release(self, job_id: int, token: str, *, was_stopped: bool = False) -> None:
        """Let go of an import this worker ran; `was_stopped` (a graceful shutdown) is not one of its attempts."""
        with self.services.unit_of_work() as work:
            work.claims.release(job_id, token, was_stopped=was_stopped)
            work.commit()

    def fail(self, report: ImportReport) -> None:
        """End a queued import that could not run to its end (its upload is gone, or a bug stopped it): record
        how it ended and queue its notices, as an import that ends by itself does (services.imports)."""
        if report.job is None:
            return
        self.services.store.finish_job(report.job, report)
        self.services.notices.job_finished(report.job)

    def orphans(self, *, stale_before: datetime, is_dead: Callable[[ClaimedJob], bool]) -> list[ClaimedJob]:
        """Unfinished queued imports nobody runs: their worker is known dead, or quiet since stale_before."""
        with self.services.unit_of_work() as work:
            return work.claims.orphans(stale_before=stale_before, is_dead=is_dead)

    def take_back(self, job: ClaimedJob, *, stale_before: datetime, is_dead: bool) -> bool:
        """Clear an orphan's claim if it is still as seen; of the reapers that see it at once, one gets True."""
        with self.services.unit_of_work() as work:
            taken = work.claims.take_back(job, stale_before=stale_before, is_dead=is_dead)
            work.commit()
        return taken
