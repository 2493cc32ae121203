"""History: past jobs, one job, its per-row results and its error report."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from plugin.ended_early import INTERRUPTED, interrupted_message
from plugin.errors import RowError
from plugin.ports import JobSummary
from plugin.report import ERRORS_KEPT_IN_REPORT, error_report_rows, write_csv
from plugin.services.shown import Page, ShownRow, shown_rows

ROW_FILTERS = {"failed": ("failed",), "changed": ("created", "updated")}  # the result pages' "Show: ..." choices

if TYPE_CHECKING:
    from plugin.services import Services


class UnknownJob(LookupError):
    """No job has that number."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"There is no import {job_id}.")
        self.job_id = job_id


class History:
    """The history use cases; reached as services.history."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def list_jobs(self, *, limit: int = 50, kinds: Collection[str] | None = None, previews: bool = False,
                  offset: int = 0) -> list[JobSummary]:
        """The latest imports (and undos), newest first; only of `kinds` when given (what a person may see).

        Previews (dry runs) are not imports: they are left out unless `previews` asks for them. They keep their
        job numbers (a preview is a job the workers run), so the numbers of imports can skip."""
        self.end_abandoned_runs()
        with self.services.unit_of_work() as work:
            return work.jobs.list_jobs(limit=limit, kinds=kinds, include_previews=previews, offset=offset)

    def jobs_page(self, *, page: int = 1, per_page: int = 50, kinds: Collection[str] | None = None,
                  previews: bool = False) -> Page[JobSummary]:
        """A page of the history (newest first), knowing whether an older page follows."""
        number = max(page, 1)
        found = self.list_jobs(limit=per_page + 1, kinds=kinds, previews=previews, offset=(number - 1) * per_page)
        return Page.cut(found, number, per_page)

    def get_job(self, job_id: int) -> JobSummary | None:
        """The job; one that looks unfinished is first checked for a process that is gone (end_abandoned_runs).
        A finished job, the most asked for, costs one read, not a scan of every running one."""
        with self.services.unit_of_work() as work:
            job = work.jobs.get_job(job_id)
        if job is None or job.finished_at is not None or not self.end_abandoned_runs():
            return job
        with self.services.unit_of_work() as work:
            return work.jobs.get_job(job_id)

    def end_abandoned_runs(self) -> list[int]:
        """Imports run directly (the CLI) whose process is gone (killed: nothing of it could say so) are marked
        failed as interrupted, with how many rows were applied, before anyone is shown them as running.
        Queued imports are not: a worker resumes them (adapters/jobs.py). Returns the ids so ended."""
        quiet_since = datetime.now(timezone.utc) - timedelta(minutes=self.services.settings.stale_import_minutes)
        ended: list[int] = []
        with self.services.unit_of_work() as work:
            for run in work.jobs.abandoned_runs(quiet_since=quiet_since):
                message = interrupted_message(run.rows_done, is_dry_run=run.is_dry_run, where=run.where)
                if work.jobs.end_abandoned_run(run, message=message, error_code=INTERRUPTED):
                    ended.append(run.job_id)
            work.commit()
        return ended

    def row_results(self, job_id: int, *, offset: int = 0, limit: int = 50) -> list[dict[str, object]]:
        with self.services.unit_of_work() as work:
            return work.jobs.row_results(job_id, offset=offset, limit=limit)

    def rows_page(self, job: JobSummary, *, page: int = 1, per_page: int = 50, show: str = "") -> Page[ShownRow]:
        """A page of the job's per-row results as people read them (records by email and name, names for ids):
        all rows, or `show` "failed" or "changed" (created and updated) ones. Has a next page only when one exists."""
        kind = self.services.kinds.get(job.kind)
        secrets = kind.secret_names if kind is not None else frozenset()
        number = max(page, 1)
        with self.services.unit_of_work() as work:
            fetched = work.jobs.row_results(job.id, offset=(number - 1) * per_page, limit=per_page + 1,
                                            actions=ROW_FILTERS.get(show))
            return Page.cut(shown_rows(work, job.kind, fetched, secrets, key=kind.key if kind else "email"),
                            number, per_page)

    def secret_columns(self, job: JobSummary) -> list[int]:
        """Indexes of the job's file columns mapped to a secret field (passwords): never shown."""
        kind = self.services.kinds.get(job.kind)
        secrets = kind.secret_names if kind is not None else frozenset()
        return [index for index, column in enumerate(job.mapping) if column.get("field") in secrets]

    def first_errors(self, job_id: int) -> tuple[list[RowError], int]:
        """The first ERRORS_KEPT_IN_REPORT errors of an import, in row order, and how many more there are."""
        errors: list[RowError] = []
        more = 0
        with self.services.unit_of_work() as work:
            for _, row_errors in work.jobs.failed_rows(job_id):
                for error in row_errors:
                    if len(errors) < ERRORS_KEPT_IN_REPORT:
                        errors.append(error)
                    else:
                        more += 1
        return errors, more

    def error_report(self, job_id: int) -> Iterator[str]:
        """The error report CSV of an import, in chunks: its failed rows' cells (secrets hidden), row numbers as a
        spreadsheet shows them, the column and the message. Read a page at a time while it is written."""
        job = self.get_job(job_id)
        if job is None:
            raise UnknownJob(job_id)
        with self.services.unit_of_work() as work:
            headers, lines = error_report_rows(job.headers, self.secret_columns(job), work.jobs.failed_rows(job_id))
            yield from write_csv(headers, lines)
