"""SqlMailboxes: plugin.ports.MailboxStore on one connection (one unit of work), and the two tables it keeps.

A lease is taken by one UPDATE that only succeeds when the last lease expired; every other write of a poll
checks, in the same statement, that the lease is still its own. A batch's customers are written by
adapters.db.captured_customers, in the same transaction as the position and skips written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from adapters.db.agents import agents
from adapters.db.catalog import ensure_labels
from adapters.db.engine import insert_many, stored_value
from adapters.db.models import import_jobs, metadata
from plugin.ports.mailboxes import (MAIL_JOB_KIND, BatchCounts, Lease, MailboxExists, MailboxRecord,
                                    MailboxStatus, MailboxTally, MailSkipRecord, NewMailbox)
from plugin.report import Status


# A support mailbox (one folder of one IMAP account) whose correspondents become contacts.
mailboxes = Table(
    "mailboxes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), unique=True, nullable=False),
    Column("host", String(255), nullable=False),
    Column("port", Integer),  # None: 993 with TLS, 143 without
    Column("user", String(320), nullable=False),
    Column("password_env", String(100), nullable=False),  # the NAME of the variable, never the password
    Column("tls", Boolean, default=True, nullable=False),
    Column("folder", String(200), default="INBOX", nullable=False),
    Column("since", Date),  # None: the last mail_since_days days, counted at each poll
    Column("own_addresses", JSON, default=list, nullable=False),  # besides `user` and the setting's
    Column("label", String(200)),  # given to every contact this mailbox creates
    Column("captures_leads", Boolean, default=False, server_default="0", nullable=False),  # a sales inbox
    Column("uidvalidity", BigInteger),  # with last_uid: the position; None before a poll
    Column("last_uid", BigInteger),
    Column("last_poll_at", DateTime(timezone=True)),
    Column("status", String(20), default=MailboxStatus.NEW.value, nullable=False),
    Column("error_code", String(40), default="", nullable=False),
    Column("error", Text, default="", nullable=False),
    Column("failures", Integer, default=0, nullable=False),  # failed polls in a row
    Column("next_attempt_at", DateTime(timezone=True)),  # None: due now
    Column("lease_until", DateTime(timezone=True)),
    Column("lease_owner", String(64)),  # so a late worker cannot renew someone else's
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# A message whose author did not become a contact, and why: `mailbox skips NAME` shows them.
mail_skips = Table(
    "mail_skips",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mailbox_id", ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("reason", String(20), nullable=False),  # a plugin.mail.SkipReason value
    Column("detail", Text, default="", nullable=False),
    Column("email", String(320)),  # the From address as written, lowercased
    Column("message_id", Text),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("mailbox_id", "uidvalidity", "uid", name="uq_mail_skips_message"),
    Index("ix_mail_skips_email", "email"),
)


SKIP_COLUMNS = ("mailbox_id", "uidvalidity", "uid", "reason", "detail", "email", "message_id", "seen_at")


class SqlMailboxes:
    """Implements plugin.ports.MailboxStore on one connection; every datetime is stored in UTC."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, mailbox: NewMailbox, *, now: datetime) -> int:
        moment = _utc(now)
        if mailbox.label:
            ensure_labels(self.connection, [mailbox.label], now=lambda: moment)
        try:
            with self.connection.begin_nested():  # a taken name leaves the unit of work usable
                return self.connection.execute(mailboxes.insert().values(
                    name=mailbox.name, host=mailbox.host, port=mailbox.port, user=mailbox.user,
                    password_env=mailbox.password_env, tls=mailbox.tls, folder=mailbox.folder, since=mailbox.since,
                    own_addresses=list(mailbox.own_addresses), label=mailbox.label or None,
                    captures_leads=mailbox.captures_leads, status=MailboxStatus.NEW.value, error_code="", error="", failures=0, created_at=moment,
                ).returning(mailboxes.c.id)).scalar_one()
        except IntegrityError as error:
            raise MailboxExists(f"There is a mailbox named {mailbox.name!r} already.") from error

    def named(self, name: str) -> MailboxRecord | None:
        row = self.connection.execute(select(mailboxes).where(mailboxes.c.name == name)).one_or_none()
        return None if row is None else _record(row)

    def all(self) -> list[MailboxRecord]:
        return [_record(row) for row in self.connection.execute(select(mailboxes).order_by(mailboxes.c.name))]

    def due(self, *, now: datetime) -> list[MailboxRecord]:
        moment = _utc(now)
        rows = self.connection.execute(select(mailboxes).where(
            or_(mailboxes.c.next_attempt_at.is_(None), mailboxes.c.next_attempt_at <= moment),
            or_(mailboxes.c.lease_until.is_(None), mailboxes.c.lease_until < moment),
        ).order_by(mailboxes.c.name)).all()
        return [_record(row) for row in rows]

    def change(self, name: str, mailbox: NewMailbox, *, is_moved: bool, now: datetime) -> bool:
        moment = _utc(now)
        if mailbox.label:
            ensure_labels(self.connection, [mailbox.label], now=lambda: moment)
        moved = {"uidvalidity": None, "last_uid": None} if is_moved else {}
        return self.connection.execute(update(mailboxes).where(mailboxes.c.name == name).values(
            host=mailbox.host, port=mailbox.port, user=mailbox.user, password_env=mailbox.password_env,
            tls=mailbox.tls, folder=mailbox.folder, own_addresses=list(mailbox.own_addresses),
            label=mailbox.label or None, captures_leads=mailbox.captures_leads, next_attempt_at=None,
            **moved)).rowcount == 1

    def tallies(self) -> dict[str, MailboxTally]:
        skipped = (select(func.count()).select_from(mail_skips).where(mail_skips.c.mailbox_id == mailboxes.c.id)
                   .scalar_subquery())
        captured = (select(func.coalesce(func.sum(import_jobs.c.created), 0)).where(
            import_jobs.c.kind == MAIL_JOB_KIND, import_jobs.c.actor == literal("mailbox:") + mailboxes.c.name,
            import_jobs.c.created_at >= mailboxes.c.created_at).scalar_subquery())
        rows = self.connection.execute(select(mailboxes.c.name, captured.label("captured"), skipped.label("skipped")))
        return {row.name: MailboxTally(int(row.captured), int(row.skipped)) for row in rows}

    def remove(self, name: str) -> bool:
        found = self.connection.execute(select(mailboxes.c.id).where(mailboxes.c.name == name)).scalar()
        if found is None:
            return False
        self.connection.execute(delete(mail_skips).where(mail_skips.c.mailbox_id == found))
        self.connection.execute(delete(mailboxes).where(mailboxes.c.id == found))
        return True

    def agent_address_keys(self) -> frozenset[str]:
        return frozenset(self.connection.execute(select(agents.c.email_key)).scalars())

    # ---- leases

    def take_lease(self, mailbox_id: int, owner: str, *, seconds: float, now: datetime) -> Lease | None:
        moment = _utc(now)
        taken = self.connection.execute(update(mailboxes).where(
            mailboxes.c.id == mailbox_id,
            or_(mailboxes.c.lease_until.is_(None), mailboxes.c.lease_until < moment),
        ).values(lease_until=moment + timedelta(seconds=seconds), lease_owner=owner)).rowcount
        if taken != 1:
            return None
        row = self.connection.execute(select(mailboxes).where(mailboxes.c.id == mailbox_id)).one()
        return Lease(_record(row), owner, seconds)

    def renew_lease(self, lease: Lease, *, now: datetime) -> bool:
        return self.connection.execute(update(mailboxes).where(*_held(lease)).values(
            lease_until=_utc(now) + timedelta(seconds=lease.seconds))).rowcount == 1

    def release_lease(self, lease: Lease) -> None:
        self.connection.execute(update(mailboxes).where(*_held(lease)).values(lease_until=None, lease_owner=None))

    def release_leases(self, owner: str) -> int:
        return self.connection.execute(update(mailboxes).where(mailboxes.c.lease_owner == owner)
                                       .values(lease_until=None, lease_owner=None)).rowcount

    # ---- a batch

    def move_position(self, lease: Lease, *, uidvalidity: int, last_uid: int, now: datetime) -> bool:
        return self.connection.execute(update(mailboxes).where(*_held(lease)).values(
            uidvalidity=uidvalidity, last_uid=last_uid, lease_until=_utc(now) + timedelta(seconds=lease.seconds),
        )).rowcount == 1

    def start_job(self, mailbox: MailboxRecord, *, now: datetime) -> int:
        moment = _utc(now)
        return self.connection.execute(import_jobs.insert().values(
            kind=MAIL_JOB_KIND, status=str(Status.RUNNING), is_dry_run=False, actor=f"mailbox:{mailbox.name}",
            file_name=f"{mailbox.name} ({mailbox.folder})", options={"mailbox": mailbox.name, "folder": mailbox.folder},
            headers=[], mapping=[], total=0, rows_done=0, created=0, updated=0, unchanged=0, failed=0, message="",
            error_code="", created_at=moment, started_at=moment, heartbeat_at=moment,
        ).returning(import_jobs.c.id)).scalar_one()

    def add_skips(self, mailbox_id: int, uidvalidity: int, skips: Sequence[MailSkipRecord], *, now: datetime) -> None:
        seen_at = stored_value(self.connection, mail_skips.c.seen_at, _utc(now))
        insert_many(self.connection, mail_skips, SKIP_COLUMNS,
                    [(mailbox_id, uidvalidity, skip.uid, skip.reason, skip.detail, skip.email, skip.message_id, seen_at)
                     for skip in skips], on_conflict="ON CONFLICT DO NOTHING")

    def count_batch(self, job_id: int, counts: BatchCounts, *, now: datetime) -> None:
        self.connection.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(
            total=import_jobs.c.total + counts.fetched, rows_done=import_jobs.c.rows_done + counts.fetched,
            created=import_jobs.c.created + counts.created, unchanged=import_jobs.c.unchanged + counts.unchanged,
            failed=import_jobs.c.failed + counts.failed, heartbeat_at=_utc(now)))

    # ---- how a poll ended

    def mark_polled(self, lease: Lease, *, job_id: int | None, failed: int, message: str, now: datetime,
                    is_released: bool = True) -> None:
        moment = _utc(now)
        released = {"lease_until": None, "lease_owner": None} if is_released else {}
        self.connection.execute(update(mailboxes).where(*_held(lease)).values(
            status=MailboxStatus.OK.value, error_code="", error="", failures=0, last_poll_at=moment,
            next_attempt_at=None, **released))
        if job_id is not None:
            status = Status.PARTIAL if failed else Status.SUCCEEDED
            self._finish_job(job_id, status=status, message=message, error_code="", moment=moment)

    def mark_failed(self, lease: Lease, *, code: str, message: str, retry_after: timedelta, job_id: int | None,
                    now: datetime) -> MailboxRecord:
        moment = _utc(now)
        self.connection.execute(update(mailboxes).where(*_held(lease)).values(
            status=MailboxStatus.FAILING.value, error_code=code, error=message, failures=mailboxes.c.failures + 1,
            last_poll_at=moment, next_attempt_at=moment + retry_after, lease_until=None, lease_owner=None))
        if job_id is None:
            job_id = self.start_job(lease.mailbox, now=moment)
        self._finish_job(job_id, status=Status.FAILED, message=message, error_code=f"mail.{code}", moment=moment)
        return _record(self.connection.execute(select(mailboxes).where(mailboxes.c.id == lease.mailbox.id)).one())

    def _finish_job(self, job_id: int, *, status: Status, message: str, error_code: str, moment: datetime) -> None:
        self.connection.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(
            status=str(status), message=message, error_code=error_code, finished_at=moment, heartbeat_at=moment))

    # ---- why someone is missing

    def skips(self, mailbox_name: str, *, email: str | None = None, limit: int = 50,
              offset: int = 0) -> list[MailSkipRecord]:
        query = (select(mail_skips).join(mailboxes, mailboxes.c.id == mail_skips.c.mailbox_id)
                 .where(mailboxes.c.name == mailbox_name))
        if email:
            query = query.where(mail_skips.c.email == email.strip().lower())
        rows = self.connection.execute(query.order_by(mail_skips.c.id.desc()).limit(limit).offset(offset)).all()
        return [MailSkipRecord(row.uid, row.reason, row.detail, row.email, row.message_id, row.uidvalidity,
                               _aware(row.seen_at)) for row in rows]


def _held(lease: Lease) -> tuple[object, ...]:
    """The WHERE of a write only this lease's poll may make."""
    return (mailboxes.c.id == lease.mailbox.id, mailboxes.c.lease_owner == lease.owner)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; every one stored here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)  # SQLite compares stored datetimes as text: always UTC


def _record(row) -> MailboxRecord:  # type: ignore[no-untyped-def]
    return MailboxRecord(
        row.id, row.name, row.host, row.port, row.user, row.password_env, row.tls, row.folder, row.since,
        tuple(row.own_addresses or ()), row.label, row.uidvalidity, row.last_uid, _aware(row.last_poll_at),
        MailboxStatus(row.status), row.error_code, row.error, row.failures, _aware(row.next_attempt_at),
        _aware(row.lease_until), _aware(row.created_at), bool(row.captures_leads),
    )  # fmt: skip
