"""The files people upload through the web pages, kept under upload_dir until their preview and import are done
(the imports queued for them: adapters/db/import_queue.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, Row, String, Table, Text, select, update

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.models import metadata
from plugin.ports.uploads import UploadRecord  # noqa: F401  (handed out here)

Clock = Callable[[], datetime]


# A file a person uploaded, waiting under upload_dir for its preview and import.
web_uploads = Table(
    "web_uploads",
    metadata,
    Column("id", String(40), primary_key=True),  # random: it appears in URLs
    Column("kind", String(40), nullable=False),
    Column("file_name", String(500), nullable=False),
    Column("actor", String(320), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("file_hash", String(64), index=True),  # SHA-256: the same file, recognised
    Column("headers", JSON, default=list, nullable=False),
    Column("mapping", JSON),  # {header: field or ""}, as the person chose
    Column("options", JSON, default=dict, nullable=False),  # defaults, create_labels, all_or_nothing...
    Column("is_kept_for_start", Boolean, default=False, nullable=False),  # a preview will be followed by Start
    Column("preview_job_id", Integer),
    Column("import_job_id", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True)),
)


def _upload(row: Row) -> UploadRecord:
    return UploadRecord(row.id, row.kind, row.file_name, row.actor, row.path, row.size, tuple(row.headers or ()),
                        dict(row.mapping) if row.mapping is not None else None, dict(row.options or {}),
                        row.is_kept_for_start, row.preview_job_id, row.import_job_id, row.created_at,
                        row.deleted_at is not None, row.file_hash)


def new_upload_id() -> str:
    return secrets.token_urlsafe(18)


def add_upload(bind: Bind, upload_id: str, *, kind: str, file_name: str, actor: str, path: str, size: int,
               headers: Sequence[str] = (), is_kept_for_start: bool = False, file_hash: str | None = None,
               now: Clock = utc_now) -> None:
    with writing(bind) as connection:
        connection.execute(web_uploads.insert().values(
            id=upload_id, kind=kind, file_name=file_name, actor=actor, path=path, size=size, file_hash=file_hash,
            headers=list(headers),
            mapping=None, options={}, is_kept_for_start=is_kept_for_start, created_at=now()))


def get_upload(bind: Bind, upload_id: str) -> UploadRecord | None:
    with reading(bind) as connection:
        found = connection.execute(select(web_uploads).where(web_uploads.c.id == upload_id)).one_or_none()
        return None if found is None else _upload(found)  # type: ignore[arg-type]


def change_upload(bind: Bind, upload_id: str, **values: object) -> None:
    """Store the chosen mapping, options, preview or import job of an upload."""
    allowed = {"mapping", "options", "preview_job_id", "import_job_id", "is_kept_for_start"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} of an upload")
    with writing(bind) as connection:
        connection.execute(update(web_uploads).where(web_uploads.c.id == upload_id).values(**values))


def mark_upload_deleted(bind: Bind, upload_id: str, *, now: Clock = utc_now) -> None:
    with writing(bind) as connection:
        connection.execute(update(web_uploads)
                           .where(web_uploads.c.id == upload_id, web_uploads.c.deleted_at.is_(None))
                           .values(deleted_at=now()))
