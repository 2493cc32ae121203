"""Background imports on huey: a queue built from Settings, and a task that receives only an import's id.

The web side stores the upload and the request (mapping, defaults, options) in the database, starts an
import job and enqueues its id; the worker reads everything else back, runs the one pipeline through
`Services.import_file`, writes the notification and deletes the upload once nothing needs it. Nothing
here exists at import time: `make_import_queue(services)` builds the huey instance and its tasks.

huey takes a task off the queue before running it, so a worker killed mid-import would lose it. So:

- A run claims its import first (services.queued_imports.claim: one UPDATE ... WHERE nobody live holds it), a
  thread refreshes the claim's heartbeat while it runs, and every write of the import checks the claim
  is still its own (SqlImportStore.holding_claim): an import never runs twice at once.
- An interrupted import resumes after its last committed batch (plugin.pipeline.run_import): every row is
  applied once, and counts and per-row results come out as one uninterrupted run's.
- On SIGTERM the worker stops gracefully: a running import stops after its current batch, lets go of its
  claim and is enqueued again, so the next worker carries on from there.
- Imports whose worker died (SIGKILL, OOM, a lost machine) are picked up again by `pick_up_orphans`: when
  a worker starts (a claim held by a process of this machine that is gone is taken back at once) and
  every minute by the periodic reaper (a claim whose heartbeat is older than stale_import_minutes).
  Reaping takes no lock: of the reapers that see an orphan at once, one wins the UPDATE that takes it
  back, and only that one enqueues it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

from adapters.sealed_files import open_upload
from adapters.db.catalog import utc_now
from adapters.db.store import ClaimLost
from adapters.processes import holder_is_dead
from plugin.ports import JobSummary
from plugin.ports.queue import ClaimedJob, WorkerClaim
from plugin.ports.uploads import QueuedImportRecord
from adapters.imap.schedule import register_mail_tasks
from adapters.notices.tasks import register_notice_tasks
from plugin.errors import ImportStopped
from plugin.options import ImportOptions
from plugin.report import ImportReport, Status, count_of
from plugin.services import Services, UnknownKind
from plugin.settings import Settings

logger = logging.getLogger(__name__)

FINISHED = frozenset({str(Status.SUCCEEDED), str(Status.PARTIAL), str(Status.REJECTED), str(Status.DRY_RUN),
                      str(Status.FAILED)})
MAX_ATTEMPTS = 5  # runs of one import that ended with their worker dead; then it is failed, with a message
LONGEST_HEARTBEAT = 30.0  # seconds between heartbeats at most, whatever stale_import_minutes says


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    """RedisHuey when settings.redis_url is set, else a SQLite queue file at settings.queue_path."""
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False, immediate=immediate)
    if not immediate:
        Path(settings.queue_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=settings.queue_path, results=False, immediate=immediate)


def stale_after(settings: Settings) -> timedelta:
    """How long a running import may go without a heartbeat before its worker is taken for dead."""
    return timedelta(minutes=settings.stale_import_minutes)


def heartbeat_seconds(settings: Settings) -> float:
    """How often a running import says it is alive: a fifth of the stale time, at most LONGEST_HEARTBEAT."""
    return max(0.5, min(LONGEST_HEARTBEAT, stale_after(settings).total_seconds() / 5))


@dataclass
class ImportQueue:
    """The huey instance with the importer's tasks registered on it."""

    huey: Huey
    services: Services
    run_import: TaskWrapper
    # Set by consumer(): true once the consumer was told to stop (SIGTERM); running imports stop between batches.
    is_stopping: Callable[[], bool] = field(default=lambda: False)

    def enqueue(self, job_id: int) -> None:
        """Hand an import to the workers; only its id travels through the queue."""
        self.run_import(job_id)

    def consumer(self, *, workers: int, worker_type: str = "thread", max_delay: float = 2.0,
                 shutdown_timeout: float | None = None) -> Consumer:
        """A consumer that stops gracefully on SIGTERM (or SIGINT): running imports stop after their current
        batch and are enqueued again, then it exits."""
        consumer = self.huey.create_consumer(workers=workers, worker_type=worker_type, max_delay=max_delay,
                                             shutdown_timeout=shutdown_timeout, graceful_signal="TERM", periodic=True)
        self.is_stopping = consumer.stop_flag.is_set  # a thread event, or a pipe the forked workers share
        return consumer

    def pick_up_orphans(self) -> list[int]:
        """Enqueue again the imports whose worker died; what a worker does as it starts."""
        return reap_imports(self.services, enqueue=self.enqueue)


def make_import_queue(services: Services, *, immediate: bool = False) -> ImportQueue:
    """Build the queue for these services: one per app or worker, never shared through a module."""
    huey = make_huey(services.settings, immediate=immediate)
    parent_pid = os.getpid()
    queue: ImportQueue

    @huey.on_startup()
    def use_fresh_database_connections() -> None:
        # `-k process` forks workers: a connection inherited from the parent must never be reused.
        if os.getpid() != parent_pid:
            services.forget_inherited_connections()

    @huey.task(name="contact_importer.run_import")
    def run_import(job_id: int) -> None:
        run_queued_import(services, job_id, should_stop=queue.is_stopping, enqueue=queue.enqueue)

    @huey.periodic_task(crontab(minute="*"), name="contact_importer.reap")
    def reap() -> None:
        reap_imports(services, enqueue=queue.enqueue)  # no lock: see the module's docstring

    register_mail_tasks(huey, services)  # mailboxes are polled by the same workers
    register_notice_tasks(huey, services)  # and notices of finished jobs sent
    queue = ImportQueue(huey=huey, services=services, run_import=run_import)
    return queue


def reap_imports(services: Services, *, enqueue: Callable[[int], object]) -> list[int]:
    """Put back imports whose worker died (SIGKILL, OOM, a lost machine); fail those that died too often;
    delete abandoned uploads. Returns the ids enqueued again."""
    stale_before = utc_now() - stale_after(services.settings)
    host = WorkerClaim.for_this_process().host
    enqueued: list[int] = []
    for job in services.queued_imports.orphans(stale_before=stale_before,
                                               is_dead=lambda job: holder_is_dead(job, host=host)):
        is_dead = job.claimed_by is not None and holder_is_dead(job, host=host)
        if not services.queued_imports.take_back(job, stale_before=stale_before, is_dead=is_dead):
            continue  # another reaper took it back, or its worker came back to life
        if job.attempts >= MAX_ATTEMPTS:
            _fail_after_too_many_attempts(services, job)
            continue
        logger.warning("import %s (%s) lost its worker; enqueued again", job.job_id, job.status)
        enqueue(job.job_id)
        enqueued.append(job.job_id)
    for upload in services.uploads.discard_abandoned():
        logger.info("upload %s deleted", upload.id)
    return enqueued


def _fail_after_too_many_attempts(services: Services, job: ClaimedJob) -> None:
    queued = services.uploads.queued(job.job_id)
    summary = services.history.get_job(job.job_id)
    if queued is None or summary is None:
        return
    report = ImportReport(kind=summary.kind, file_name=summary.file_name, job=job.job_id, status=Status.FAILED,
                          rows=summary.rows_done, created=summary.created, updated=summary.updated,
                          unchanged=summary.unchanged, failed=summary.failed,
                          message=f"The worker running this import stopped {job.attempts} times; the rows done "
                                  "so far are kept. Try the import again with a smaller file.",
                          error_code="import.worker_lost")
    logger.error("import %s failed: its worker died %d times", job.job_id, job.attempts)
    services.queued_imports.fail(report)
    finish_import(services, queued, report)


class Heartbeat:
    """A thread that says, every few seconds, that this worker is still running the import it claimed."""

    def __init__(self, services: Services, job_id: int, token: str) -> None:
        self.services = services
        self.job_id, self.token = job_id, token
        self.interval = heartbeat_seconds(services.settings)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            if not self.services.queued_imports.heartbeat(self.job_id, self.token):
                logger.warning("import %s: another worker holds its claim now", self.job_id)
                return


def run_queued_import(services: Services, job_id: int, *, should_stop: Callable[[], bool] | None = None,
                      enqueue: Callable[[int], object] | None = None) -> str:
    """Run one queued import by id, or carry on with one an earlier run left unfinished; returns the status
    it ended with, "busy" when another worker runs it, or "stopped" when should_stop() said so between
    batches (the import is then enqueued again, through `enqueue`, and the next run carries on)."""
    store = services.store
    queued = services.uploads.queued(job_id)
    job = services.history.get_job(job_id)
    if queued is None or job is None:
        logger.warning("import %s is not waiting in the queue; nothing to do", job_id)
        return "missing"
    if job.status in FINISHED:
        release_upload(services, queued)
        return str(job.status)
    if should_stop is not None and should_stop():
        if enqueue is not None:
            enqueue(job_id)  # this worker is shutting down: leave it to the next
        return "stopped"
    claim = WorkerClaim.for_this_process()
    if not services.queued_imports.claim(job_id, claim, stale_before=utc_now() - stale_after(services.settings),
                                         is_dead=holder_is_dead):
        logger.info("import %s is being run by another worker (or has ended)", job_id)
        return "busy"
    was_stopped = False
    try:
        with store.holding_claim(job_id, claim.token), Heartbeat(services, job_id, claim.token):
            status = _run_claimed_import(services, queued, job, should_stop=should_stop)
    except ImportStopped as stopped:
        logger.info("import %s stopped after %d rows: the worker is shutting down; enqueued again", job_id,
                    stopped.rows_done)
        was_stopped = True
        return "stopped"
    except ClaimLost:
        logger.warning("import %s: another worker took it over; this run stops", job_id)
        return "busy"
    finally:
        services.queued_imports.release(job_id, claim.token, was_stopped=was_stopped)
        if was_stopped and enqueue is not None:
            enqueue(job_id)
    return status


def _run_claimed_import(services: Services, queued: QueuedImportRecord, job: JobSummary, *,
                        should_stop: Callable[[], bool] | None) -> str:
    job_id = queued.job_id
    logger.info("import %s: attempt %d", job_id, queued.attempts + 1)
    upload = queued.upload
    try:
        source = open_upload(Path(upload.path), services.settings)
    except FileNotFoundError:
        report = ImportReport(kind=job.kind, file_name=job.file_name, job=job_id, status=Status.FAILED,
                              message="The uploaded file is no longer there; upload it again.",
                              error_code="upload.missing")
        services.queued_imports.fail(report)
        finish_import(services, queued, report)
        return str(report.status)
    with source:
        try:
            report = services.imports.import_file(
                job.kind, source, file_name=upload.file_name, actor=upload.actor, dry_run=queued.is_dry_run,
                mapping=queued.mapping, options=_options(services, job.kind, queued), job_id=job_id,
                should_stop=should_stop)
        except (ImportStopped, ClaimLost):
            raise
        except Exception:
            # A bug or a database failure: the person sees a failed import, the log has the traceback.
            logger.exception("import %s crashed", job_id)
            report = ImportReport(kind=job.kind, file_name=job.file_name, job=job_id, status=Status.FAILED,
                                  message=f"The import stopped because of an internal error (logged as import {job_id}).",
                                  error_code="import.crashed")
            services.queued_imports.fail(report)
            finish_import(services, queued, report)
            raise
    finish_import(services, queued, report)
    return str(report.status)


def _options(services: Services, kind: str, queued: QueuedImportRecord) -> ImportOptions:
    """The queued import's options as the page or the API recorded them, read by the core's one reader."""
    recorded = {**queued.options, "defaults": queued.defaults, "all_or_nothing": queued.all_or_nothing}
    return services.imports.read_options(kind, recorded, is_recorded=True)


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


def finish_import(services: Services, queued: QueuedImportRecord, report: ImportReport) -> None:
    """Tell the person who started a real import how it went (the in-app bell; its e-mail and webhook were queued
    by the use case that ended it), and drop the upload if nothing needs it."""
    if not queued.is_dry_run and queued.upload.actor:
        services.uploads.notify(queued.upload.actor, notification_text(services, report), job_id=queued.job_id)
    release_upload(services, queued)


def release_upload(services: Services, queued: QueuedImportRecord) -> None:
    """Delete the uploaded file when this was its real import, or a preview nobody will start from."""
    services.uploads.release(queued)
