"""Undo and retry: an import's undo (said first as a dry run, then done) and the retry of its failed rows.

Who may act on whose import: anyone who may import a kind sees every import of it (a support team shares the
work), but undoing or retrying an import somebody else started needs the admin role. The job log records who
did each undo and retry (the job's actor); an undo is a job of its own (operation "undo") with its own counts
and its own notification.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, BinaryIO

from plugin.ports import JobSummary, ProgressSink
from plugin.ports.unit_of_work import UnitOfWork
from plugin.read import inspect_csv
from plugin.report import ImportReport, Status
from plugin.retry import inspect_retry, retry_arguments
from plugin.services.history import UnknownJob
from plugin.options import ImportOptions
from plugin.undo import NotPermitted, UndoRefused, UndoResult, plan_undo_row

if TYPE_CHECKING:
    from plugin.services import Services

logger = logging.getLogger(__name__)

ADMIN = "admin"  # the role that may undo and retry anybody's import
UNDOABLE_STATUSES = frozenset({str(Status.SUCCEEDED), str(Status.PARTIAL)})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: their name as the job log records it (a signed-in person's email), and their role."""

    name: str
    role: str
    is_notified: bool = True  # a signed-in person gets a notification; the CLI's operator reads the terminal


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Undo:
    """The undo and retry use cases; reached as services.undo."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # ---- who may

    def check_permitted(self, job: JobSummary, actor: Actor, *, action: str) -> None:
        """NotPermitted unless the actor started the import or is an admin; `action` is "undo" or "retry"."""
        if actor.role == ADMIN or (job.actor and job.actor == actor.name):
            return
        doing = "undoing" if action == "undo" else "retrying"
        raise NotPermitted(f"{action}.not_yours", f"Import {job.id} was started by {job.actor or 'someone else'}: "
                                                  f"{doing} another person's import needs the admin role.")

    def refusal_to_retry(self, job: JobSummary, actor: Actor) -> NotPermitted | None:
        """Why this person cannot retry the import, or None when they may (the job page's retry form)."""
        try:
            self.check_permitted(job, actor, action="retry")
        except NotPermitted as refused:
            return refused
        return None

    # ---- undo

    def refusal(self, job_id: int, actor: Actor) -> UndoRefused | None:
        """Why this person cannot undo the import, or None when they can (the job page's undo button)."""
        try:
            with self.services.unit_of_work() as work:
                self._undoable(work, job_id, actor)
        except UndoRefused as refused:
            return refused
        return None

    def _undoable(self, work: UnitOfWork, job_id: int, actor: Actor) -> JobSummary:
        job = work.jobs.get_job(job_id)
        if job is None:
            raise UndoRefused("undo.not_found", f"There is no import {job_id}.")
        if job.is_undo:
            raise UndoRefused("undo.is_undo", f"Job {job_id} is itself the undo of import {job.options['undo_of']}; "
                                              "it cannot be undone in turn.")
        if job.kind not in work.undo.undoable_kinds():
            raise UndoRefused("undo.kind", f"Imports of {job.kind} cannot be undone; customers and agents imports can.")
        if job.status not in UNDOABLE_STATUSES:
            raise UndoRefused("undo.not_applied", f"Import {job_id} is {job.status}: only a finished import that "
                                                  "changed something (succeeded or partial) can be undone.")
        done = work.undo.undo_of(job_id)
        if done is not None:
            raise UndoRefused("undo.already", f"Import {job_id} was undone already, by job {done[0]} ({done[1]}).")
        self.check_permitted(job, actor, action="undo")
        return job

    def undo(self, job_id: int, actor: Actor, *, dry_run: bool = False) -> UndoResult:
        """Undo an import (or, with dry_run, say what undoing it would do), a batch at a time, each batch one unit
        of work. Raises UndoRefused (NotPermitted: not this person's import) when it cannot be undone."""
        services = self.services
        with services.unit_of_work() as work:
            if not dry_run:
                work.undo.lock_import(job_id)  # two undos of one import at once: the second waits here
            job = self._undoable(work, job_id, actor)
            result = UndoResult(job=job_id, kind=job.kind, is_dry_run=dry_run)
            traits = work.undo.traits(job.kind)
            if not dry_run:
                result.undo_job = work.undo.start_undo(job, actor=actor.name, now=utc_now())
                work.commit()
        finished_at = job.finished_at or utc_now()
        logger.info("undo of import %s started (%s)", job_id, "dry run" if dry_run else f"job {result.undo_job}")
        after = 0
        try:
            while True:
                with services.unit_of_work() as work:
                    imported = work.undo.applied_rows(job_id, after_row=after, limit=services.settings.batch_size)
                    if not imported:
                        break
                    stored = work.undo.stored_records(job.kind, [row.record_id for row in imported], job_id=job_id,
                                                      finished_at=finished_at, lock=not dry_run)
                    steps = [plan_undo_row(row, stored.get(row.record_id), secret_names=traits.secret_names,
                                           can_deactivate=traits.can_deactivate, title=traits.title) for row in imported]
                    if result.undo_job is not None:
                        work.undo.apply_steps(job.kind, steps, undo_job=result.undo_job,
                                              rows_done=result.tally.records + len(steps), now=utc_now())
                        work.commit()
                result.tally.count(steps)
                result.steps.extend(steps)
                after = imported[-1].row
        except Exception:
            if result.undo_job is not None:  # the batches written stay written; the job says it stopped
                with services.unit_of_work() as work:
                    work.undo.fail_undo(result.undo_job, code="undo.crashed",
                                        message="The undo stopped because of an internal error.", now=utc_now())
                    work.commit()
            raise
        if result.undo_job is not None:
            self._finish(result, job, actor)
        logger.info("undo of import %s ended: %s", job_id, result.tally.summary())
        return result

    def _finish(self, result: UndoResult, job: JobSummary, actor: Actor) -> None:
        assert result.undo_job is not None
        status = Status.PARTIAL if result.tally.skipped else Status.SUCCEEDED
        with self.services.unit_of_work() as work:
            work.undo.finish_undo(result.undo_job, result.tally, status=str(status), message=result.summary(),
                                  now=utc_now())
            work.commit()
        recipients = [name for name, wanted in ((actor.name, actor.is_notified), (job.actor, job.actor != actor.name))
                      if wanted and name]
        with self.services.unit_of_work() as work:  # the person who undid it, and the one whose import it was
            for recipient in recipients:
                work.notifications.notify(recipient, result.summary(), job_id=result.undo_job)
        self.services.notices.job_finished(result.undo_job)  # e-mail and webhook, sent later by the worker

    # ---- retry

    def retry_request(self, job_id: int, actor: Actor, source: BinaryIO) -> tuple[dict[str, str], ImportOptions]:
        """Check that a fixed error report can be a retry of the import by this person, before anything is stored;
        the retry's mapping and options (the import's own, with retry_of). BadFile or NotPermitted says why not."""
        job = self.services.history.get_job(job_id)
        if job is None:
            raise UnknownJob(job_id)
        self.check_permitted(job, actor, action="retry")
        settings = self.services.settings
        layout = inspect_csv(source, row_limit=settings.row_limit, max_bytes=settings.max_file_bytes)
        inspect_retry(source, layout, self.services.store.retry_of(job.id))
        source.seek(0)
        return self._recorded_request(job)

    def _recorded_request(self, job: JobSummary) -> tuple[dict[str, str], ImportOptions]:
        """The mapping and options an import recorded, as a retry of it is asked."""
        arguments = retry_arguments(job.id, job.kind, job.mapping, dict(job.options))
        options = self.services.imports.read_options(job.kind, {
            **arguments["options"], "defaults": arguments["defaults"],  # type: ignore[dict-item]
            "all_or_nothing": arguments["all_or_nothing"]}, is_recorded=True)
        return arguments["mapping"], options  # type: ignore[return-value]

    def retry(self, job_id: int, actor: Actor, source: BinaryIO, *, file_name: str = "", dry_run: bool = False,
              progress: ProgressSink | None = None) -> ImportReport:
        """Import a fixed error report of an import: only its failed rows, under their original numbers. The
        retry is an import of its own, recorded as this person's, with retry_of."""
        job = self.services.history.get_job(job_id)
        if job is None:
            raise UnknownJob(job_id)
        self.check_permitted(job, actor, action="retry")
        mapping, options = self._recorded_request(job)
        return self.services.imports.import_file(job.kind, source, file_name=file_name, actor=actor.name,
                                                 dry_run=dry_run, progress=progress, mapping=mapping, options=options)
