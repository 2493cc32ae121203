"""Mailboxes whose mail becomes contacts: where they are, how far they were read, who is polling them now.

A poll holds a lease on its mailbox row: taken by one UPDATE that only succeeds when the last lease
expired, renewed by every batch it stores, released when it ends. Two workers therefore never read the
same mailbox at once, and a worker that dies holds it only until its lease runs out.

Each batch is stored in one transaction: the new contacts (a stored contact is never changed), their
label, the skipped messages with their reason, the mailbox's new position and the poll's counts in
the import history. A crash between two batches neither loses a message nor counts it twice.
The password is never stored: `password_env` is the name of the environment variable that holds it.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _json_string  # type: ignore[attr-defined]
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.agents import Agent
from adapters.db.catalog import ensure_labels, utc_now
from adapters.db.engine import in_transaction_with_retries, insert_many, stored_value
from adapters.db.models import Base, Contact, ContactLabel, ImportJob
from adapters.db.usernames import allocate_usernames
from plugin.emails import email_key
from plugin.mail import SkipReason
from plugin.usernames import username_from_email
from plugin.report import Status

Clock = Callable[[], datetime]

MAIL_JOB_KIND = "mail"
UNREADABLE_REASONS = frozenset({SkipReason.NO_SENDER, SkipReason.INVALID_ADDRESS})  # failed; other skips are on purpose


class MailboxStatus(StrEnum):
    NEW = "new"  # added, never polled
    OK = "ok"  # the last poll worked
    FAILING = "failing"  # the last poll failed; `error` says why, `next_attempt_at` when it is tried again


class Mailbox(Base):
    """A support mailbox (one folder of one IMAP account) whose correspondents become contacts."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)  # None: 993 with TLS, 143 without
    user: Mapped[str] = mapped_column(String(320))
    password_env: Mapped[str] = mapped_column(String(100))  # the NAME of the variable, never the password
    tls: Mapped[bool] = mapped_column(Boolean, default=True)
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    since: Mapped[date | None] = mapped_column(Date)  # None: the last mail_since_days days, counted at each poll
    own_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)  # besides `user` and the setting's
    label: Mapped[str | None] = mapped_column(String(200))  # given to every contact this mailbox creates
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)  # with last_uid: the position; None before a poll
    last_uid: Mapped[int | None] = mapped_column(BigInteger)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default=MailboxStatus.NEW.value)
    error_code: Mapped[str] = mapped_column(String(40), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed polls in a row
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: due now
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))  # so a late worker cannot renew someone else's
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MailSkip(Base):
    """A message whose author did not become a contact, and why: `mailbox skips NAME` shows them."""

    __tablename__ = "mail_skips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(20))  # a plugin.mail.SkipReason value
    detail: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(320))  # the From address as written, lowercased
    message_id: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("mailbox_id", "uidvalidity", "uid", name="uq_mail_skips_message"),
        Index("ix_mail_skips_email", "email"),
    )


mailboxes = Mailbox.__table__
mail_skips = MailSkip.__table__
contacts = Contact.__table__
import_jobs = ImportJob.__table__
SKIP_COLUMNS = ("mailbox_id", "uidvalidity", "uid", "reason", "detail", "email", "message_id", "seen_at")
CAPTURED_COLUMNS = ("email", "email_key", "first_name", "last_name", "username", "company_id", "source",
                    "source_detail", "created_at", "updated_at", "last_import_id")


class MailboxExists(ValueError):
    """A mailbox with that name is already there."""


class LeaseLost(RuntimeError):
    """Another worker took over the mailbox (this one's lease had expired): the batch was not stored."""


# ---- values handed out


@dataclass(frozen=True, slots=True)
class MailboxRecord:
    id: int
    name: str
    host: str
    port: int | None
    user: str
    password_env: str
    tls: bool
    folder: str
    since: date | None
    own_addresses: tuple[str, ...]
    label: str | None
    uidvalidity: int | None
    last_uid: int | None
    last_poll_at: datetime | None
    status: MailboxStatus
    error_code: str
    error: str
    failures: int
    next_attempt_at: datetime | None
    lease_until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """The right to poll one mailbox until `until`; `owner` is this poll's own token."""

    mailbox: MailboxRecord
    owner: str
    seconds: float


@dataclass(frozen=True, slots=True)
class MailAuthor:
    """A message's author to capture as a contact, with where the address was seen."""

    uid: int
    email: str  # normalised (plugin.emails.normalize_email)
    first_name: str | None
    last_name: str | None
    message_id: str | None
    date: datetime | None
    company_id: int | None = None  # the company owning the address's domain (plugin.companies.company_for_email)


@dataclass(frozen=True, slots=True)
class MailSkipRecord:
    uid: int
    reason: str
    detail: str
    email: str | None
    message_id: str | None
    uidvalidity: int = 0
    seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """What a batch wrote: the keys of the contacts it created (the rest existed already), and the poll's job."""

    created_keys: frozenset[str]
    job_id: int | None


# ---- mailboxes


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; every one stored here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _utc(clock: Clock) -> datetime:
    return clock().astimezone(UTC)  # SQLite compares stored datetimes as text: always UTC


def _record(row) -> MailboxRecord:  # type: ignore[no-untyped-def]
    return MailboxRecord(
        row.id, row.name, row.host, row.port, row.user, row.password_env, row.tls, row.folder, row.since,
        tuple(row.own_addresses or ()), row.label, row.uidvalidity, row.last_uid, _aware(row.last_poll_at),
        MailboxStatus(row.status), row.error_code, row.error, row.failures, _aware(row.next_attempt_at),
        _aware(row.lease_until), _aware(row.created_at),
    )  # fmt: skip


def add_mailbox(engine: Engine, *, name: str, host: str, port: int | None, user: str, password_env: str,
                tls: bool = True, folder: str = "INBOX", since: date | None = None,
                own_addresses: Sequence[str] = (), label: str | None = None, now: Clock = utc_now) -> int:
    """Save a mailbox (its label is created when missing) and return its id; the name must be new."""
    moment = _utc(now)
    with engine.begin() as connection:
        if label:
            ensure_labels(connection, [label], now=lambda: moment)
        try:
            return connection.execute(mailboxes.insert().values(
                name=name, host=host, port=port, user=user, password_env=password_env, tls=tls, folder=folder,
                since=since, own_addresses=list(own_addresses), label=label or None, status=MailboxStatus.NEW.value,
                error_code="", error="", failures=0, created_at=moment,
            ).returning(mailboxes.c.id)).scalar_one()
        except IntegrityError as error:
            raise MailboxExists(f"There is a mailbox named {name!r} already.") from error


def get_mailbox(engine: Engine, name: str) -> MailboxRecord | None:
    with engine.connect() as connection:
        row = connection.execute(select(mailboxes).where(mailboxes.c.name == name)).one_or_none()
    return None if row is None else _record(row)


def list_mailboxes(engine: Engine) -> list[MailboxRecord]:
    with engine.connect() as connection:
        return [_record(row) for row in connection.execute(select(mailboxes).order_by(mailboxes.c.name))]


def due_mailboxes(engine: Engine, *, now: Clock = utc_now) -> list[MailboxRecord]:
    """Mailboxes to poll now: not waiting out a backoff, and not leased to a poll or a watch."""
    moment = _utc(now)
    with engine.connect() as connection:
        rows = connection.execute(select(mailboxes).where(
            or_(mailboxes.c.next_attempt_at.is_(None), mailboxes.c.next_attempt_at <= moment),
            or_(mailboxes.c.lease_until.is_(None), mailboxes.c.lease_until < moment),
        ).order_by(mailboxes.c.name)).all()
    return [_record(row) for row in rows]


def remove_mailbox(engine: Engine, name: str) -> bool:
    """Forget a mailbox and its skipped messages; the contacts it created stay. False when there was none."""
    with engine.begin() as connection:
        found = connection.execute(select(mailboxes.c.id).where(mailboxes.c.name == name)).scalar()
        if found is None:
            return False
        connection.execute(delete(mail_skips).where(mail_skips.c.mailbox_id == found))
        connection.execute(delete(mailboxes).where(mailboxes.c.id == found))
    return True


def agent_address_keys(engine: Engine) -> frozenset[str]:
    """The email keys of every agent, active or not: their mail never makes them contacts."""
    with engine.connect() as connection:
        return frozenset(connection.execute(select(Agent.email_key)).scalars())


# ---- leases


def take_lease(engine: Engine, mailbox_id: int, owner: str, *, seconds: float, now: Clock = utc_now) -> Lease | None:
    """The mailbox for this poll alone, or None while another poll's lease has not expired."""
    moment = _utc(now)
    with engine.begin() as connection:
        taken = connection.execute(update(mailboxes).where(
            mailboxes.c.id == mailbox_id,
            or_(mailboxes.c.lease_until.is_(None), mailboxes.c.lease_until < moment),
        ).values(lease_until=moment + timedelta(seconds=seconds), lease_owner=owner)).rowcount
        if taken != 1:
            return None
        row = connection.execute(select(mailboxes).where(mailboxes.c.id == mailbox_id)).one()
    return Lease(_record(row), owner, seconds)


def renew_lease(engine: Engine, lease: Lease, *, now: Clock = utc_now) -> bool:
    """Push the lease's end further; False when it was lost to another poll meanwhile."""
    moment = _utc(now)
    with engine.begin() as connection:
        return connection.execute(update(mailboxes).where(
            mailboxes.c.id == lease.mailbox.id, mailboxes.c.lease_owner == lease.owner,
        ).values(lease_until=moment + timedelta(seconds=lease.seconds))).rowcount == 1


def release_lease(engine: Engine, lease: Lease) -> None:
    with engine.begin() as connection:
        connection.execute(update(mailboxes).where(
            mailboxes.c.id == lease.mailbox.id, mailboxes.c.lease_owner == lease.owner,
        ).values(lease_until=None, lease_owner=None))


def release_leases(engine: Engine, owner: str) -> int:
    """Let go of every lease this owner holds (a watch that stops); returns how many."""
    with engine.begin() as connection:
        return connection.execute(update(mailboxes).where(mailboxes.c.lease_owner == owner)
                                  .values(lease_until=None, lease_owner=None)).rowcount


# ---- storing what a poll found


def source_detail(mailbox: MailboxRecord, author: MailAuthor) -> str:
    """Where a captured contact came from, as JSON: mailbox, folder, Message-ID and the message's date.

    Written directly rather than by json.dumps of a dict: it is made for every captured contact."""
    message_id = "null" if author.message_id is None else _json_string(author.message_id)
    sent = "null" if author.date is None else f'"{author.date.isoformat()}"'
    return (f'{{"mailbox":{_json_string(mailbox.name)},"folder":{_json_string(mailbox.folder)},'
            f'"message_id":{message_id},"date":{sent}}}')


def store_batch(engine: Engine, lease: Lease, *, uidvalidity: int, last_uid: int, authors: Sequence[MailAuthor],
                skips: Sequence[MailSkipRecord], fetched: int, job_id: int | None,
                now: Clock = utc_now) -> StoredBatch:
    """Store one batch and the position after it in one transaction; raises LeaseLost (storing nothing)
    when this poll no longer holds the mailbox.

    The first author of each address is inserted unless the address is stored already (a stored name is
    never overwritten); new contacts get the mailbox's label. The poll's import job is created by its first
    batch that fetched anything, and counts created, unchanged (existing) and failed (unreadable authors).
    """
    moment = _utc(now)
    mailbox = lease.mailbox

    def store(connection: Connection) -> StoredBatch:
        poll_job_id = job_id
        held = connection.execute(update(mailboxes).where(  # first: takes the row's lock on PostgreSQL
            mailboxes.c.id == mailbox.id, mailboxes.c.lease_owner == lease.owner,
        ).values(uidvalidity=uidvalidity, last_uid=last_uid,
                 lease_until=moment + timedelta(seconds=lease.seconds))).rowcount
        if held != 1:
            raise LeaseLost(f"Mailbox {mailbox.name} is being polled by another worker now.")
        if poll_job_id is None and fetched:
            poll_job_id = _start_job(connection, mailbox, moment)
        created_keys = _insert_contacts(connection, mailbox, authors, poll_job_id, moment)
        seen_at = stored_value(connection, mail_skips.c.seen_at, moment)
        insert_many(connection, mail_skips, SKIP_COLUMNS,
                    [(mailbox.id, uidvalidity, skip.uid, skip.reason, skip.detail, skip.email, skip.message_id, seen_at)
                     for skip in skips], on_conflict="ON CONFLICT DO NOTHING")
        if poll_job_id is not None and fetched:
            failed = sum(skip.reason in UNREADABLE_REASONS for skip in skips)
            connection.execute(update(import_jobs).where(import_jobs.c.id == poll_job_id).values(
                total=import_jobs.c.total + fetched, rows_done=import_jobs.c.rows_done + fetched,
                created=import_jobs.c.created + len(created_keys),
                unchanged=import_jobs.c.unchanged + len(authors) - len(created_keys),
                failed=import_jobs.c.failed + failed, heartbeat_at=moment))
        return StoredBatch(created_keys, poll_job_id)

    # Retried when an import wrote the same people at the same moment: a deadlock, or a username it took.
    return in_transaction_with_retries(engine, store, what=f"mailbox {mailbox.name}, messages up to {last_uid}",
                                       is_unique_violation_retried=True)


def _start_job(connection: Connection, mailbox: MailboxRecord, moment: datetime) -> int:
    return connection.execute(import_jobs.insert().values(
        kind=MAIL_JOB_KIND, status=str(Status.RUNNING), is_dry_run=False, actor=f"mailbox:{mailbox.name}",
        file_name=f"{mailbox.name} ({mailbox.folder})", options={"mailbox": mailbox.name, "folder": mailbox.folder},
        headers=[], mapping=[], total=0, rows_done=0, created=0, updated=0, unchanged=0, failed=0, message="",
        error_code="", created_at=moment, started_at=moment, heartbeat_at=moment,
    ).returning(import_jobs.c.id)).scalar_one()


def _insert_contacts(connection: Connection, mailbox: MailboxRecord, authors: Sequence[MailAuthor],
                     job_id: int | None, moment: datetime) -> frozenset[str]:
    """Insert the first author of each address not stored yet; returns the email keys of those inserted.

    Through adapters.db.engine's bulk helpers, like the CSV import: SQLAlchemy's per-row parameter processing
    took as long as the database's own work."""
    firsts: dict[str, MailAuthor] = {}
    for author in authors:
        firsts.setdefault(email_key(author.email), author)
    firsts = dict(sorted(firsts.items()))  # in email order, as imports write them: shared rows locked in one order
    if not firsts:
        return frozenset()
    usernames = allocate_usernames(connection, contacts.c.username,
                                   [username_from_email(key, fallback="customer") for key in firsts])
    at = stored_value(connection, contacts.c.created_at, moment)
    created = dict(insert_many(connection, contacts, CAPTURED_COLUMNS, [
        (author.email, key, author.first_name, author.last_name, username, author.company_id, "mail",
         source_detail(mailbox, author), at, at, job_id)
        for (key, author), username in zip(firsts.items(), usernames, strict=True)],
        on_conflict="ON CONFLICT (email_key) DO NOTHING", returning=("email_key", "id")))
    if created and mailbox.label:
        label_id = ensure_labels(connection, [mailbox.label], now=lambda: moment)[mailbox.label]
        insert_many(connection, ContactLabel.__table__, ("contact_id", "label_id"),
                    [(contact_id, label_id) for contact_id in created.values()], on_conflict="ON CONFLICT DO NOTHING")
    return frozenset(created)


# ---- how a poll ended


def mark_polled(engine: Engine, lease: Lease, *, job_id: int | None, failed: int, message: str,
                now: Clock = utc_now, is_released: bool = True) -> None:
    """The poll went through: the mailbox is due again at the next tick, its job finished and, unless a
    watch goes on with it, the lease let go."""
    moment = _utc(now)
    released = {"lease_until": None, "lease_owner": None} if is_released else {}
    with engine.begin() as connection:
        connection.execute(update(mailboxes).where(
            mailboxes.c.id == lease.mailbox.id, mailboxes.c.lease_owner == lease.owner,
        ).values(status=MailboxStatus.OK.value, error_code="", error="", failures=0, last_poll_at=moment,
                 next_attempt_at=None, **released))
        if job_id is not None:
            status = Status.PARTIAL if failed else Status.SUCCEEDED
            _finish_job(connection, job_id, status=status, message=message, error_code="", moment=moment)


def mark_failed(engine: Engine, lease: Lease, *, code: str, message: str, retry_after: timedelta,
                job_id: int | None, now: Clock = utc_now) -> MailboxRecord:
    """The poll failed: the mailbox carries the error and waits `retry_after`; the failure is in the history."""
    moment = _utc(now)
    with engine.begin() as connection:
        connection.execute(update(mailboxes).where(
            mailboxes.c.id == lease.mailbox.id, mailboxes.c.lease_owner == lease.owner,
        ).values(status=MailboxStatus.FAILING.value, error_code=code, error=message,
                 failures=mailboxes.c.failures + 1, last_poll_at=moment, next_attempt_at=moment + retry_after,
                 lease_until=None, lease_owner=None))
        if job_id is None:
            job_id = _start_job(connection, lease.mailbox, moment)
        _finish_job(connection, job_id, status=Status.FAILED, message=message, error_code=f"mail.{code}",
                    moment=moment)
        row = connection.execute(select(mailboxes).where(mailboxes.c.id == lease.mailbox.id)).one()
    return _record(row)


def _finish_job(connection: Connection, job_id: int, *, status: Status, message: str, error_code: str,
                moment: datetime) -> None:
    connection.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(
        status=str(status), message=message, error_code=error_code, finished_at=moment, heartbeat_at=moment))


# ---- why someone is missing


def list_skips(engine: Engine, mailbox_name: str, *, email: str | None = None, limit: int = 50
               ) -> list[MailSkipRecord]:
    """The latest skipped messages of a mailbox, newest first; `email` narrows them to one address."""
    query = (select(mail_skips).join(mailboxes, mailboxes.c.id == mail_skips.c.mailbox_id)
             .where(mailboxes.c.name == mailbox_name))
    if email:
        query = query.where(mail_skips.c.email == email.strip().lower())
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(mail_skips.c.id.desc()).limit(limit)).all()
    return [MailSkipRecord(row.uid, row.reason, row.detail, row.email, row.message_id, row.uidvalidity,
                           _aware(row.seen_at)) for row in rows]
