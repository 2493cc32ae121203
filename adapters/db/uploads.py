"""The files people upload through the web pages, kept under upload_dir until their preview and import are done
(the imports queued for them: adapters/db/import_queue.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.models import Base
from plugin.ports.uploads import UploadRecord  # noqa: F401  (handed out here)

Clock = Callable[[], datetime]


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


def _upload(row: Upload) -> UploadRecord:
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
        connection.execute(Upload.__table__.insert().values(
            id=upload_id, kind=kind, file_name=file_name, actor=actor, path=path, size=size, file_hash=file_hash,
            headers=list(headers),
            mapping=None, options={}, is_kept_for_start=is_kept_for_start, created_at=now()))


def get_upload(bind: Bind, upload_id: str) -> UploadRecord | None:
    with reading(bind) as connection:
        found = connection.execute(select(Upload.__table__).where(Upload.id == upload_id)).one_or_none()
        return None if found is None else _upload(found)  # type: ignore[arg-type]


def change_upload(bind: Bind, upload_id: str, **values: object) -> None:
    """Store the chosen mapping, options, preview or import job of an upload."""
    allowed = {"mapping", "options", "preview_job_id", "import_job_id", "is_kept_for_start"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} of an upload")
    with writing(bind) as connection:
        connection.execute(update(Upload).where(Upload.id == upload_id).values(**values))


def mark_upload_deleted(bind: Bind, upload_id: str, *, now: Clock = utc_now) -> None:
    with writing(bind) as connection:
        connection.execute(update(Upload).where(Upload.id == upload_id, Upload.deleted_at.is_(None))
                           .values(deleted_at=now()))
