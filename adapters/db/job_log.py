"""SqlJobLog: plugin.ports.JobLog on one connection (one unit of work's transaction)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime

from sqlalchemy import Connection, Row, func, select, update

from adapters.db.catalog import utc_now
from adapters.db.models import import_jobs, import_rows
from adapters.db.import_queue import UNFINISHED
from adapters.db.worker_claims import unqueued_orphans
from adapters.processes import holder_is_dead
from plugin.errors import RowError
from plugin.ports import AbandonedRun, JobSummary
from plugin.undo import UndoTally


class SqlJobLog:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def list_jobs(self, *, limit: int = 50, kinds: Collection[str] | None = None,
                  include_previews: bool = False, offset: int = 0) -> list[JobSummary]:
        query = select(import_jobs)
        if kinds is not None:
            query = query.where(import_jobs.c.kind.in_(list(kinds)))
        if not include_previews:
            query = query.where(import_jobs.c.is_dry_run.is_(False))
        rows = self.connection.execute(query.order_by(import_jobs.c.id.desc()).offset(offset)
                                       .limit(limit)).all()
        return [job_summary(job) for job in rows]

    def get_job(self, job_id: int) -> JobSummary | None:
        job = self.connection.execute(select(import_jobs).where(import_jobs.c.id == job_id)).one_or_none()
        return None if job is None else job_summary(job)

    def failed_rows(self, job_id: int) -> Iterator[tuple[tuple[str, ...], list[RowError]]]:
        result = self.connection.execution_options(stream_results=True, yield_per=1000).execute(
            select(import_rows.c.cells, import_rows.c.errors).where(import_rows.c.job_id == job_id,
                                                                    import_rows.c.action == "failed")
            .order_by(import_rows.c.row))
        for cells, errors in result:
            yield tuple(cells or ()), [RowError(**error) for error in errors or ()]

    def row_results(self, job_id: int, *, offset: int = 0, limit: int = 50,
                    actions: Collection[str] | None = None) -> list[dict[str, object]]:
        query = select(import_rows).where(import_rows.c.job_id == job_id)
        if actions is not None:
            query = query.where(import_rows.c.action.in_(list(actions)))
        rows = self.connection.execute(query.order_by(import_rows.c.row).offset(offset).limit(limit)).all()
        return [{"row": row.row, "action": row.action, "record_id": row.record_id, "changes": row.changes or [],
                 "errors": row.errors or []} for row in rows]

    def abandoned_runs(self, *, quiet_since: datetime) -> list[AbandonedRun]:
        orphans = {job.job_id: job for job in unqueued_orphans(self.connection, stale_before=quiet_since,
                                                               is_dead=holder_is_dead)}
        if not orphans:
            return []
        found = self.connection.execute(select(import_jobs.c.id, import_jobs.c.is_dry_run, import_jobs.c.rows_done)
                                        .where(import_jobs.c.id.in_(list(orphans)))).all()
        return [AbandonedRun(job_id, bool(is_dry_run), rows_done or 0,
                             f"pid {orphans[job_id].claim_pid} on {orphans[job_id].claim_host}",
                             str(orphans[job_id].claimed_by))
                for job_id, is_dry_run, rows_done in found]

    def end_abandoned_run(self, run: AbandonedRun, *, message: str, error_code: str) -> bool:
        counts = dict(self.connection.execute(select(import_rows.c.action, func.count()).where(
            import_rows.c.job_id == run.job_id).group_by(import_rows.c.action)).all())
        applied = {"rows_done": 0} if run.is_dry_run else {
            "rows_done": sum(counts.values()), "created": counts.get("created", 0), "updated": counts.get("updated", 0),
            "unchanged": counts.get("unchanged", 0), "failed": counts.get("failed", 0)}
        return self.connection.execute(update(import_jobs).where(
            import_jobs.c.id == run.job_id, import_jobs.c.status.in_(UNFINISHED),
            import_jobs.c.claimed_by == run.claimed_by,
        ).values(status="failed", message=message, error_code=error_code, finished_at=utc_now(), claimed_by=None,
                 claim_host=None, claim_pid=None, **applied)).rowcount == 1


def job_summary(job: Row) -> JobSummary:
    return JobSummary(job.id, job.kind, job.status, job.actor, job.file_name, job.created_at, job.finished_at,
                      job.total, job.rows_done, job.created, job.updated, job.unchanged, job.failed, job.message,
                      job.error_code, tuple(job.headers or ()), tuple(job.mapping or ()), dict(job.options or {}),
                      job.operation, UndoTally(job.removed, job.deactivated, job.restored, job.left_alone),
                      job.rows_seen or 0, job.started_at, job.progress_at)
