"""What mail capture needs stored: mailboxes (where, how far read, who polls them now), the messages it skipped,
the job of each poll, and the customers it creates, all bound to one unit of work.

A poll holds a lease on its mailbox: taken only when the last lease expired, renewed by every batch it stores,
released when it ends, so two workers never read the same mailbox at once and a dead worker holds it only until
its lease runs out. Each batch is one unit of work: its new customers, its skips, the mailbox's new position and
the poll's counts. The password is never stored: `password_env` names the environment variable holding it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from plugin.kinds import Catalog
from plugin.mail import SkipReason
from plugin.plan import Existing, PlannedRow

MAIL_JOB_KIND = "mail"  # the import history's kind of a poll's job


class MailboxStatus(StrEnum):
    NEW = "new"  # added, never polled
    OK = "ok"  # the last poll worked
    FAILING = "failing"  # the last poll failed; `error` says why, `next_attempt_at` when it is tried again


class MailboxExists(ValueError):
    """A mailbox with that name is already there."""


class LeaseLost(RuntimeError):
    """Another worker took over the mailbox (this one's lease had expired): the batch was not stored."""


@dataclass(frozen=True, slots=True)
class NewMailbox:
    """A mailbox as `mailbox add` saves it."""

    name: str
    host: str
    port: int | None  # None: 993 with TLS, 143 without
    user: str
    password_env: str  # the NAME of the variable, never the password
    tls: bool = True
    folder: str = "INBOX"
    since: date | None = None  # None: the last mail_since_days days, counted at each poll
    own_addresses: tuple[str, ...] = ()  # besides `user` and the setting's
    label: str | None = None  # given to every customer this mailbox creates
    captures_leads: bool = False  # its new correspondents become leads (a sales inbox), not customers


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
    uidvalidity: int | None  # with last_uid: the position; None before a poll
    last_uid: int | None
    last_poll_at: datetime | None
    status: MailboxStatus
    error_code: str
    error: str
    failures: int  # failed polls in a row
    next_attempt_at: datetime | None  # None: due now
    lease_until: datetime | None
    created_at: datetime
    captures_leads: bool = False  # its new correspondents become leads, not customers


@dataclass(frozen=True, slots=True)
class Lease:
    """The right to poll one mailbox for `seconds` more; `owner` is this poll's own token."""

    mailbox: MailboxRecord
    owner: str
    seconds: float

# Skips counted as failed in a poll's job: the author could not be read, or the CSV path would refuse them.
FAILED_REASONS = frozenset({SkipReason.NO_SENDER, SkipReason.INVALID_ADDRESS, SkipReason.INVALID_VALUE})


@dataclass(frozen=True, slots=True)
class MailSkipRecord:
    """A message whose author did not become a customer, and why: `mailbox skips NAME` shows them."""

    uid: int
    reason: str  # a plugin.mail.SkipReason value
    detail: str
    email: str | None  # the From address as written, lowercased
    message_id: str | None
    uidvalidity: int = 0
    seen_at: datetime | None = None

    @property
    def is_failure(self) -> bool:
        """Counted as failed in the poll's job (FAILED_REASONS), not only skipped."""
        return self.reason in FAILED_REASONS


@dataclass(frozen=True, slots=True)
class MailboxTally:
    """What a mailbox has come to: contacts its polls created (since it was added) and messages it skipped."""

    captured: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """What one stored batch adds to its poll's job."""

    fetched: int
    created: int
    unchanged: int  # authors already stored
    failed: int  # unreadable authors and refused values


class MailboxStore(Protocol):
    """Mailboxes, their leases, positions, skips and poll jobs, inside one unit of work."""

    def add(self, mailbox: NewMailbox, *, now: datetime) -> int:
        """Save a mailbox (its label is created when missing); raises MailboxExists."""
        ...

    def named(self, name: str) -> MailboxRecord | None: ...

    def all(self) -> list[MailboxRecord]:
        """Every mailbox, by name."""
        ...

    def due(self, *, now: datetime) -> list[MailboxRecord]:
        """Mailboxes to poll now: not waiting out a backoff, and not leased to a poll or a watch."""
        ...

    def change(self, name: str, mailbox: NewMailbox, *, is_moved: bool, now: datetime) -> bool:
        """Save a mailbox's new settings under its name (its label is created when missing; `since` stays); it is
        due at once. `is_moved` (another server, account or folder) starts its position over. False: no mailbox."""
        ...

    def tallies(self) -> dict[str, MailboxTally]:
        """Mailbox name → its tally, for every mailbox."""
        ...

    def remove(self, name: str) -> bool:
        """Forget a mailbox and its skips (the customers it created stay); False when there was none."""
        ...

    def agent_address_keys(self) -> frozenset[str]:
        """The email keys of every agent, active or not: their mail never makes them customers."""
        ...

    def take_lease(self, mailbox_id: int, owner: str, *, seconds: float, now: datetime) -> Lease | None:
        """The mailbox for this poll alone, or None while another poll's lease has not expired."""
        ...

    def renew_lease(self, lease: Lease, *, now: datetime) -> bool:
        """Push the lease's end further; False when it was lost to another poll meanwhile."""
        ...

    def release_lease(self, lease: Lease) -> None: ...

    def release_leases(self, owner: str) -> int:
        """Let go of every lease this owner holds (a watch that stops); returns how many."""
        ...

    def move_position(self, lease: Lease, *, uidvalidity: int, last_uid: int, now: datetime) -> bool:
        """The mailbox's position after a batch, and the lease renewed; False (nothing changed) when the lease
        is no longer this poll's. The first write of a batch's unit of work: it takes the mailbox row's lock."""
        ...

    def start_job(self, mailbox: MailboxRecord, *, now: datetime) -> int:
        """The import history's record of one poll, running."""
        ...

    def add_skips(self, mailbox_id: int, uidvalidity: int, skips: Sequence[MailSkipRecord], *, now: datetime) -> None:
        """Remember skipped messages; one seen before (same mailbox, UIDVALIDITY and UID) is not added again."""
        ...

    def count_batch(self, job_id: int, counts: BatchCounts, *, now: datetime) -> None: ...

    def mark_polled(self, lease: Lease, *, job_id: int | None, failed: int, message: str, now: datetime,
                    is_released: bool = True) -> None:
        """The poll went through: the mailbox is due again at the next tick, its job finished and, unless a
        watch goes on with it, the lease let go."""
        ...

    def mark_failed(self, lease: Lease, *, code: str, message: str, retry_after: timedelta, job_id: int | None,
                    now: datetime) -> MailboxRecord:
        """The poll failed: the mailbox carries the error, waits `retry_after` and lets its lease go; the
        failure is in the history."""
        ...

    def skips(self, mailbox_name: str, *, email: str | None = None, limit: int = 50,
              offset: int = 0) -> list[MailSkipRecord]:
        """The latest skipped messages of a mailbox, newest first, after the first `offset`; `email` narrows them
        to one address."""
        ...


class CapturedCustomers(Protocol):
    """The customers kind's records as mail capture reads and writes them, inside one unit of work: the same
    lookups and the same writer as a CSV import's batch (adapters.db.customers.CustomerTable)."""

    def load_catalog(self) -> Catalog: ...

    def find_existing(self, keys: Collection[str]) -> dict[str, Existing]:
        """Stored customers for these email keys, in one query."""
        ...

    def make_customers(self, keys: Collection[str]) -> None:
        """The leads among these email keys become customers (their author wrote to a customers mailbox)."""
        ...

    def write_new(self, job_id: int, planned: Sequence[PlannedRow], *, options: Mapping[str, object],
                  catalog: Catalog, source_details: Mapping[int, str], now: datetime, as_leads: bool = False
                  ) -> dict[int, int]:
        """Create the planned customers (source "mail", each row's own source detail); row → customer id.
        With `as_leads` they are created as leads (a mailbox that captures leads).

        Raises plugin.ports.StalePlan, having written nothing worth keeping, when another writer stored one of
        them meanwhile: the unit of work is then rolled back and the batch planned again."""
        ...
