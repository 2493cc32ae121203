"""Background imports on huey: a queue built from Settings, and a task that receives only an import's id.

The web side stores the upload and the request (mapping, defaults, options) in the database, starts an
import job and enqueues its id; the worker reads everything else back, runs the one pipeline through
`Services.import_file`, writes the notification and deletes the upload once nothing needs it. Nothing
here exists at import time: `make_import_queue(services)` builds the huey instance and its tasks.

huey takes a task off the queue before running it, so a task can be lost when a worker is killed; the
worker therefore stops gracefully on SIGTERM, and a periodic reaper puts back imports whose heartbeat
went quiet. A task run twice is harmless: a finished import is not run again, and an interrupted one
starts over from its per-row results cleared (rows it had already written come out as unchanged).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

from adapters.db import web_state
from adapters.imap.schedule import register_mail_tasks
from plugin.report import ImportReport, Status, count_of
from plugin.services import Services, UnknownKind
from plugin.settings import Settings

logger = logging.getLogger(__name__)

FINISHED = frozenset({str(Status.SUCCEEDED), str(Status.PARTIAL), str(Status.REJECTED), str(Status.DRY_RUN),
                      str(Status.FAILED)})
QUIET_BEFORE_RETRY = timedelta(minutes=15)  # a running import with no progress for this long lost its worker
MAX_ATTEMPTS = 3
ABANDONED_UPLOAD_AGE = timedelta(hours=24)  # an upload previewed but never started is deleted after this


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    """RedisHuey when settings.redis_url is set, else a SQLite queue file at settings.queue_path."""
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False, immediate=immediate)
    if not immediate:
        Path(settings.queue_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=settings.queue_path, results=False, immediate=immediate)


@dataclass
class ImportQueue:
    """The huey instance with the importer's tasks registered on it."""

    huey: Huey
    services: Services
    run_import: TaskWrapper

    def enqueue(self, job_id: int) -> None:
        """Hand an import to the workers; only its id travels through the queue."""
        self.run_import(job_id)

    def consumer(self, *, workers: int, worker_type: str = "thread", max_delay: float = 2.0,
                 shutdown_timeout: float | None = None) -> Consumer:
        """A consumer that finishes running imports on SIGTERM (or SIGINT) before it exits."""
        return self.huey.create_consumer(workers=workers, worker_type=worker_type, max_delay=max_delay,
                                         shutdown_timeout=shutdown_timeout, graceful_signal="TERM", periodic=True)


def make_import_queue(services: Services, *, immediate: bool = False) -> ImportQueue:
    """Build the queue for these services: one per app or worker, never shared through a module."""
    huey = make_huey(services.settings, immediate=immediate)
    engine = services.store.engine  # type: ignore[attr-defined]
    parent_pid = os.getpid()

    @huey.on_startup()
    def use_fresh_database_connections() -> None:
        # `-k process` forks workers: a connection inherited from the parent must never be reused.
        if os.getpid() != parent_pid:
            engine.dispose(close=False)

    @huey.task(name="contact_importer.run_import")
    def run_import(job_id: int) -> None:
        run_queued_import(services, job_id)

    @huey.periodic_task(crontab(minute="*/5"), name="contact_importer.reap")
    @huey.lock_task("contact-importer-reaper")
    def reap() -> None:
        reap_imports(services, enqueue=run_import)

    register_mail_tasks(huey, services)  # mailboxes are polled by the same workers
    return ImportQueue(huey=huey, services=services, run_import=run_import)


def reap_imports(services: Services, *, enqueue: Callable[[int], object],
                 quiet_for: timedelta = QUIET_BEFORE_RETRY) -> list[int]:
    """Put back imports whose worker died (SIGKILL, OOM, a lost machine); delete abandoned uploads."""
    engine = services.store.engine  # type: ignore[attr-defined]
    stale = web_state.stale_running_jobs(engine, quiet_for=quiet_for, max_attempts=MAX_ATTEMPTS)
    for job_id in stale:
        logger.warning("import %s went quiet while running; trying it again", job_id)
        enqueue(job_id)
    for upload in web_state.abandoned_uploads(engine, older_than=ABANDONED_UPLOAD_AGE):
        delete_upload_file(services, upload)
    return stale


def run_queued_import(services: Services, job_id: int) -> str:
    """Run one queued import by id; returns the status it ended with."""
    store = services.store
    engine = store.engine  # type: ignore[attr-defined]
    queued = web_state.get_queued_import(engine, job_id)
    job = store.get_job(job_id)  # type: ignore[attr-defined]
    if queued is None or job is None:
        logger.warning("import %s is not waiting in the queue; nothing to do", job_id)
        return "missing"
    if job.status in FINISHED:
        release_upload(services, queued)
        return str(job.status)
    if job.status == str(Status.RUNNING):
        store.clear_results(job_id)  # an earlier attempt was cut short; its batches stay written
    attempt = web_state.count_attempt(engine, job_id)
    logger.info("import %s: attempt %d", job_id, attempt)
    upload = queued.upload
    try:
        source = Path(upload.path).open("rb")
    except FileNotFoundError:
        report = ImportReport(kind=job.kind, file_name=job.file_name, job=job_id, status=Status.FAILED,
                              message="The uploaded file is no longer there; upload it again.",
                              error_code="upload.missing")
        store.finish_job(job_id, report)
        finish_import(services, queued, report)
        return str(report.status)
    with source:
        try:
            report = services.import_file(
                job.kind, source, file_name=upload.file_name, actor=upload.actor, dry_run=queued.is_dry_run,
                mapping=queued.mapping, defaults=queued.defaults, options=_options(queued.options),
                all_or_nothing=queued.all_or_nothing, job_id=job_id)
        except Exception:
            # A bug or a database failure: the person sees a failed import, the log has the traceback.
            logger.exception("import %s crashed", job_id)
            report = ImportReport(kind=job.kind, file_name=job.file_name, job=job_id, status=Status.FAILED,
                                  message=f"The import stopped because of an internal error (logged as import {job_id}).",
                                  error_code="import.crashed")
            store.finish_job(job_id, report)
            finish_import(services, queued, report)
            raise
    finish_import(services, queued, report)
    return str(report.status)


def _options(stored: dict[str, object]) -> dict[str, object]:
    options = dict(stored)
    if isinstance(options.get("default_labels"), list):
        options["default_labels"] = tuple(options["default_labels"])  # type: ignore[arg-type]
    return options


def notification_text(services: Services, report: ImportReport) -> str:
    """'Imported 4,980 customers: 4,200 created, 780 updated, 20 failed' and its rejected and failed kin."""
    try:
        title = services.kind(report.kind).title
    except UnknownKind:
        title = report.kind
    name = f" from {report.file_name}" if report.file_name else ""
    if report.status is Status.REJECTED:
        return f"Nothing imported{name}: {report.message}"
    if report.status is Status.FAILED:
        return f"The import of {title}{name} failed: {report.message}"
    parts = [f"{report.created:,} created", f"{report.updated:,} updated"]
    if report.unchanged:
        parts.append(f"{report.unchanged:,} unchanged")
    parts.append(f"{report.failed:,} failed")
    return f"Imported {count_of(report.rows - report.failed, title)}: {', '.join(parts)}"


def finish_import(services: Services, queued: web_state.QueuedImportRecord, report: ImportReport) -> None:
    """Tell the person who started a real import how it went, and drop the upload if nothing needs it."""
    engine = services.store.engine  # type: ignore[attr-defined]
    if not queued.is_dry_run and queued.upload.actor:
        web_state.add_notification(engine, queued.upload.actor, notification_text(services, report),
                                   job_id=queued.job_id)
    release_upload(services, queued)


def release_upload(services: Services, queued: web_state.QueuedImportRecord) -> None:
    """Delete the uploaded file when this was its real import, or a preview nobody will start from."""
    engine = services.store.engine  # type: ignore[attr-defined]
    upload = web_state.get_upload(engine, queued.upload.id) or queued.upload
    is_needed_later = queued.is_dry_run and upload.is_kept_for_start
    if is_needed_later or web_state.busy_jobs_of_upload(engine, upload.id, except_job=queued.job_id):
        return
    delete_upload_file(services, upload)


def delete_upload_file(services: Services, upload: web_state.UploadRecord) -> None:
    Path(upload.path).unlink(missing_ok=True)
    web_state.mark_upload_deleted(services.store.engine, upload.id)  # type: ignore[attr-defined]
    logger.info("upload %s deleted", upload.id)
