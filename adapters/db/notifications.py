"""The notification area: messages for one person ("Imported 4,980 customers: ..."), read in the bell or handed
to the host; SqlNotifications is plugin.ports.Notifications over it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Integer, Row, String, Text, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.binding import Bind, reading, writing
from adapters.db.catalog import utc_now
from adapters.db.models import Base
from plugin.ports.uploads import NotificationRecord  # noqa: F401  (handed out here)

Clock = Callable[[], datetime]


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


def add_notification(bind: Bind, recipient: str, message: str, *, link: str = "", job_id: int | None = None,
                     now: Clock = utc_now) -> int:
    with writing(bind) as connection:
        return int(connection.execute(Notification.__table__.insert().values(
            recipient=recipient, message=message, link=link, job_id=job_id, created_at=now())
            .returning(Notification.id)).scalar_one())


def _notification(row: Row[Any]) -> NotificationRecord:
    return NotificationRecord(row.id, row.recipient, row.message, row.link, row.job_id, row.created_at,
                              row.read_at is not None)


def list_notifications(bind: Bind, recipient: str, *, limit: int = 30) -> list[NotificationRecord]:
    with reading(bind) as connection:
        rows = connection.execute(select(Notification.__table__).where(Notification.recipient == recipient)
                                  .order_by(Notification.id.desc()).limit(limit)).all()
        return [_notification(row) for row in rows]


def unread_count(bind: Bind, recipient: str) -> int:
    with reading(bind) as connection:
        return int(connection.execute(select(func.count()).select_from(Notification).where(
            Notification.recipient == recipient, Notification.read_at.is_(None))).scalar_one())


def mark_notifications_read(bind: Bind, recipient: str, *, now: Clock = utc_now) -> None:
    with writing(bind) as connection:
        connection.execute(update(Notification).where(Notification.recipient == recipient,
                                                      Notification.read_at.is_(None)).values(read_at=now()))


def take_undelivered(bind: Bind, *, limit: int = 100, now: Clock = utc_now) -> list[NotificationRecord]:
    """Notifications not yet handed to the host's notification area; marked delivered as they are taken."""
    with writing(bind) as connection:
        rows = connection.execute(select(Notification.__table__).where(Notification.delivered_at.is_(None))
                                  .order_by(Notification.id).limit(limit)).all()
        if rows:
            connection.execute(update(Notification).where(Notification.id.in_([row.id for row in rows]),
                                                          Notification.delivered_at.is_(None))
                               .values(delivered_at=now()))
        return [_notification(row) for row in rows]


class SqlNotifications:
    """Written through add_notification, in a transaction of its own: notify after committing."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def notify(self, recipient: str, message: str, *, job_id: int | None) -> None:
        add_notification(self.connection.engine, recipient, message, job_id=job_id)
