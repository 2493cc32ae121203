"""Polling mailboxes: the authors of new mail become contacts, robots and colleagues are recorded as skipped.

`poll_mailbox` takes the mailbox's lease (see adapters.db.mailboxes), reads the agents' and the
mailbox's own addresses once, fetches the new mail's headers in batches, classifies each message with
`plugin.mail.classify_message` and stores each batch with the position after it in one transaction.
A mailbox that cannot be read (wrong password, host down, no such folder) is marked with the error and
waits out a jittered exponential backoff; the caller gets that as a PollResult, never an exception, so
`poll_all_due` carries on with the other mailboxes. `watch_for_contacts` does the same with IMAP IDLE.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine

from adapters.db.catalog import utc_now
from adapters.db.companies import load_company_domains
from adapters.db.mailboxes import (
    UNREADABLE_REASONS,
    Lease,
    LeaseLost,
    MailAuthor,
    MailboxRecord,
    MailSkipRecord,
    agent_address_keys,
    due_mailboxes,
    get_mailbox,
    mark_failed,
    mark_polled,
    release_lease,
    renew_lease,
    store_batch,
    take_lease,
)
from adapters.imap.connection import MailboxAccount, MailboxError, open_mailbox
from adapters.imap.fetch import HeaderBatch, MailboxPosition, fetch_new_headers
from adapters.imap.watch import RENEW_IDLE_SECONDS, SILENCE_SECONDS, Backoff, watch_mailbox
from plugin.companies import company_for_email
from plugin.emails import InvalidEmail, email_key
from plugin.mail import MessageVerdict, address_keys, classify_message, fetch_header_fields
from plugin.services import Services
from plugin.settings import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

LEASE_SECONDS = 300.0  # renewed by each batch a poll stores; a dead worker's lease runs out after it
WATCH_LEASE_SECONDS = 60.0  # a watch renews it every third of this from a thread of its own
FAILURE_BACKOFF_CAP_SECONDS = 3600.0


class PollProblem(StrEnum):
    """Why a poll stopped, besides the IMAP failures of adapters.imap.MailboxErrorCode."""

    BUSY = "busy"  # another worker holds the mailbox's lease: nothing was done
    PASSWORD_MISSING = "password_missing"  # the environment variable named by password_env is not set
    LEASE_LOST = "lease_lost"  # the lease expired and another worker took over: the last batch was not stored


class UnknownMailbox(LookupError):
    """No mailbox has that name."""


@dataclass(frozen=True, slots=True)
class CapturedContact:
    uid: int
    email: str
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True, slots=True)
class ExistingContact:
    uid: int
    email: str


@dataclass(frozen=True, slots=True)
class SkippedMessage:
    uid: int
    reason: str  # a plugin.mail.SkipReason value
    detail: str


@dataclass(frozen=True, slots=True)
class PollProgress:
    """Told after each stored batch: a first poll of a large mailbox takes a while."""

    mailbox: str
    fetched: int
    remaining: int


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll of one mailbox; `as_dict()` is the `mailbox poll --json` shape."""

    mailbox: str
    folder: str
    uidvalidity: int | None  # the position after the poll
    last_uid: int | None
    fetched: int = 0
    created: tuple[CapturedContact, ...] = ()
    existing: tuple[ExistingContact, ...] = ()
    skipped: tuple[SkippedMessage, ...] = ()
    error_code: str = ""  # a MailboxErrorCode or PollProblem value; "" when the poll went through
    error: str = ""
    next_attempt_at: datetime | None = None  # when a failed mailbox is tried again
    job_id: int | None = None  # the import history's record of this poll; None when nothing was fetched

    @property
    def is_busy(self) -> bool:
        return self.error_code == PollProblem.BUSY

    @property
    def has_failed(self) -> bool:
        return bool(self.error_code) and not self.is_busy

    def as_dict(self) -> dict[str, object]:
        shape: dict[str, object] = {
            "mailbox": self.mailbox, "folder": self.folder, "uidvalidity": self.uidvalidity,
            "last_uid": self.last_uid, "fetched": self.fetched,
            "created": [{"uid": c.uid, "email": c.email, "first_name": c.first_name, "last_name": c.last_name}
                        for c in self.created],
            "existing": [{"uid": e.uid, "email": e.email} for e in self.existing],
            "skipped": [{"uid": s.uid, "reason": s.reason, "detail": s.detail} for s in self.skipped],
        }  # fmt: skip
        if self.error_code:
            shape["error"] = {"code": self.error_code, "message": self.error}
        return shape


class MissingPassword(LookupError):
    """The environment variable that should hold a mailbox's password is not set."""


def mailbox_account(mailbox: MailboxRecord, environ: Mapping[str, str]) -> MailboxAccount:
    """Where to log in, with the password read from the environment variable the mailbox names."""
    password = environ.get(mailbox.password_env)
    if password is None:
        raise MissingPassword(
            f"The environment variable {mailbox.password_env} (the password of mailbox {mailbox.name}) is not set."
        )
    return MailboxAccount(
        mailbox.host, mailbox.user, password, port=mailbox.port, folder=mailbox.folder, tls=mailbox.tls
    )


def own_address_keys(mailbox: MailboxRecord, settings: Settings) -> frozenset[str]:
    """The mailbox's user (when it is an address), its --own-address ones and the helpdesk's own_addresses."""
    keys: set[str] = set()
    for address in (mailbox.user, *mailbox.own_addresses, *settings.own_addresses):
        try:
            keys |= address_keys([address])
        except InvalidEmail:
            logger.debug("mailbox %s: own address %r is not an address; ignored", mailbox.name, address)
    return frozenset(keys)


def first_poll_date(mailbox: MailboxRecord, settings: Settings, today: date) -> date:
    """Where a first poll, or one after a UIDVALIDITY change, starts: --since, else mail_since_days ago."""
    return mailbox.since or today - timedelta(days=settings.mail_since_days)


def failure_backoff(settings: Settings) -> Backoff:
    return Backoff(first_seconds=float(settings.mail_poll_seconds), cap_seconds=FAILURE_BACKOFF_CAP_SECONDS)


def new_lease_owner() -> str:
    """Who holds a lease, readable in the database: host, process and a random part."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def poll_mailbox(
    services: Services,
    name: str,
    *,
    environ: Mapping[str, str],
    now: Clock = utc_now,
    rng: random.Random | None = None,
    lease_seconds: float = LEASE_SECONDS,
    batch_size: int | None = None,
    agent_addresses: frozenset[str] | None = None,
    progress: Callable[[PollProgress], None] | None = None,
) -> PollResult:
    """One pass over the mailbox's new mail; raises UnknownMailbox, and nothing for a mailbox that fails.

    `environ` holds the password variables; `now` and `rng` decide lease expiry and the backoff's jitter.
    """
    engine: Engine = services.store.engine  # type: ignore[attr-defined]
    mailbox = _mailbox_named(engine, name)
    lease = take_lease(engine, mailbox.id, new_lease_owner(), seconds=lease_seconds, now=now)
    if lease is None:
        return _busy(mailbox)
    is_ended = False
    try:
        capture = _Capture(
            engine,
            services.settings,
            lease,
            environ=environ,
            now=now,
            rng=rng or random.Random(),
            agent_addresses=agent_addresses,
        )
        result = capture.poll(batch_size=batch_size or services.settings.mail_fetch_batch, progress=progress)
        is_ended = True
        services.notices.job_finished(result.job_id)  # the poll's webhook (none for a poll that fetched nothing)
        return result
    finally:
        if not is_ended:  # a bug or a database failure: the next worker need not wait for the lease to expire
            release_lease(engine, lease)


def _mailbox_named(engine: Engine, name: str) -> MailboxRecord:
    mailbox = get_mailbox(engine, name)
    if mailbox is None:
        raise UnknownMailbox(f"There is no mailbox {name!r}; `contact-importer mailbox list` shows them.")
    return mailbox


def poll_all_due(
    services: Services,
    *,
    environ: Mapping[str, str],
    now: Clock = utc_now,
    rng: random.Random | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> list[PollResult]:
    """Poll every mailbox that is not waiting out a backoff nor held by another poll or a watch."""
    engine: Engine = services.store.engine  # type: ignore[attr-defined]
    due = due_mailboxes(engine, now=now)
    if not due:
        return []
    agents = agent_address_keys(engine)
    rng = rng or random.Random()
    results = []
    for mailbox in due:
        try:
            results.append(
                poll_mailbox(
                    services,
                    mailbox.name,
                    environ=environ,
                    now=now,
                    rng=rng,
                    lease_seconds=lease_seconds,
                    agent_addresses=agents,
                )
            )
        except UnknownMailbox:
            continue  # removed since the list was read
    return results


def watch_for_contacts(
    services: Services,
    name: str,
    *,
    environ: Mapping[str, str],
    stop: threading.Event,
    owner: str | None = None,
    on_result: Callable[[PollResult], None] | None = None,
    now: Clock = utc_now,
    rng: random.Random | None = None,
    lease_seconds: float = WATCH_LEASE_SECONDS,
    batch_size: int | None = None,
    renew_seconds: float = RENEW_IDLE_SECONDS,
    silence_seconds: float = SILENCE_SECONDS,
) -> PollResult:
    """Capture contacts from a mailbox as mail arrives (IMAP IDLE) until `stop` is set; returns how it ended.

    While another poll or watch holds the mailbox, it waits for the lease (so a second watch is a standby).

    `on_result` gets each pass (what was there at the start, then each arrival) as a PollResult. The
    lease is held throughout and renewed by a thread, so the periodic poll leaves this mailbox alone;
    `release_leases(engine, owner)` lets it go at once when the process stops. Lost connections are
    retried with jittered backoff; a failure that retrying cannot mend ends the watch, marked like a poll's.
    `stop` is looked at after each pass: a quiet mailbox keeps the call in IDLE until mail arrives.
    """
    engine: Engine = services.store.engine  # type: ignore[attr-defined]
    mailbox = _mailbox_named(engine, name)
    owner = owner or new_lease_owner()
    lease = take_lease(engine, mailbox.id, owner, seconds=lease_seconds, now=now)
    if lease is None:
        logger.info("mailbox %s is being polled or watched by another worker; waiting for its lease", name)
    while lease is None:  # a poll ends soon; another watch's lease expires when that watch dies
        if stop.wait(lease_seconds / 3):
            return _busy(mailbox)
        lease = take_lease(engine, mailbox.id, owner, seconds=lease_seconds, now=now)
    watch_ended = threading.Event()  # not `stop`: the caller may share it between watches
    keeper = threading.Thread(
        target=_keep_lease, args=(engine, lease, watch_ended, now), daemon=True, name=f"lease {mailbox.name}"
    )
    keeper.start()
    is_ended = False
    try:
        capture = _Capture(
            engine,
            services.settings,
            lease,
            environ=environ,
            now=now,
            rng=rng or random.Random(),
            agent_addresses=None,
        )
        result = capture.watch(
            stop,
            batch_size=batch_size or services.settings.mail_fetch_batch,
            on_result=lambda result: _pass_ended(services, result, on_result),
            renew_seconds=renew_seconds,
            silence_seconds=silence_seconds,
        )
        is_ended = True
        return result
    finally:
        watch_ended.set()
        if not is_ended:
            release_lease(engine, lease)


def _pass_ended(services: Services, result: PollResult, on_result: Callable[[PollResult], None] | None) -> None:
    services.notices.job_finished(result.job_id)  # the pass's webhook, as a poll's
    if on_result is not None:
        on_result(result)


def _keep_lease(engine: Engine, lease: Lease, is_ended: threading.Event, now: Clock) -> None:
    while not is_ended.wait(lease.seconds / 3):
        if not renew_lease(engine, lease, now=now):
            logger.warning("mailbox %s: another worker took over the watch's lease", lease.mailbox.name)
            return


def _busy(mailbox: MailboxRecord) -> PollResult:
    return PollResult(
        mailbox.name,
        mailbox.folder,
        mailbox.uidvalidity,
        mailbox.last_uid,
        error_code=PollProblem.BUSY.value,
        error=f"Mailbox {mailbox.name} is being polled or watched by another worker now.",
    )


@dataclass
class _Tally:
    """What one pass found, gathered batch by batch."""

    fetched: int = 0
    created: list[CapturedContact] = field(default_factory=list)
    existing: list[ExistingContact] = field(default_factory=list)
    skipped: list[SkippedMessage] = field(default_factory=list)
    job_id: int | None = None

    @property
    def failed(self) -> int:
        return sum(skip.reason in UNREADABLE_REASONS for skip in self.skipped)

    def summary(self) -> str:
        reasons: dict[str, int] = {}
        for skip in self.skipped:
            reasons[skip.reason] = reasons.get(skip.reason, 0) + 1
        why = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        return (
            f"{self.fetched} messages: {len(self.created)} created, {len(self.existing)} existing, "
            f"{len(self.skipped)} skipped" + (f" ({why})" if why else "")
        )


class _Capture:
    """One leased mailbox being read: classify each batch, store it with its position, end the pass."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        lease: Lease,
        *,
        environ: Mapping[str, str],
        now: Clock,
        rng: random.Random,
        agent_addresses: frozenset[str] | None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.lease = lease
        self.mailbox = lease.mailbox
        self.environ = environ
        self.now = now
        self.rng = rng
        self.agents = agent_addresses
        self.company_domains: dict[str, int] = {}  # domain → company: a new contact joins the owner of theirs
        self.own = own_address_keys(self.mailbox, settings)
        self.fields = fetch_header_fields(settings.loop_header)
        self.position = (
            None
            if self.mailbox.uidvalidity is None or self.mailbox.last_uid is None
            else MailboxPosition(self.mailbox.uidvalidity, self.mailbox.last_uid)
        )

    def poll(self, *, batch_size: int, progress: Callable[[PollProgress], None] | None) -> PollResult:
        started = time.monotonic()
        tally = _Tally()
        try:
            account = mailbox_account(self.mailbox, self.environ)
            if self.agents is None:
                self.agents = agent_address_keys(self.engine)
            self.company_domains = load_company_domains(self.engine)
            with open_mailbox(account) as opened:
                since = first_poll_date(self.mailbox, self.settings, self.now().date())
                for batch in fetch_new_headers(
                    opened, self.position, since=since, fields=self.fields, batch_size=batch_size
                ):
                    self._store(batch, tally)
                    if progress is not None:
                        progress(PollProgress(self.mailbox.name, tally.fetched, batch.remaining))
        except MissingPassword as error:
            return self._failed(PollProblem.PASSWORD_MISSING.value, str(error), tally)
        except MailboxError as error:
            return self._failed(str(error.code), error.message, tally)
        except LeaseLost as error:
            return self._result(tally, PollProblem.LEASE_LOST.value, str(error))
        mark_polled(
            self.engine,
            self.lease,
            job_id=tally.job_id,
            failed=tally.failed,
            message=tally.summary(),
            now=self.now,
        )
        log = logger.info if tally.fetched else logger.debug
        log("mailbox %s: %s in %.1f s", self.mailbox.name, tally.summary(), time.monotonic() - started)
        return self._result(tally)

    def watch(
        self,
        stop: threading.Event,
        *,
        batch_size: int,
        on_result: Callable[[PollResult], None] | None,
        renew_seconds: float,
        silence_seconds: float,
    ) -> PollResult:
        tally = _Tally()
        try:
            account = mailbox_account(self.mailbox, self.environ)
            since = first_poll_date(self.mailbox, self.settings, self.now().date())
            batches = watch_mailbox(
                account,
                self.position,
                since=since,
                fields=self.fields,
                batch_size=batch_size,
                rng=self.rng,
                renew_seconds=renew_seconds,
                silence_seconds=silence_seconds,
            )
            try:
                for batch in batches:
                    if not tally.fetched:  # each pass (a first read, or new mail) sees agents and companies added
                        self.agents = agent_address_keys(self.engine)  # while watching; once a pass, not a batch
                        self.company_domains = load_company_domains(self.engine)
                    self._store(batch, tally)
                    if batch.remaining == 0:  # a pass ended: it is one poll in the history
                        mark_polled(
                            self.engine,
                            self.lease,
                            job_id=tally.job_id,
                            failed=tally.failed,
                            message=tally.summary(),
                            now=self.now,
                            is_released=False,
                        )
                        if tally.fetched:
                            logger.info("mailbox %s: %s", self.mailbox.name, tally.summary())
                        if on_result is not None:
                            on_result(self._result(tally))
                        tally = _Tally()
                    if stop.is_set():
                        break
            finally:
                batches.close()
        except MissingPassword as error:
            return self._failed(PollProblem.PASSWORD_MISSING.value, str(error), tally)
        except MailboxError as error:
            return self._failed(str(error.code), error.message, tally)
        except LeaseLost as error:
            return self._result(tally, PollProblem.LEASE_LOST.value, str(error))
        release_lease(self.engine, self.lease)
        return self._result(tally)

    def _store(self, batch: HeaderBatch, tally: _Tally) -> None:
        authors: list[MailAuthor] = []
        skips: list[MailSkipRecord] = []
        for uid, header in batch.headers:
            verdict = classify_message(
                header,
                own_addresses=self.own,
                agent_addresses=self.agents or frozenset(),
                loop_header=self.settings.loop_header,
            )
            if verdict.email is not None:
                authors.append(
                    MailAuthor(
                        uid,
                        verdict.email,
                        verdict.first_name,
                        verdict.last_name,
                        verdict.message_id,
                        verdict.date,
                        company_for_email(verdict.email, self.company_domains, self.settings.free_mail_domains),
                    )
                )
            else:
                skips.append(_skip_record(uid, verdict))
        stored = store_batch(
            self.engine,
            self.lease,
            uidvalidity=batch.position.uidvalidity,
            last_uid=batch.position.last_uid,
            authors=authors,
            skips=skips,
            fetched=len(batch.headers),
            job_id=tally.job_id,
            now=self.now,
        )
        self.position = batch.position
        tally.job_id = stored.job_id
        tally.fetched += len(batch.headers)
        claimed: set[str] = set()
        for author in authors:
            key = email_key(author.email)
            if key in stored.created_keys and key not in claimed:
                claimed.add(key)
                tally.created.append(
                    CapturedContact(author.uid, author.email, author.first_name, author.last_name)
                )
            else:
                tally.existing.append(ExistingContact(author.uid, author.email))
        tally.skipped += [SkippedMessage(skip.uid, skip.reason, skip.detail) for skip in skips]
        logger.debug(
            "mailbox %s: stored up to UID %d, %d to go",
            self.mailbox.name,
            batch.position.last_uid,
            batch.remaining,
        )

    def _failed(self, code: str, message: str, tally: _Tally) -> PollResult:
        delay = failure_backoff(self.settings).delay(self.mailbox.failures, self.rng)
        marked = mark_failed(
            self.engine,
            self.lease,
            code=code,
            message=message,
            job_id=tally.job_id,
            retry_after=timedelta(seconds=delay),
            now=self.now,
        )
        logger.warning("mailbox %s: %s (trying again in %.0f s)", self.mailbox.name, message, delay)
        return self._result(tally, code, message, next_attempt_at=marked.next_attempt_at)

    def _result(
        self, tally: _Tally, code: str = "", message: str = "", *, next_attempt_at: datetime | None = None
    ) -> PollResult:
        position = self.position
        return PollResult(
            self.mailbox.name, self.mailbox.folder, position.uidvalidity if position else None,
            position.last_uid if position else None, tally.fetched, tuple(tally.created), tuple(tally.existing),
            tuple(tally.skipped), code, message, next_attempt_at, tally.job_id,
        )  # fmt: skip


def _skip_record(uid: int, verdict: MessageVerdict) -> MailSkipRecord:
    return MailSkipRecord(uid, str(verdict.skip), verdict.detail, verdict.written_author, verdict.message_id)
