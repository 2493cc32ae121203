"""What the web pages and the job worker keep besides imports: uploads waiting for their import, the queued
import requests, notifications and saved mappings (API tokens: adapters/db/tokens.py)."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import (JSON, Boolean, Connection, DateTime, Engine, ForeignKey, Integer, String, Text,
                        UniqueConstraint, func, or_, select, update)
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.catalog import utc_now
from adapters.db.models import Base, ImportJob, ImportRow
from adapters.db.tokens import ApiToken, create_token, email_for_token, list_tokens, revoke_tokens  # noqa: F401
from plugin.mapping import normalize_header

Clock = Callable[[], datetime]
UNFINISHED = ("queued", "running", "checking")  # an import waiting for its run, or in the middle of one


class Upload(Base):
    """A file a person uploaded, waiting under upload_dir for its preview and import."""

    __tablename__ = "web_uploads"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # random: it appears in URLs
    kind: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(320))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    file_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # SHA-256: the same file, recognised
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict | None] = mapped_column(JSON)  # {header: field or ""}, as the person chose
    options: Mapped[dict] = mapped_column(JSON, default=dict)  # defaults, create_labels, all_or_nothing...
    is_kept_for_start: Mapped[bool] = mapped_column(Boolean, default=False)  # a preview will be followed by Start
    preview_job_id: Mapped[int | None] = mapped_column(Integer)
    import_job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QueuedImport(Base):
    """What a background job was asked to do; the task receives only the job id and reads the rest here."""

    __tablename__ = "web_queued_imports"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("web_uploads.id", ondelete="CASCADE"))
    is_dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    defaults: Mapped[dict] = mapped_column(JSON, default=dict)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    all_or_nothing: Mapped[bool | None] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """A message for one person ("Imported 4,980 customers: ..."), read in the bell or handed to the host."""

    __tablename__ = "web_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(500), default="")
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SavedMapping(Base):
    """A mapping saved by name, suggested again for files with the same headers."""

    __tablename__ = "web_saved_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    signature: Mapped[str] = mapped_column(String(64), index=True)  # of the normalised headers
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("kind", "signature", "name", name="uq_web_saved_mappings_name"),)


# ---- values handed out


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    kind: str
    file_name: str
    actor: str
    path: str
    size: int
    headers: tuple[str, ...]
    mapping: dict[str, str] | None
    options: dict[str, object]
    is_kept_for_start: bool
    preview_job_id: int | None
    import_job_id: int | None
    created_at: datetime
    is_deleted: bool
    file_hash: str | None = None


@dataclass(frozen=True, slots=True)
class DuplicateImport:
    """An import of the same file, kind, mapping and options by the same person a few minutes ago."""

    job_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueuedImportRecord:
    job_id: int
    upload: UploadRecord
    is_dry_run: bool
    mapping: dict[str, str]
    defaults: dict[str, str]
    options: dict[str, object]
    all_or_nothing: bool | None
    attempts: int


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: int
    recipient: str
    message: str
    link: str
    job_id: int | None
    created_at: datetime
    is_read: bool


@dataclass(frozen=True, slots=True)
class SavedMappingRecord:
    id: int
    kind: str
    name: str
    mapping: dict[str, str]
    created_by: str
    created_at: datetime


def _upload(row: Upload) -> UploadRecord:
    return UploadRecord(row.id, row.kind, row.file_name, row.actor, row.path, row.size, tuple(row.headers or ()),
                        dict(row.mapping) if row.mapping is not None else None, dict(row.options or {}),
                        row.is_kept_for_start, row.preview_job_id, row.import_job_id, row.created_at,
                        row.deleted_at is not None, row.file_hash)


# ---- uploads


def new_upload_id() -> str:
    return secrets.token_urlsafe(18)


def add_upload(engine: Engine, upload_id: str, *, kind: str, file_name: str, actor: str, path: str, size: int,
               headers: Sequence[str] = (), is_kept_for_start: bool = False, file_hash: str | None = None,
               now: Clock = utc_now) -> None:
    with engine.begin() as connection:
        connection.execute(Upload.__table__.insert().values(
            id=upload_id, kind=kind, file_name=file_name, actor=actor, path=path, size=size, file_hash=file_hash,
            headers=list(headers),
            mapping=None, options={}, is_kept_for_start=is_kept_for_start, created_at=now()))


def get_upload(engine: Engine, upload_id: str) -> UploadRecord | None:
    with engine.connect() as connection:
        found = connection.execute(select(Upload.__table__).where(Upload.id == upload_id)).one_or_none()
        return None if found is None else _upload(found)  # type: ignore[arg-type]


def change_upload(engine: Engine, upload_id: str, **values: object) -> None:
    """Store the chosen mapping, options, preview or import job of an upload."""
    allowed = {"mapping", "options", "preview_job_id", "import_job_id", "is_kept_for_start"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} of an upload")
    with engine.begin() as connection:
        connection.execute(update(Upload).where(Upload.id == upload_id).values(**values))


def mark_upload_deleted(engine: Engine, upload_id: str, *, now: Clock = utc_now) -> None:
    with engine.begin() as connection:
        connection.execute(update(Upload).where(Upload.id == upload_id, Upload.deleted_at.is_(None))
                           .values(deleted_at=now()))


def abandoned_uploads(engine: Engine, *, older_than: timedelta, now: Clock = utc_now) -> list[UploadRecord]:
    """Uploads still on disk that were made long ago and have no import waiting or running."""
    busy = (select(QueuedImport.upload_id).join(ImportJob, ImportJob.id == QueuedImport.job_id)
            .where(ImportJob.status.in_(UNFINISHED)))
    with engine.connect() as connection:
        rows = connection.execute(select(Upload.__table__).where(
            Upload.deleted_at.is_(None), Upload.created_at < now() - older_than, Upload.id.not_in(busy))).all()
        return [_upload(row) for row in rows]  # type: ignore[arg-type]


def busy_jobs_of_upload(engine: Engine, upload_id: str, *, except_job: int | None = None) -> int:
    """How many imports of this upload are queued or running (besides except_job)."""
    query = (select(func.count()).select_from(QueuedImport).join(ImportJob, ImportJob.id == QueuedImport.job_id)
             .where(QueuedImport.upload_id == upload_id, ImportJob.status.in_(UNFINISHED)))
    if except_job is not None:
        query = query.where(QueuedImport.job_id != except_job)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def recent_import_of_same_file(engine: Engine, *, file_hash: str, kind: str, actor: str, mapping: Mapping[str, str],
                               defaults: Mapping[str, str], options: Mapping[str, object],
                               all_or_nothing: bool | None, within: timedelta,
                               now: Clock = utc_now) -> DuplicateImport | None:
    """The latest import (not a dry run) of a file with this hash, kind, mapping and options, started by the same
    person within `within`; None when there is none. What a double click or a second upload would repeat."""
    wanted = (dict(mapping), dict(defaults), dict(options), all_or_nothing)
    with engine.connect() as connection:
        candidates = connection.execute(
            select(ImportJob.id, ImportJob.created_at, QueuedImport.mapping, QueuedImport.defaults,
                   QueuedImport.options, QueuedImport.all_or_nothing)
            .join(QueuedImport, QueuedImport.job_id == ImportJob.id)
            .join(Upload, Upload.id == QueuedImport.upload_id)
            .where(Upload.file_hash == file_hash, Upload.kind == kind, ImportJob.actor == actor,
                   QueuedImport.is_dry_run.is_(False), ImportJob.created_at >= now() - within)
            .order_by(ImportJob.id.desc())).all()
    for found in candidates:
        if (dict(found.mapping or {}), dict(found.defaults or {}), dict(found.options or {}),
                found.all_or_nothing) == wanted:
            return DuplicateImport(found.id, found.created_at)
    return None


# ---- queued imports


def queue_import(engine: Engine, job_id: int, upload_id: str, *, is_dry_run: bool, mapping: Mapping[str, str],
                 defaults: Mapping[str, str], options: Mapping[str, object], all_or_nothing: bool | None,
                 now: Clock = utc_now) -> None:
    with engine.begin() as connection:
        connection.execute(QueuedImport.__table__.insert().values(
            job_id=job_id, upload_id=upload_id, is_dry_run=is_dry_run, mapping=dict(mapping), defaults=dict(defaults),
            options=dict(options), all_or_nothing=all_or_nothing, attempts=0, enqueued_at=now()))


def get_queued_import(engine: Engine, job_id: int) -> QueuedImportRecord | None:
    with engine.connect() as connection:
        found = connection.execute(select(QueuedImport.__table__).where(QueuedImport.job_id == job_id)).one_or_none()
        if found is None:
            return None
        upload = connection.execute(select(Upload.__table__).where(Upload.id == found.upload_id)).one()
        return QueuedImportRecord(found.job_id, _upload(upload), found.is_dry_run, dict(found.mapping or {}),  # type: ignore[arg-type]
                                  dict(found.defaults or {}), dict(found.options or {}), found.all_or_nothing,
                                  found.attempts)


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


def claim_job(engine: Engine, job_id: int, claim: WorkerClaim, *, stale_before: datetime,
              is_dead: Callable[[ClaimedJob], bool], now: Clock = utc_now) -> bool:
    """Take an unfinished import for this worker, in one UPDATE ... WHERE nobody live holds it: unclaimed, or
    its holder's heartbeat older than stale_before, or its holder known dead (`is_dead`). False when another
    worker holds it, or it is finished."""
    with engine.begin() as connection:
        found = _claimed_job(connection, job_id)
        if found is None or found.status not in UNFINISHED:
            return False
        free = [ImportJob.claimed_by.is_(None), ImportJob.heartbeat_at.is_(None), ImportJob.heartbeat_at < stale_before]
        if found.claimed_by is not None and is_dead(found):
            free.append(ImportJob.claimed_by == found.claimed_by)
        result = connection.execute(update(ImportJob).where(
            ImportJob.id == job_id, ImportJob.status.in_(UNFINISHED), or_(*free)).values(
            claimed_by=claim.token, claim_host=claim.host, claim_pid=claim.pid, heartbeat_at=now()))
        if result.rowcount != 1:
            return False
        connection.execute(update(QueuedImport).where(QueuedImport.job_id == job_id)
                           .values(attempts=QueuedImport.attempts + 1))
        return True


def refresh_heartbeat(engine: Engine, job_id: int, token: str, *, now: Clock = utc_now) -> bool:
    """The running import is alive; False when its claim is no longer this worker's."""
    with engine.begin() as connection:
        return connection.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.claimed_by == token)
                                  .values(heartbeat_at=now())).rowcount == 1


def release_claim(engine: Engine, job_id: int, token: str, *, was_stopped: bool = False) -> None:
    """Let go of an import this worker ran; `was_stopped` (a graceful shutdown, not a failure) does not count
    as one of its attempts."""
    with engine.begin() as connection:
        released = connection.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.claimed_by == token)
                                      .values(claimed_by=None, claim_host=None, claim_pid=None)).rowcount
        if released and was_stopped:
            connection.execute(update(QueuedImport).where(QueuedImport.job_id == job_id, QueuedImport.attempts > 0)
                               .values(attempts=QueuedImport.attempts - 1))


def orphaned_jobs(engine: Engine, *, stale_before: datetime, is_dead: Callable[[ClaimedJob], bool]) -> list[ClaimedJob]:
    """Unfinished queued imports nobody is running: their worker is known dead, or they went quiet (no
    heartbeat, or queued with no worker taking them) since before stale_before."""
    with engine.connect() as connection:
        rows = connection.execute(_claimed_jobs_query().where(ImportJob.status.in_(UNFINISHED))
                                  .order_by(ImportJob.id)).all()
    jobs = [_as_claimed_job(row) for row in rows]
    return [job for job in jobs if _is_quiet(job, stale_before) or (job.claimed_by is not None and is_dead(job))]


def take_back_orphan(engine: Engine, job: ClaimedJob, *, stale_before: datetime, is_dead: bool,
                     now: Clock = utc_now) -> bool:
    """Clear an orphan's claim and restart its quiet time, if it is still as the reaper saw it: of the reapers
    that see it at once, one gets True (and enqueues it again)."""
    held = (ImportJob.claimed_by.is_(None) if job.claimed_by is None else ImportJob.claimed_by == job.claimed_by)
    conditions = [ImportJob.id == job.job_id, ImportJob.status == job.status, held]
    if not is_dead:
        quiet = ImportJob.heartbeat_at < stale_before
        conditions.append(quiet if job.status != "queued" else or_(ImportJob.heartbeat_at.is_(None), quiet))
    with engine.begin() as connection:
        return connection.execute(update(ImportJob).where(*conditions).values(
            claimed_by=None, claim_host=None, claim_pid=None, heartbeat_at=now())).rowcount == 1


def unqueued_orphans(connection: Connection, *, stale_before: datetime,
                     is_dead: Callable[[ClaimedJob], bool]) -> list[ClaimedJob]:
    """Unfinished imports run directly (the CLI: claimed by their own process, never queued) whose process is
    gone: known dead, or quiet since before stale_before. Nobody will resume them."""
    rows = connection.execute(_claimed_jobs_query(queued=False).where(ImportJob.status.in_(UNFINISHED))
                              .order_by(ImportJob.id)).all()
    jobs = [_as_claimed_job(row) for row in rows]
    return [job for job in jobs if job.claimed_by is not None and (is_dead(job) or _is_quiet(job, stale_before))]


def _is_quiet(job: ClaimedJob, stale_before: datetime) -> bool:
    return job.quiet_since is None or _aware(job.quiet_since) < stale_before


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite drops the zone


def _claimed_jobs_query(*, queued: bool = True):  # type: ignore[no-untyped-def]
    """Queued imports with their claims; with queued=False, the imports that were never queued (run directly)."""
    query = select(ImportJob.id, ImportJob.status, ImportJob.claimed_by, ImportJob.claim_host, ImportJob.claim_pid,
                   func.coalesce(ImportJob.heartbeat_at, QueuedImport.enqueued_at), func.coalesce(QueuedImport.attempts, 0))
    if queued:
        return query.join(QueuedImport, QueuedImport.job_id == ImportJob.id)
    return query.outerjoin(QueuedImport, QueuedImport.job_id == ImportJob.id).where(QueuedImport.job_id.is_(None))


def _as_claimed_job(row: object) -> ClaimedJob:
    job_id, status, claimed_by, host, pid, quiet_since, attempts = row  # type: ignore[misc]
    return ClaimedJob(job_id, status, claimed_by, host, pid, quiet_since, attempts)


def _claimed_job(connection: Connection, job_id: int) -> ClaimedJob | None:
    found = connection.execute(_claimed_jobs_query().where(ImportJob.id == job_id)).one_or_none()
    return None if found is None else _as_claimed_job(found)


# ---- notifications


def add_notification(engine: Engine, recipient: str, message: str, *, link: str = "", job_id: int | None = None,
                     now: Clock = utc_now) -> int:
    with engine.begin() as connection:
        return int(connection.execute(Notification.__table__.insert().values(
            recipient=recipient, message=message, link=link, job_id=job_id, created_at=now())
            .returning(Notification.id)).scalar_one())


def _notification(row: object) -> NotificationRecord:
    return NotificationRecord(row.id, row.recipient, row.message, row.link, row.job_id, row.created_at,  # type: ignore[attr-defined]
                              row.read_at is not None)  # type: ignore[attr-defined]


def list_notifications(engine: Engine, recipient: str, *, limit: int = 30) -> list[NotificationRecord]:
    with engine.connect() as connection:
        rows = connection.execute(select(Notification.__table__).where(Notification.recipient == recipient)
                                  .order_by(Notification.id.desc()).limit(limit)).all()
        return [_notification(row) for row in rows]


def unread_count(engine: Engine, recipient: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Notification).where(
            Notification.recipient == recipient, Notification.read_at.is_(None))).scalar_one())


def mark_notifications_read(engine: Engine, recipient: str, *, now: Clock = utc_now) -> None:
    with engine.begin() as connection:
        connection.execute(update(Notification).where(Notification.recipient == recipient,
                                                      Notification.read_at.is_(None)).values(read_at=now()))


def take_undelivered(engine: Engine, *, limit: int = 100, now: Clock = utc_now) -> list[NotificationRecord]:
    """Notifications not yet handed to the host's notification area; marked delivered as they are taken."""
    with engine.begin() as connection:
        rows = connection.execute(select(Notification.__table__).where(Notification.delivered_at.is_(None))
                                  .order_by(Notification.id).limit(limit)).all()
        if rows:
            connection.execute(update(Notification).where(Notification.id.in_([row.id for row in rows]),
                                                          Notification.delivered_at.is_(None))
                               .values(delivered_at=now()))
        return [_notification(row) for row in rows]


# ---- saved mappings


def header_signature(headers: Sequence[str]) -> str:
    """Files with the same headers (ignoring case, spaces and punctuation) have the same signature."""
    return hashlib.sha256("\x1f".join(normalize_header(header) for header in headers).encode()).hexdigest()


def save_mapping(engine: Engine, kind: str, name: str, headers: Sequence[str], mapping: Mapping[str, str], *,
                 created_by: str, now: Clock = utc_now) -> int:
    """Save (or replace, under the same name) a mapping for files with these headers."""
    signature = header_signature(headers)
    with engine.begin() as connection:
        existing = connection.execute(select(SavedMapping.id).where(
            SavedMapping.kind == kind, SavedMapping.signature == signature, SavedMapping.name == name)).scalar_one_or_none()
        if existing is not None:
            connection.execute(update(SavedMapping).where(SavedMapping.id == existing).values(
                mapping=dict(mapping), headers=list(headers), created_by=created_by, created_at=now()))
            return int(existing)
        return int(connection.execute(SavedMapping.__table__.insert().values(
            kind=kind, name=name, signature=signature, headers=list(headers), mapping=dict(mapping),
            created_by=created_by, created_at=now()).returning(SavedMapping.id)).scalar_one())


def saved_mappings_for(engine: Engine, kind: str, headers: Sequence[str]) -> list[SavedMappingRecord]:
    """Mappings saved for files with the same headers, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(SavedMapping.__table__).where(
            SavedMapping.kind == kind, SavedMapping.signature == header_signature(headers))
            .order_by(SavedMapping.created_at.desc(), SavedMapping.id.desc())).all()
        return [SavedMappingRecord(row.id, row.kind, row.name, dict(row.mapping or {}), row.created_by, row.created_at)
                for row in rows]


# ---- progress


def job_timing(engine: Engine, job_id: int) -> tuple[datetime | None, datetime | None]:
    """When an import started running and when it last made progress (for the time-left estimate)."""
    with engine.connect() as connection:
        found = connection.execute(select(ImportJob.started_at, ImportJob.heartbeat_at)
                                   .where(ImportJob.id == job_id)).one_or_none()
        return (None, None) if found is None else (found.started_at, found.heartbeat_at)


# ---- the standalone host's people


def agent_id_for_email(engine: Engine, email: str) -> int | None:
    """The agent with this email (any case), for API tokens made by email; None when there is none."""
    from adapters.db.agents import Agent  # agents are the standalone host's people; a helpdesk brings its own
    from plugin.emails import InvalidEmail, email_key, normalize_email

    try:
        key = email_key(normalize_email(email))
    except InvalidEmail:
        return None
    with engine.connect() as connection:
        found = connection.execute(select(Agent.id).where(Agent.email_key == key)).scalar_one_or_none()
        return None if found is None else int(found)


def row_results_by_action(engine: Engine, job_id: int, actions: Sequence[str], *, offset: int = 0,
                          limit: int = 50) -> list[dict[str, object]]:
    """A page of per-row results with one of these actions (the preview's "only failed rows")."""
    with engine.connect() as connection:
        rows = connection.execute(select(ImportRow.row, ImportRow.action, ImportRow.record_id, ImportRow.changes,
                                         ImportRow.errors)
                                  .where(ImportRow.job_id == job_id, ImportRow.action.in_(list(actions)))
                                  .order_by(ImportRow.row).offset(offset).limit(limit)).all()
        return [{"row": row.row, "action": row.action, "record_id": row.record_id, "changes": row.changes or [],
                 "errors": row.errors or []} for row in rows]
