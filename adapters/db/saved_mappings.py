"""Mappings saved by name, suggested again for files with the same headers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.models import Base
from plugin.mapping import normalize_header
from plugin.ports.uploads import SavedMappingRecord  # noqa: F401  (handed out here)

Clock = Callable[[], datetime]


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


def header_signature(headers: Sequence[str]) -> str:
    """Files with the same headers (ignoring case, spaces and punctuation) have the same signature."""
    return hashlib.sha256("\x1f".join(normalize_header(header) for header in headers).encode()).hexdigest()


def save_mapping(bind: Bind, kind: str, name: str, headers: Sequence[str], mapping: Mapping[str, str], *,
                 created_by: str, now: Clock = utc_now) -> int:
    """Save (or replace, under the same name) a mapping for files with these headers."""
    signature = header_signature(headers)
    with writing(bind) as connection:
        existing = connection.execute(select(SavedMapping.id).where(
            SavedMapping.kind == kind, SavedMapping.signature == signature, SavedMapping.name == name)).scalar_one_or_none()
        if existing is not None:
            connection.execute(update(SavedMapping).where(SavedMapping.id == existing).values(
                mapping=dict(mapping), headers=list(headers), created_by=created_by, created_at=now()))
            return int(existing)
        return int(connection.execute(SavedMapping.__table__.insert().values(
            kind=kind, name=name, signature=signature, headers=list(headers), mapping=dict(mapping),
            created_by=created_by, created_at=now()).returning(SavedMapping.id)).scalar_one())


def saved_mappings_for(bind: Bind, kind: str, headers: Sequence[str]) -> list[SavedMappingRecord]:
    """Mappings saved for files with the same headers, newest first."""
    with reading(bind) as connection:
        rows = connection.execute(select(SavedMapping.__table__).where(
            SavedMapping.kind == kind, SavedMapping.signature == header_signature(headers))
            .order_by(SavedMapping.created_at.desc(), SavedMapping.id.desc())).all()
        return [SavedMappingRecord(row.id, row.kind, row.name, dict(row.mapping or {}), row.created_by, row.created_at)
                for row in rows]
