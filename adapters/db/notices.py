"""SqlNoticeStore: plugin.ports.notices.NoticeStore: the deliveries of job notices, their attempts, and each
person's choice about notices by e-mail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.dialect import insert_for
from adapters.db.models import Base
from adapters.db.undo import _utc as utc_aware
from plugin.ports.notices import Delivery, DeliveryAttempt

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class NoticeDelivery(Base):
    """One notice of one job on one channel to one target; sent by the worker, tried again until it went."""

    __tablename__ = "notice_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # webhook, email
    target: Mapped[str] = mapped_column(String(500))  # the URL, or the person's address
    payload: Mapped[dict] = mapped_column(JSON)  # counts, kind, status, file name and link: never row data
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending, delivered, failed (given up)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a sender holds it
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("job_id", "channel", "target", name="uq_notice_deliveries_target"),)


class NoticeAttempt(Base):
    """One try at a delivery: the listener's status code, the error, and when the next try is."""

    __tablename__ = "notice_attempts"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("notice_deliveries.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    next_try_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NoticeEmailChoice(Base):
    """A person's own choice about notices by e-mail; without one, the notify_by_email setting decides."""

    __tablename__ = "notice_email_choices"

    person: Mapped[str] = mapped_column(String(320), primary_key=True)  # the address, lower-case
    wants_email: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


deliveries = NoticeDelivery.__table__
attempts = NoticeAttempt.__table__
choices = NoticeEmailChoice.__table__


class SqlNoticeStore:
    """NoticeStore bound to one connection (one unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def queue(self, job_id: int, channel: str, target: str, payload: Mapping[str, object], *, now: datetime) -> bool:
        return self.connection.execute(insert_for(self.connection, deliveries).values(
            job_id=job_id, channel=channel, target=target, payload=dict(payload), status=PENDING, attempts=0,
            next_try_at=now, created_at=now, last_error="",
        ).on_conflict_do_nothing(index_elements=["job_id", "channel", "target"])).rowcount == 1

    def due(self, *, now: datetime, limit: int) -> list[Delivery]:
        rows = self.connection.execute(select(deliveries).where(
            deliveries.c.status == PENDING, deliveries.c.next_try_at <= now,
            or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        ).order_by(deliveries.c.next_try_at, deliveries.c.id).limit(limit)).all()
        return [_delivery(row) for row in rows]

    def claim(self, delivery_id: int, *, now: datetime, until: datetime) -> bool:
        return self.connection.execute(update(deliveries).where(
            deliveries.c.id == delivery_id, deliveries.c.status == PENDING, deliveries.c.next_try_at <= now,
            or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        ).values(claimed_until=until)).rowcount == 1

    def record_attempt(self, delivery_id: int, *, now: datetime, status_code: int | None, error: str,
                       next_try_at: datetime | None) -> None:
        attempt = self.connection.execute(select(deliveries.c.attempts).where(
            deliveries.c.id == delivery_id)).scalar_one() + 1
        self.connection.execute(attempts.insert().values(delivery_id=delivery_id, attempt=attempt, at=now,
                                                         status_code=status_code, error=error, next_try_at=next_try_at))
        status = DELIVERED if not error else PENDING if next_try_at is not None else FAILED
        self.connection.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
            attempts=attempt, status=status, next_try_at=next_try_at, claimed_until=None,
            last_status_code=status_code, last_error=error, delivered_at=now if status == DELIVERED else None))

    def list_deliveries(self, *, limit: int, job_id: int | None = None, status: str | None = None
                        ) -> list[Delivery]:
        query = select(deliveries)
        if job_id is not None:
            query = query.where(deliveries.c.job_id == job_id)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        rows = self.connection.execute(query.order_by(deliveries.c.id.desc()).limit(limit)).all()
        logs: dict[int, list[DeliveryAttempt]] = {row.id: [] for row in rows}
        if logs:
            for tried in self.connection.execute(select(attempts).where(attempts.c.delivery_id.in_(list(logs)))
                                                 .order_by(attempts.c.delivery_id, attempts.c.attempt)).all():
                logs[tried.delivery_id].append(DeliveryAttempt(tried.attempt, utc_aware(tried.at), tried.status_code,
                                                               tried.error, utc_aware(tried.next_try_at)))
        return [_delivery(row, tuple(logs[row.id])) for row in rows]

    def email_choice(self, person: str) -> bool | None:
        return self.connection.execute(select(choices.c.wants_email).where(
            choices.c.person == person.lower())).scalar_one_or_none()

    def set_email_choice(self, person: str, wants_email: bool | None, *, now: datetime) -> None:
        key = person.lower()
        self.connection.execute(delete(choices).where(choices.c.person == key))
        if wants_email is not None:
            self.connection.execute(choices.insert().values(person=key, wants_email=wants_email, changed_at=now))


def _delivery(row, log: tuple[DeliveryAttempt, ...] = ()) -> Delivery:  # type: ignore[no-untyped-def]
    return Delivery(id=row.id, job_id=row.job_id, channel=row.channel, target=row.target, payload=row.payload,
                    status=row.status, attempts=row.attempts, next_try_at=utc_aware(row.next_try_at),
                    created_at=utc_aware(row.created_at), last_error=row.last_error or "",
                    last_status_code=row.last_status_code, log=log)
