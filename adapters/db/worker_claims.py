"""Which worker runs a queued import: its claim, its heartbeat, letting go, and the reaper's view of the imports
nobody runs any more (the queue itself: adapters/db/import_queue.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Connection, func, or_, select, update

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.import_queue import UNFINISHED, web_queued_imports
from adapters.db.models import import_jobs
from plugin.ports.queue import ClaimedJob, WorkerClaim  # noqa: F401  (handed out here)

Clock = Callable[[], datetime]


def claim_job(bind: Bind, job_id: int, claim: WorkerClaim, *, stale_before: datetime,
              is_dead: Callable[[ClaimedJob], bool], now: Clock = utc_now) -> bool:
    """Take an unfinished import for this worker, in one UPDATE ... WHERE nobody live holds it: unclaimed, or
    its holder's heartbeat older than stale_before, or its holder known dead (`is_dead`). False when another
    worker holds it, or it is finished."""
    with writing(bind) as connection:
        found = _claimed_job(connection, job_id)
        if found is None or found.status not in UNFINISHED:
            return False
        free = [import_jobs.c.claimed_by.is_(None), import_jobs.c.heartbeat_at.is_(None),
                import_jobs.c.heartbeat_at < stale_before]
        if found.claimed_by is not None and is_dead(found):
            free.append(import_jobs.c.claimed_by == found.claimed_by)
        result = connection.execute(update(import_jobs).where(
            import_jobs.c.id == job_id, import_jobs.c.status.in_(UNFINISHED), or_(*free)).values(
            claimed_by=claim.token, claim_host=claim.host, claim_pid=claim.pid, heartbeat_at=now()))
        if result.rowcount != 1:
            return False
        connection.execute(update(web_queued_imports).where(web_queued_imports.c.job_id == job_id)
                           .values(attempts=web_queued_imports.c.attempts + 1))
        return True


def refresh_heartbeat(bind: Bind, job_id: int, token: str, *, now: Clock = utc_now) -> bool:
    """The running import is alive; False when its claim is no longer this worker's."""
    with writing(bind) as connection:
        return connection.execute(update(import_jobs)
                                  .where(import_jobs.c.id == job_id, import_jobs.c.claimed_by == token)
                                  .values(heartbeat_at=now())).rowcount == 1


def release_claim(bind: Bind, job_id: int, token: str, *, was_stopped: bool = False) -> None:
    """Let go of an import this worker ran; `was_stopped` (a graceful shutdown, not a failure) does not count
    as one of its attempts."""
    with writing(bind) as connection:
        released = connection.execute(update(import_jobs)
                                      .where(import_jobs.c.id == job_id, import_jobs.c.claimed_by == token)
                                      .values(claimed_by=None, claim_host=None, claim_pid=None)).rowcount
        if released and was_stopped:
            connection.execute(update(web_queued_imports)
                               .where(web_queued_imports.c.job_id == job_id, web_queued_imports.c.attempts > 0)
                               .values(attempts=web_queued_imports.c.attempts - 1))


def orphaned_jobs(bind: Bind, *, stale_before: datetime, is_dead: Callable[[ClaimedJob], bool]) -> list[ClaimedJob]:
    """Unfinished queued imports nobody is running: their worker is known dead, or they went quiet (no
    heartbeat, or queued with no worker taking them) since before stale_before."""
    with reading(bind) as connection:
        rows = connection.execute(_claimed_jobs_query().where(import_jobs.c.status.in_(UNFINISHED))
                                  .order_by(import_jobs.c.id)).all()
    jobs = [_as_claimed_job(row) for row in rows]
    return [job for job in jobs if _is_quiet(job, stale_before) or (job.claimed_by is not None and is_dead(job))]


def take_back_orphan(bind: Bind, job: ClaimedJob, *, stale_before: datetime, is_dead: bool,
                     now: Clock = utc_now) -> bool:
    """Clear an orphan's claim and restart its quiet time, if it is still as the reaper saw it: of the reapers
    that see it at once, one gets True (and enqueues it again)."""
    held = (import_jobs.c.claimed_by.is_(None) if job.claimed_by is None
            else import_jobs.c.claimed_by == job.claimed_by)
    conditions = [import_jobs.c.id == job.job_id, import_jobs.c.status == job.status, held]
    if not is_dead:
        quiet = import_jobs.c.heartbeat_at < stale_before
        conditions.append(quiet if job.status != "queued" else or_(import_jobs.c.heartbeat_at.is_(None), quiet))
    with writing(bind) as connection:
        return connection.execute(update(import_jobs).where(*conditions).values(
            claimed_by=None, claim_host=None, claim_pid=None, heartbeat_at=now())).rowcount == 1


def unqueued_orphans(connection: Connection, *, stale_before: datetime,
                     is_dead: Callable[[ClaimedJob], bool]) -> list[ClaimedJob]:
    """Unfinished imports run directly (the CLI: claimed by their own process, never queued) whose process is
    gone: known dead, or quiet since before stale_before. Nobody will resume them."""
    rows = connection.execute(_claimed_jobs_query(queued=False).where(import_jobs.c.status.in_(UNFINISHED))
                              .order_by(import_jobs.c.id)).all()
    jobs = [_as_claimed_job(row) for row in rows]
    return [job for job in jobs if job.claimed_by is not None and (is_dead(job) or _is_quiet(job, stale_before))]


def _is_quiet(job: ClaimedJob, stale_before: datetime) -> bool:
    return job.quiet_since is None or _aware(job.quiet_since) < stale_before


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite drops the zone


def _claimed_jobs_query(*, queued: bool = True):  # type: ignore[no-untyped-def]
    """Queued imports with their claims; with queued=False, the imports that were never queued (run directly)."""
    query = select(import_jobs.c.id, import_jobs.c.status, import_jobs.c.claimed_by, import_jobs.c.claim_host,
                   import_jobs.c.claim_pid,
                   func.coalesce(import_jobs.c.heartbeat_at, web_queued_imports.c.enqueued_at),
                   func.coalesce(web_queued_imports.c.attempts, 0))
    if queued:
        return query.join(web_queued_imports, web_queued_imports.c.job_id == import_jobs.c.id)
    return (query.outerjoin(web_queued_imports, web_queued_imports.c.job_id == import_jobs.c.id)
            .where(web_queued_imports.c.job_id.is_(None)))


def _as_claimed_job(row: object) -> ClaimedJob:
    job_id, status, claimed_by, host, pid, quiet_since, attempts = row  # type: ignore[misc]
    return ClaimedJob(job_id, status, claimed_by, host, pid, quiet_since, attempts)


def _claimed_job(connection: Connection, job_id: int) -> ClaimedJob | None:
    found = connection.execute(_claimed_jobs_query().where(import_jobs.c.id == job_id)).one_or_none()
    return None if found is None else _as_claimed_job(found)


class SqlWorkerClaims:
    """plugin.ports.queue.WorkerClaims on one unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, job_id: int, claim: WorkerClaim, *, stale_before: datetime,
              is_dead: Callable[[ClaimedJob], bool]) -> bool:
        return claim_job(self.connection, job_id, claim, stale_before=stale_before, is_dead=is_dead)

    def refresh_heartbeat(self, job_id: int, token: str) -> bool:
        return refresh_heartbeat(self.connection, job_id, token)

    def release(self, job_id: int, token: str, *, was_stopped: bool = False) -> None:
        release_claim(self.connection, job_id, token, was_stopped=was_stopped)

    def orphans(self, *, stale_before: datetime, is_dead: Callable[[ClaimedJob], bool]) -> list[ClaimedJob]:
        return orphaned_jobs(self.connection, stale_before=stale_before, is_dead=is_dead)

    def take_back(self, job: ClaimedJob, *, stale_before: datetime, is_dead: bool) -> bool:
        return take_back_orphan(self.connection, job, stale_before=stale_before, is_dead=is_dead)
