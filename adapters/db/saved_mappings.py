"""Mappings saved by name, suggested again for files with the same headers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, UniqueConstraint, select, update

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.models import metadata
from plugin.mapping import normalize_header
from plugin.ports.uploads import SavedMappingRecord  # noqa: F401  (handed out here)

Clock = Callable[[], datetime]


# A mapping saved by name, suggested again for files with the same headers.
web_saved_mappings = Table(
    "web_saved_mappings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("signature", String(64), index=True, nullable=False),  # of the normalised headers
    Column("headers", JSON, default=list, nullable=False),
    Column("mapping", JSON, default=dict, nullable=False),
    Column("created_by", String(320), default="", nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "signature", "name", name="uq_web_saved_mappings_name"),
)


def header_signature(headers: Sequence[str]) -> str:
    """Files with the same headers (ignoring case, spaces and punctuation) have the same signature."""
    return hashlib.sha256("\x1f".join(normalize_header(header) for header in headers).encode()).hexdigest()


def save_mapping(bind: Bind, kind: str, name: str, headers: Sequence[str], mapping: Mapping[str, str], *,
                 created_by: str, now: Clock = utc_now) -> int:
    """Save (or replace, under the same name) a mapping for files with these headers."""
    signature = header_signature(headers)
    with writing(bind) as connection:
        existing = connection.execute(select(web_saved_mappings.c.id).where(
            web_saved_mappings.c.kind == kind, web_saved_mappings.c.signature == signature,
            web_saved_mappings.c.name == name)).scalar_one_or_none()
        if existing is not None:
            connection.execute(update(web_saved_mappings).where(web_saved_mappings.c.id == existing).values(
                mapping=dict(mapping), headers=list(headers), created_by=created_by, created_at=now()))
            return int(existing)
        return int(connection.execute(web_saved_mappings.insert().values(
            kind=kind, name=name, signature=signature, headers=list(headers), mapping=dict(mapping),
            created_by=created_by, created_at=now()).returning(web_saved_mappings.c.id)).scalar_one())


def saved_mappings_for(bind: Bind, kind: str, headers: Sequence[str]) -> list[SavedMappingRecord]:
    """Mappings saved for files with the same headers, newest first."""
    with reading(bind) as connection:
        rows = connection.execute(select(web_saved_mappings).where(
            web_saved_mappings.c.kind == kind, web_saved_mappings.c.signature == header_signature(headers))
            .order_by(web_saved_mappings.c.created_at.desc(), web_saved_mappings.c.id.desc())).all()
        return [SavedMappingRecord(row.id, row.kind, row.name, dict(row.mapping or {}), row.created_by, row.created_at)
                for row in rows]
