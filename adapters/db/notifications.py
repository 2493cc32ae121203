"""The notification area: messages for one person ("Imported 4,980 customers: ..."), read in the bell or handed
to the host; SqlNotifications is plugin.ports.Notifications over it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Integer, Row, String, Table, Text, func, select, update

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.models import metadata
from plugin.ports.uploads import NotificationRecord  # noqa: F401  (handed out here)

Clock = Callable[[], datetime]


# A message for one person ("Imported 4,980 customers: ..."), read in the bell or handed to the host.
web_notifications = Table(
    "web_notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recipient", String(320), index=True, nullable=False),
    Column("message", Text, nullable=False),
    Column("link", String(500), default="", nullable=False),
    Column("job_id", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
)


def add_notification(bind: Bind, recipient: str, message: str, *, link: str = "", job_id: int | None = None,
                     now: Clock = utc_now) -> int:
    with writing(bind) as connection:
        return int(connection.execute(web_notifications.insert().values(
            recipient=recipient, message=message, link=link, job_id=job_id, created_at=now())
            .returning(web_notifications.c.id)).scalar_one())


def _notification(row: Row[Any]) -> NotificationRecord:
    return NotificationRecord(row.id, row.recipient, row.message, row.link, row.job_id, row.created_at,
                              row.read_at is not None)


def list_notifications(bind: Bind, recipient: str, *, limit: int = 30) -> list[NotificationRecord]:
    with reading(bind) as connection:
        rows = connection.execute(select(web_notifications).where(web_notifications.c.recipient == recipient)
                                  .order_by(web_notifications.c.id.desc()).limit(limit)).all()
        return [_notification(row) for row in rows]


def unread_count(bind: Bind, recipient: str) -> int:
    with reading(bind) as connection:
        return int(connection.execute(select(func.count()).select_from(web_notifications).where(
            web_notifications.c.recipient == recipient, web_notifications.c.read_at.is_(None))).scalar_one())


def mark_notifications_read(bind: Bind, recipient: str, *, now: Clock = utc_now) -> None:
    with writing(bind) as connection:
        connection.execute(update(web_notifications).where(web_notifications.c.recipient == recipient,
                                                           web_notifications.c.read_at.is_(None)).values(read_at=now()))


def take_undelivered(bind: Bind, *, limit: int = 100, now: Clock = utc_now) -> list[NotificationRecord]:
    """Notifications not yet handed to the host's notification area; marked delivered as they are taken."""
    with writing(bind) as connection:
        rows = connection.execute(select(web_notifications).where(web_notifications.c.delivered_at.is_(None))
                                  .order_by(web_notifications.c.id).limit(limit)).all()
        if rows:
            connection.execute(update(web_notifications)
                               .where(web_notifications.c.id.in_([row.id for row in rows]),
                                      web_notifications.c.delivered_at.is_(None))
                               .values(delivered_at=now()))
        return [_notification(row) for row in rows]


class SqlNotifications:
    """Written through add_notification, in a transaction of its own: notify after committing."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def notify(self, recipient: str, message: str, *, job_id: int | None) -> None:
        add_notification(self.connection.engine, recipient, message, job_id=job_id)
