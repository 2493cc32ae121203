"""The imports started from the web pages and the API, waiting for the worker: what each was asked to do, and
which uploads they still need (the worker's claims on them: adapters/db/worker_claims.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, Column, Connection, DateTime, ForeignKey, Integer, Table, func, select

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.models import import_jobs, metadata
from adapters.db.uploads import UploadRecord, _upload, web_uploads
from plugin.ports.uploads import DuplicateImport, QueuedImportRecord  # noqa: F401  (handed out here)
from plugin.report import Status

if TYPE_CHECKING:
    from plugin.ports.queue import WorkerClaim

Clock = Callable[[], datetime]
UNFINISHED = ("queued", "running", "checking")  # an import waiting for its run, or in the middle of one


# What a background job was asked to do; the task receives only the job id and reads the rest here.
web_queued_imports = Table(
    "web_queued_imports",
    metadata,
    Column("job_id", ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("upload_id", ForeignKey("web_uploads.id", ondelete="CASCADE"), nullable=False),
    Column("is_dry_run", Boolean, default=False, nullable=False),
    Column("mapping", JSON, default=dict, nullable=False),
    Column("defaults", JSON, default=dict, nullable=False),
    Column("options", JSON, default=dict, nullable=False),
    Column("all_or_nothing", Boolean),
    Column("attempts", Integer, default=0, nullable=False),
    Column("enqueued_at", DateTime(timezone=True), nullable=False),
)


def insert_job(connection: Connection, kind: str, *, file_name: str, actor: str, dry_run: bool,
               options: Mapping[str, object], now: datetime, claim: WorkerClaim | None = None) -> int:
    """Record a new import, queued; one run here and now is claimed by this process (`claim`) from the start."""
    held = {} if claim is None else {"claimed_by": claim.token, "claim_host": claim.host, "claim_pid": claim.pid,
                                     "heartbeat_at": now}
    return int(connection.execute(import_jobs.insert().values(
        kind=kind, status=str(Status.QUEUED), is_dry_run=dry_run, actor=actor, file_name=file_name,
        options={name: _jsonable(value) for name, value in options.items()}, headers=[], mapping=[],
        total=0, rows_done=0, created=0, updated=0, unchanged=0, failed=0, message="", error_code="",
        created_at=now, **held).returning(import_jobs.c.id)).scalar_one())


def _jsonable(value: object) -> object:
    if isinstance(value, (frozenset, set, tuple)):
        return sorted(value) if isinstance(value, (frozenset, set)) else list(value)
    return value


def queue_import(bind: Bind, job_id: int, upload_id: str, *, is_dry_run: bool, mapping: Mapping[str, str],
                 defaults: Mapping[str, str], options: Mapping[str, object], all_or_nothing: bool | None,
                 now: Clock = utc_now) -> None:
    with writing(bind) as connection:
        connection.execute(web_queued_imports.insert().values(
            job_id=job_id, upload_id=upload_id, is_dry_run=is_dry_run, mapping=dict(mapping), defaults=dict(defaults),
            options=dict(options), all_or_nothing=all_or_nothing, attempts=0, enqueued_at=now()))


def get_queued_import(bind: Bind, job_id: int) -> QueuedImportRecord | None:
    with reading(bind) as connection:
        found = connection.execute(select(web_queued_imports)
                                   .where(web_queued_imports.c.job_id == job_id)).one_or_none()
        if found is None:
            return None
        upload = connection.execute(select(web_uploads).where(web_uploads.c.id == found.upload_id)).one()
        return QueuedImportRecord(found.job_id, _upload(upload), found.is_dry_run, dict(found.mapping or {}),  # type: ignore[arg-type]
                                  dict(found.defaults or {}), dict(found.options or {}), found.all_or_nothing,
                                  found.attempts)


def abandoned_uploads(bind: Bind, *, older_than: timedelta, now: Clock = utc_now) -> list[UploadRecord]:
    """Uploads still on disk that were made long ago and have no import waiting or running."""
    busy = (select(web_queued_imports.c.upload_id)
            .join(import_jobs, import_jobs.c.id == web_queued_imports.c.job_id)
            .where(import_jobs.c.status.in_(UNFINISHED)))
    with reading(bind) as connection:
        rows = connection.execute(select(web_uploads).where(
            web_uploads.c.deleted_at.is_(None), web_uploads.c.created_at < now() - older_than,
            web_uploads.c.id.not_in(busy))).all()
        return [_upload(row) for row in rows]  # type: ignore[arg-type]


def busy_jobs_of_upload(bind: Bind, upload_id: str, *, except_job: int | None = None) -> int:
    """How many imports of this upload are queued or running (besides except_job)."""
    query = (select(func.count()).select_from(web_queued_imports)
             .join(import_jobs, import_jobs.c.id == web_queued_imports.c.job_id)
             .where(web_queued_imports.c.upload_id == upload_id, import_jobs.c.status.in_(UNFINISHED)))
    if except_job is not None:
        query = query.where(web_queued_imports.c.job_id != except_job)
    with reading(bind) as connection:
        return int(connection.execute(query).scalar_one())


def recent_import_of_same_file(bind: Bind, *, file_hash: str, kind: str, actor: str, mapping: Mapping[str, str],
                               defaults: Mapping[str, str], options: Mapping[str, object],
                               all_or_nothing: bool | None, within: timedelta,
                               now: Clock = utc_now) -> DuplicateImport | None:
    """The latest import (not a dry run) of a file with this hash, kind, mapping and options, started by the same
    person within `within`; None when there is none. What a double click or a second upload would repeat."""
    wanted = (dict(mapping), dict(defaults), dict(options), all_or_nothing)
    with reading(bind) as connection:
        candidates = connection.execute(
            select(import_jobs.c.id, import_jobs.c.created_at, web_queued_imports.c.mapping,
                   web_queued_imports.c.defaults, web_queued_imports.c.options, web_queued_imports.c.all_or_nothing)
            .join(web_queued_imports, web_queued_imports.c.job_id == import_jobs.c.id)
            .join(web_uploads, web_uploads.c.id == web_queued_imports.c.upload_id)
            .where(web_uploads.c.file_hash == file_hash, web_uploads.c.kind == kind, import_jobs.c.actor == actor,
                   web_queued_imports.c.is_dry_run.is_(False), import_jobs.c.created_at >= now() - within)
            .order_by(import_jobs.c.id.desc())).all()
    for found in candidates:
        if (dict(found.mapping or {}), dict(found.defaults or {}), dict(found.options or {}),
                found.all_or_nothing) == wanted:
            return DuplicateImport(found.id, found.created_at)
    return None

