"""Polling mailboxes: the IMAP side of mail capture. The use cases are services.capture's.

`poll_mailbox` takes the mailbox's lease, fetches the new mail's headers in batches and hands each batch to
`services.capture.store_batch`, which classifies it and stores it with the position after it in one unit of
work. A mailbox that cannot be read (wrong password, host down, no such folder) is marked with the error and
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
from datetime import UTC, date, datetime, timedelta

from adapters.imap.connection import MailboxAccount, MailboxError, open_mailbox
from adapters.imap.fetch import HeaderBatch, MailboxPosition, fetch_new_headers
from adapters.imap.poll_result import PollProblem, PollProgress, PollResult, Tally
from adapters.imap.watch import RENEW_IDLE_SECONDS, SILENCE_SECONDS, Backoff, watch_mailbox
from plugin.ports.mailboxes import Lease, LeaseLost, MailboxRecord
from plugin.services import Services
from plugin.services.capture import Capture, MailPass, UnknownMailbox

__all__ = ["PollProgress", "PollResult", "UnknownMailbox", "new_lease_owner", "poll_all_due", "poll_mailbox",
           "watch_for_contacts"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

LEASE_SECONDS = 300.0  # renewed by each batch a poll stores; a dead worker's lease runs out after it
WATCH_LEASE_SECONDS = 60.0  # a watch renews it every third of this from a thread of its own
FAILURE_BACKOFF_CAP_SECONDS = 3600.0


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    capture = services.capture
    mailbox = capture.mailbox(name)
    lease = capture.take_lease(mailbox, new_lease_owner(), seconds=lease_seconds, now=now())
    if lease is None:
        return _busy(mailbox)
    is_ended = False
    try:
        reader = _Reader(services, lease, environ=environ, now=now, rng=rng or random.Random())
        result = reader.poll(batch_size=batch_size or services.settings.mail_fetch_batch, progress=progress,
                             agent_addresses=agent_addresses)
        is_ended = True
        return result
    finally:
        if not is_ended:  # a bug or a database failure: the next worker need not wait for the lease to expire
            capture.release_lease(lease)


def poll_all_due(
    services: Services,
    *,
    environ: Mapping[str, str],
    now: Clock = utc_now,
    rng: random.Random | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> list[PollResult]:
    """Poll every mailbox that is not waiting out a backoff nor held by another poll or a watch."""
    due = services.capture.due_mailboxes(now=now())
    if not due:
        return []
    agents = services.capture.agent_addresses()
    rng = rng or random.Random()
    results = []
    for mailbox in due:
        try:
            results.append(poll_mailbox(services, mailbox.name, environ=environ, now=now, rng=rng,
                                        lease_seconds=lease_seconds, agent_addresses=agents))
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
    `services.capture.release_leases(owner)` lets it go at once when the process stops. Lost connections are
    retried with jittered backoff; a failure that retrying cannot mend ends the watch, marked like a poll's.
    `stop` is looked at after each pass: a quiet mailbox keeps the call in IDLE until mail arrives.
    """
    capture = services.capture
    mailbox = capture.mailbox(name)
    owner = owner or new_lease_owner()
    lease = capture.take_lease(mailbox, owner, seconds=lease_seconds, now=now())
    if lease is None:
        logger.info("mailbox %s is being polled or watched by another worker; waiting for its lease", name)
    while lease is None:  # a poll ends soon; another watch's lease expires when that watch dies
        if stop.wait(lease_seconds / 3):
            return _busy(mailbox)
        lease = capture.take_lease(mailbox, owner, seconds=lease_seconds, now=now())
    watch_ended = threading.Event()  # not `stop`: the caller may share it between watches
    keeper = threading.Thread(target=_keep_lease, args=(capture, lease, watch_ended, now), daemon=True,
                              name=f"lease {mailbox.name}")
    keeper.start()
    is_ended = False
    try:
        reader = _Reader(services, lease, environ=environ, now=now, rng=rng or random.Random())
        result = reader.watch(stop, batch_size=batch_size or services.settings.mail_fetch_batch,
                              on_result=on_result, renew_seconds=renew_seconds, silence_seconds=silence_seconds)
        is_ended = True
        return result
    finally:
        watch_ended.set()
        if not is_ended:
            capture.release_lease(lease)


def _keep_lease(capture: Capture, lease: Lease, is_ended: threading.Event, now: Clock) -> None:
    while not is_ended.wait(lease.seconds / 3):
        if not capture.renew_lease(lease, now=now()):
            logger.warning("mailbox %s: another worker took over the watch's lease", lease.mailbox.name)
            return


def _busy(mailbox: MailboxRecord) -> PollResult:
    return PollResult(mailbox.name, mailbox.folder, mailbox.uidvalidity, mailbox.last_uid,
                      error_code=PollProblem.BUSY.value,
                      error=f"Mailbox {mailbox.name} is being polled or watched by another worker now.")


class _Reader:
    """One leased mailbox being read: each batch handed to services.capture with its position, then the end."""

    def __init__(self, services: Services, lease: Lease, *, environ: Mapping[str, str], now: Clock,
                 rng: random.Random) -> None:
        self.capture = services.capture
        self.settings = services.settings
        self.lease = lease
        self.mailbox = lease.mailbox
        self.environ = environ
        self.now = now
        self.rng = rng
        self.fields = self.capture.header_fields()
        self.position = (None if self.mailbox.uidvalidity is None or self.mailbox.last_uid is None
                         else MailboxPosition(self.mailbox.uidvalidity, self.mailbox.last_uid))

    def poll(self, *, batch_size: int, progress: Callable[[PollProgress], None] | None,
             agent_addresses: frozenset[str] | None) -> PollResult:
        started = time.monotonic()
        tally = Tally()
        try:
            account = mailbox_account(self.mailbox, self.environ)
            mail_pass = self.capture.begin_pass(self.lease, agent_addresses=agent_addresses)
            with open_mailbox(account) as opened:
                for batch in fetch_new_headers(opened, self.position, since=self._since(), fields=self.fields,
                                               batch_size=batch_size):
                    self._store(mail_pass, batch, tally)
                    if progress is not None:
                        progress(PollProgress(self.mailbox.name, tally.fetched, batch.remaining))
        except (MissingPassword, MailboxError, LeaseLost) as error:
            return self._ended_by(error, tally)
        self.capture.mark_polled(self.lease, job_id=tally.job_id, failed=tally.failed, message=tally.summary(),
                                 now=self.now())
        log = logger.info if tally.fetched else logger.debug
        log("mailbox %s: %s in %.1f s", self.mailbox.name, tally.summary(), time.monotonic() - started)
        return self._result(tally)

    def watch(self, stop: threading.Event, *, batch_size: int, on_result: Callable[[PollResult], None] | None,
              renew_seconds: float, silence_seconds: float) -> PollResult:
        tally = Tally()
        try:
            batches = watch_mailbox(
                mailbox_account(self.mailbox, self.environ), self.position, since=self._since(), fields=self.fields,
                batch_size=batch_size, rng=self.rng, renew_seconds=renew_seconds, silence_seconds=silence_seconds)
            try:
                mail_pass: MailPass | None = None
                for batch in batches:
                    if mail_pass is None:  # each pass (a first read, or new mail) sees agents added while watching
                        mail_pass = self.capture.begin_pass(self.lease)
                    self._store(mail_pass, batch, tally)
                    if batch.remaining == 0:  # a pass ended: it is one poll in the history
                        self.capture.mark_polled(self.lease, job_id=tally.job_id, failed=tally.failed,
                                                 message=tally.summary(), now=self.now(), is_released=False)
                        if tally.fetched:
                            logger.info("mailbox %s: %s", self.mailbox.name, tally.summary())
                        if on_result is not None:
                            on_result(self._result(tally))
                        tally, mail_pass = Tally(), None
                    if stop.is_set():
                        break
            finally:
                batches.close()
        except (MissingPassword, MailboxError, LeaseLost) as error:
            return self._ended_by(error, tally)
        self.capture.release_lease(self.lease)
        return self._result(tally)

    def _since(self) -> date:
        return self.capture.first_poll_date(self.mailbox, self.now().date())

    def _store(self, mail_pass: MailPass, batch: HeaderBatch, tally: Tally) -> None:
        stored = self.capture.store_batch(mail_pass, batch.headers, uidvalidity=batch.position.uidvalidity,
                                          last_uid=batch.position.last_uid, job_id=tally.job_id,
                                          rows_before=tally.fetched, now=self.now())
        self.position = batch.position
        tally.add(len(batch.headers), stored)
        logger.debug("mailbox %s: stored up to UID %d, %d to go", self.mailbox.name, batch.position.last_uid,
                     batch.remaining)

    def _ended_by(self, error: Exception, tally: Tally) -> PollResult:
        if isinstance(error, LeaseLost):
            return self._result(tally, PollProblem.LEASE_LOST.value, str(error))
        if isinstance(error, MailboxError):
            return self._failed(str(error.code), error.message, tally)
        return self._failed(PollProblem.PASSWORD_MISSING.value, str(error), tally)

    def _failed(self, code: str, message: str, tally: Tally) -> PollResult:
        backoff = Backoff(first_seconds=float(self.settings.mail_poll_seconds), cap_seconds=FAILURE_BACKOFF_CAP_SECONDS)
        delay = backoff.delay(self.mailbox.failures, self.rng)
        marked = self.capture.mark_failed(self.lease, code=code, message=message, job_id=tally.job_id,
                                          retry_after=timedelta(seconds=delay), now=self.now())
        logger.warning("mailbox %s: %s (trying again in %.0f s)", self.mailbox.name, message, delay)
        return self._result(tally, code, message, next_attempt_at=marked.next_attempt_at)

    def _result(self, tally: Tally, code: str = "", message: str = "", *,
                next_attempt_at: datetime | None = None) -> PollResult:
        position = self.position
        return PollResult(
            self.mailbox.name, self.mailbox.folder, position.uidvalidity if position else None,
            position.last_uid if position else None, tally.fetched, tuple(tally.created), tuple(tally.existing),
            tuple(tally.skipped), code, message, next_attempt_at, tally.job_id,
        )  # fmt: skip
