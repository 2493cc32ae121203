"""SqlNoticeStore: plugin.ports.notices.NoticeStore: the deliveries of job notices, their attempts, and each
person's choice about notices by e-mail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)

from adapters.db.dialect import insert_for
from adapters.db.models import metadata
from adapters.db.undo import _utc as utc_aware
from plugin.ports.notices import Delivery, DeliveryAttempt

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


# One notice of one job on one channel to one target; sent by the worker, tried again until it went.
notice_deliveries = Table(
    "notice_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True, nullable=False),
    Column("channel", String(20), nullable=False),  # webhook, email
    Column("target", String(500), nullable=False),  # the URL, or the person's address
    Column("payload", JSON, nullable=False),  # counts, kind, status, file name and link: never row data
    Column("status", String(20), index=True, nullable=False),  # pending, delivered, failed (given up)
    Column("attempts", Integer, default=0, nullable=False),
    Column("next_try_at", DateTime(timezone=True)),
    Column("claimed_until", DateTime(timezone=True)),  # a sender holds it
    Column("last_status_code", Integer),
    Column("last_error", Text, default="", nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("job_id", "channel", "target", name="uq_notice_deliveries_target"),
)


# One try at a delivery: the listener's status code, the error, and when the next try is.
notice_attempts = Table(
    "notice_attempts",
    metadata,
    Column("delivery_id", ForeignKey("notice_deliveries.id", ondelete="CASCADE"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("error", Text, default="", nullable=False),
    Column("next_try_at", DateTime(timezone=True)),
)


# A person's own choice about notices by e-mail; without one, the notify_by_email setting decides.
notice_email_choices = Table(
    "notice_email_choices",
    metadata,
    Column("person", String(320), primary_key=True),  # the address, lower-case
    Column("wants_email", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)


class SqlNoticeStore:
    """NoticeStore bound to one connection (one unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def queue(self, job_id: int, channel: str, target: str, payload: Mapping[str, object], *, now: datetime) -> bool:
        return self.connection.execute(insert_for(self.connection, notice_deliveries).values(
            job_id=job_id, channel=channel, target=target, payload=dict(payload), status=PENDING, attempts=0,
            next_try_at=now, created_at=now, last_error="",
        ).on_conflict_do_nothing(index_elements=["job_id", "channel", "target"])).rowcount == 1

    def due(self, *, now: datetime, limit: int) -> list[Delivery]:
        rows = self.connection.execute(select(notice_deliveries).where(
            notice_deliveries.c.status == PENDING, notice_deliveries.c.next_try_at <= now,
            or_(notice_deliveries.c.claimed_until.is_(None), notice_deliveries.c.claimed_until < now),
        ).order_by(notice_deliveries.c.next_try_at, notice_deliveries.c.id).limit(limit)).all()
        return [_delivery(row) for row in rows]

    def claim(self, delivery_id: int, *, now: datetime, until: datetime) -> bool:
        return self.connection.execute(update(notice_deliveries).where(
            notice_deliveries.c.id == delivery_id, notice_deliveries.c.status == PENDING,
            notice_deliveries.c.next_try_at <= now,
            or_(notice_deliveries.c.claimed_until.is_(None), notice_deliveries.c.claimed_until < now),
        ).values(claimed_until=until)).rowcount == 1

    def record_attempt(self, delivery_id: int, *, now: datetime, status_code: int | None, error: str,
                       next_try_at: datetime | None) -> None:
        attempt = self.connection.execute(select(notice_deliveries.c.attempts).where(
            notice_deliveries.c.id == delivery_id)).scalar_one() + 1
        self.connection.execute(notice_attempts.insert().values(delivery_id=delivery_id, attempt=attempt, at=now,
                                                                status_code=status_code, error=error,
                                                                next_try_at=next_try_at))
        status = DELIVERED if not error else PENDING if next_try_at is not None else FAILED
        self.connection.execute(update(notice_deliveries).where(notice_deliveries.c.id == delivery_id).values(
            attempts=attempt, status=status, next_try_at=next_try_at, claimed_until=None,
            last_status_code=status_code, last_error=error, delivered_at=now if status == DELIVERED else None))

    def list_deliveries(self, *, limit: int, job_id: int | None = None, status: str | None = None
                        ) -> list[Delivery]:
        query = select(notice_deliveries)
        if job_id is not None:
            query = query.where(notice_deliveries.c.job_id == job_id)
        if status is not None:
            query = query.where(notice_deliveries.c.status == status)
        rows = self.connection.execute(query.order_by(notice_deliveries.c.id.desc()).limit(limit)).all()
        logs: dict[int, list[DeliveryAttempt]] = {row.id: [] for row in rows}
        if logs:
            for tried in self.connection.execute(select(notice_attempts)
                                                 .where(notice_attempts.c.delivery_id.in_(list(logs)))
                                                 .order_by(notice_attempts.c.delivery_id, notice_attempts.c.attempt)
                                                 ).all():
                logs[tried.delivery_id].append(DeliveryAttempt(tried.attempt, utc_aware(tried.at), tried.status_code,
                                                               tried.error, utc_aware(tried.next_try_at)))
        return [_delivery(row, tuple(logs[row.id])) for row in rows]

    def email_choice(self, person: str) -> bool | None:
        return self.connection.execute(select(notice_email_choices.c.wants_email).where(
            notice_email_choices.c.person == person.lower())).scalar_one_or_none()

    def set_email_choice(self, person: str, wants_email: bool | None, *, now: datetime) -> None:
        key = person.lower()
        self.connection.execute(delete(notice_email_choices).where(notice_email_choices.c.person == key))
        if wants_email is not None:
            self.connection.execute(notice_email_choices.insert()
                                    .values(person=key, wants_email=wants_email, changed_at=now))


def _delivery(row, log: tuple[DeliveryAttempt, ...] = ()) -> Delivery:  # type: ignore[no-untyped-def]
    return Delivery(id=row.id, job_id=row.job_id, channel=row.channel, target=row.target, payload=row.payload,
                    status=row.status, attempts=row.attempts, next_try_at=utc_aware(row.next_try_at),
                    created_at=utc_aware(row.created_at), last_error=row.last_error or "",
                    last_status_code=row.last_status_code, log=log)
