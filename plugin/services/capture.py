"""Capture: support mailboxes whose correspondents become customers; reached as services.capture.

The IMAP poller (adapters/imap) reads the mail and calls these use cases: take a mailbox's lease, begin a
pass, store each batch of fetched header blocks, mark how the poll ended. A batch is classified
(plugin.mail), its new authors validated and planned as CSV rows (plugin.mail_customers) and written by the
customers kind's own writer, with the skips, the mailbox's position and the poll's counts, in one unit of
work. A value the CSV path would refuse is a skip with its reason, so one bad message never stops a poll.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.mail import address_keys, classify_message, fetch_header_fields
from plugin.mail_customers import AuthorPlanner, MailAuthor, printable, source_detail
from plugin.ports.mailboxes import (BatchCounts, Lease, LeaseLost, MailboxExists, MailboxRecord,
                                    MailboxTally, MailSkipRecord, NewMailbox)
from plugin.ports import StalePlan
from plugin.ports.unit_of_work import WriteConflict
from plugin.validate import name_problem

if TYPE_CHECKING:
    from plugin.services import Services

logger = logging.getLogger(__name__)

STORE_ATTEMPTS = 5  # a batch another writer got in the way of is planned and written again, this many times
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what a mailbox's password_env may be
NAME_LENGTH = 100  # the longest mailbox name


class UnknownMailbox(LookupError):
    """No mailbox has that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"There is no mailbox {name!r}; `contact-importer mailbox list` shows them.")


class BadMailbox(ValueError):
    """A mailbox cannot be saved as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class MailboxOverview:
    """A mailbox as its list shows it: the record and what it has come to."""

    mailbox: MailboxRecord
    tally: MailboxTally


AccessCheck = Callable[[NewMailbox], None]  # logs in and opens the folder, or raises (the adapter's IMAP error)


def password_env_problem(password_env: str) -> str | None:
    """Why this cannot name the environment variable holding a mailbox's password, or None."""
    if VARIABLE_NAME.fullmatch(password_env):
        return None
    return f"{password_env!r} is not an environment variable name (letters, digits and _, not starting with a digit)."


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
class StoredBatch:
    """What one batch came to, in UID order, and the poll's job (created by its first batch with mail)."""

    created: tuple[CapturedContact, ...]
    existing: tuple[ExistingContact, ...]
    skipped: tuple[MailSkipRecord, ...]
    job_id: int | None


@dataclass(slots=True)
class MailPass:
    """One pass over a leased mailbox: whose mail is never a customer's, and the planner with its catalog (labels,
    companies' domains), read once a pass; a batch another writer got in the way of reads the catalog again."""

    lease: Lease
    own_addresses: frozenset[str]
    agent_addresses: frozenset[str]
    planner: AuthorPlanner | None = None


class Capture:
    """The mail capture use cases; reached as services.capture."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # ---- mailboxes

    def add_mailbox(self, *, name: str, host: str, port: int | None, user: str, password_env: str, tls: bool = True,
                    folder: str = "INBOX", since: date | None = None, own_addresses: Sequence[str] = (),
                    label: str | None = None, captures_leads: bool = False, check: AccessCheck | None = None,
                    now: datetime) -> int:
        """Save a mailbox and create its label when missing; raises MailboxExists, or BadMailbox for a label a
        CSV label cell would refuse or a password_env that names no variable. `check` (logging in and opening
        the folder) runs first, when given: whatever it raises leaves nothing saved. With `captures_leads` its
        new correspondents become leads (a sales inbox)."""
        mailbox = replace(_new_mailbox(name, host, port, user, password_env, tls, folder, since, own_addresses, label),
                          captures_leads=captures_leads)
        if check is not None:
            with self.services.unit_of_work() as work:
                if work.mailboxes.named(mailbox.name) is not None:  # asked before the server is
                    raise MailboxExists(f"There is a mailbox named {mailbox.name!r} already.")
            check(mailbox)
        with self.services.unit_of_work() as work:
            mailbox_id = work.mailboxes.add(mailbox, now=now)
            work.commit()
        return mailbox_id

    def change_mailbox(self, name: str, *, host: str, port: int | None, user: str, password_env: str, tls: bool,
                       folder: str, own_addresses: Sequence[str] = (), label: str | None = None,
                       captures_leads: bool | None = None, check: AccessCheck | None = None,
                       now: datetime) -> MailboxRecord:
        """Save a mailbox's new settings (its name and `since` stay); it is polled at the next tick. Another
        host, port, user or folder starts its position over. `captures_leads` turns a sales inbox on or off for
        the correspondents it meets from then on (None: as it was); those captured already stay what they are.
        Raises UnknownMailbox or BadMailbox; `check` runs first, when given, as for add_mailbox."""
        before = self.mailbox(name)
        mailbox = replace(_new_mailbox(name, host, port, user, password_env, tls, folder, before.since, own_addresses,
                                       label),
                          captures_leads=before.captures_leads if captures_leads is None else captures_leads)
        if check is not None:
            check(mailbox)
        is_moved = (mailbox.host, mailbox.port, mailbox.user, mailbox.folder) != (before.host, before.port,
                                                                                  before.user, before.folder)
        with self.services.unit_of_work() as work:
            if not work.mailboxes.change(name, mailbox, is_moved=is_moved, now=now):
                raise UnknownMailbox(name)
            changed = work.mailboxes.named(name)
            work.commit()
        assert changed is not None
        return changed

    def mailbox(self, name: str) -> MailboxRecord:
        """The mailbox of that name; raises UnknownMailbox."""
        with self.services.unit_of_work() as work:
            found = work.mailboxes.named(name)
        if found is None:
            raise UnknownMailbox(name)
        return found

    def mailboxes(self) -> list[MailboxRecord]:
        with self.services.unit_of_work() as work:
            return work.mailboxes.all()

    def overview(self) -> list[MailboxOverview]:
        """Every mailbox, by name, with the contacts it captured and the messages it skipped."""
        with self.services.unit_of_work() as work:
            tallies = work.mailboxes.tallies()
            return [MailboxOverview(mailbox, tallies.get(mailbox.name, MailboxTally()))
                    for mailbox in work.mailboxes.all()]

    def due_mailboxes(self, *, now: datetime) -> list[MailboxRecord]:
        with self.services.unit_of_work() as work:
            return work.mailboxes.due(now=now)

    def remove_mailbox(self, name: str) -> None:
        """Forget a mailbox and its skips; the customers it created stay. Raises UnknownMailbox."""
        with self.services.unit_of_work() as work:
            if not work.mailboxes.remove(name):
                raise UnknownMailbox(name)
            work.commit()

    def skips(self, name: str, *, email: str | None = None, limit: int = 50, offset: int = 0) -> list[MailSkipRecord]:
        """Why people are missing: the latest skipped messages, newest first, after the first `offset`. Raises
        UnknownMailbox."""
        with self.services.unit_of_work() as work:
            if work.mailboxes.named(name) is None:
                raise UnknownMailbox(name)
            return work.mailboxes.skips(name, email=email, limit=limit, offset=offset)

    def agent_addresses(self) -> frozenset[str]:
        with self.services.unit_of_work() as work:
            return work.mailboxes.agent_address_keys()

    # ---- leases

    def take_lease(self, mailbox: MailboxRecord, owner: str, *, seconds: float, now: datetime) -> Lease | None:
        with self.services.unit_of_work() as work:
            lease = work.mailboxes.take_lease(mailbox.id, owner, seconds=seconds, now=now)
            work.commit()
        return lease

    def renew_lease(self, lease: Lease, *, now: datetime) -> bool:
        with self.services.unit_of_work() as work:
            renewed = work.mailboxes.renew_lease(lease, now=now)
            work.commit()
        return renewed

    def release_lease(self, lease: Lease) -> None:
        with self.services.unit_of_work() as work:
            work.mailboxes.release_lease(lease)
            work.commit()

    def release_leases(self, owner: str) -> int:
        with self.services.unit_of_work() as work:
            count = work.mailboxes.release_leases(owner)
            work.commit()
        return count

    # ---- a poll

    def header_fields(self) -> tuple[str, ...]:
        """The header fields to fetch of each message."""
        return fetch_header_fields(self.services.settings.loop_header)

    def first_poll_date(self, mailbox: MailboxRecord, today: date) -> date:
        """Where a first poll, or one after a UIDVALIDITY change, starts: --since, else mail_since_days ago."""
        return mailbox.since or today - timedelta(days=self.services.settings.mail_since_days)

    def begin_pass(self, lease: Lease, *, agent_addresses: frozenset[str] | None = None) -> MailPass:
        """A pass over the leased mailbox; `agent_addresses` when the caller read them already (poll_all_due)."""
        agents = self.agent_addresses() if agent_addresses is None else agent_addresses
        return MailPass(lease, self._own_address_keys(lease.mailbox), agents)

    def store_batch(self, mail_pass: MailPass, headers: Sequence[tuple[int, bytes]], *, uidvalidity: int,
                    last_uid: int, job_id: int | None, rows_before: int = 0, now: datetime) -> StoredBatch:
        """Classify a batch of (UID, header block), store its new customers, its skips and the position after
        it in one unit of work (`rows_before`: the messages this poll stored before, which number its rows);
        raises LeaseLost (storing nothing) when this poll no longer holds the mailbox.

        The first valid author of each address not stored yet becomes a customer, as a CSV row would (same
        validation, planner and writer; the mailbox's label; the company owning the address's domain); a
        stored customer is never changed. A batch another writer got in the way of is planned again."""
        settings = self.services.settings
        authors: list[MailAuthor] = []
        skips: list[MailSkipRecord] = []
        for row, (uid, header) in enumerate(headers, start=rows_before + 1):
            verdict = classify_message(header, own_addresses=mail_pass.own_addresses,
                                       agent_addresses=mail_pass.agent_addresses, loop_header=settings.loop_header)
            if verdict.email is not None:
                authors.append(MailAuthor(row, uid, verdict.email, verdict.first_name, verdict.last_name,
                                          verdict.message_id, verdict.date))
            else:
                skips.append(MailSkipRecord(uid, str(verdict.skip), printable(verdict.detail) or "",
                                            printable(verdict.written_author), printable(verdict.message_id)))
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                return self._store(mail_pass, authors, skips, uidvalidity=uidvalidity, last_uid=last_uid,
                                   fetched=len(headers), job_id=job_id, now=now)
            except (StalePlan, WriteConflict) as conflict:
                mail_pass.planner = None  # its catalog may hold what the rolled-back attempt created
                if attempt == STORE_ATTEMPTS:
                    raise
                logger.warning("mailbox %s, messages up to %d: %s; stored again (attempt %d of %d)",
                               mail_pass.lease.mailbox.name, last_uid, conflict, attempt + 1, STORE_ATTEMPTS)
                time.sleep(random.uniform(0.01, 0.05 * 2 ** attempt))  # apart, so the two writers do not meet again
        raise AssertionError("unreachable")

    def _store(self, mail_pass: MailPass, authors: Sequence[MailAuthor], skips: Sequence[MailSkipRecord], *,
               uidvalidity: int, last_uid: int, fetched: int, job_id: int | None, now: datetime) -> StoredBatch:
        lease = mail_pass.lease
        mailbox = lease.mailbox
        with self.services.unit_of_work() as work:
            if not work.mailboxes.move_position(lease, uidvalidity=uidvalidity, last_uid=last_uid, now=now):
                raise LeaseLost(f"Mailbox {mailbox.name} is being polled by another worker now.")
            if job_id is None and fetched:
                job_id = work.mailboxes.start_job(mailbox, now=now)
            customers = work.captured_customers
            keys = {author.uid: email_key(author.email) for author in authors}
            existing = customers.find_existing(set(keys.values())) if authors else {}
            new_authors = [author for author in authors if keys[author.uid] not in existing]
            if existing and not mailbox.captures_leads:  # a lead who writes to a customers mailbox is a customer
                customers.make_customers(existing.keys())
            created: dict[int, CapturedContact] = {}
            refused: list[MailSkipRecord] = []
            if new_authors:
                if mail_pass.planner is None:
                    mail_pass.planner = AuthorPlanner(self.services.kind("customers"), customers.load_catalog(),
                                                      self._options(mailbox))
                planner = mail_pass.planner
                creating, refusals = planner.plan([planner.validate(author) for author in new_authors], existing)
                by_row = {author.row: author for author in new_authors}
                if creating:
                    assert job_id is not None  # a batch with authors fetched something
                    details = {row.row: source_detail(mailbox.name, mailbox.folder, by_row[row.row]) for row in creating}
                    customers.write_new(job_id, creating, options=planner.options, catalog=planner.catalog,
                                        source_details=details, now=now, as_leads=mailbox.captures_leads)
                for row in creating:
                    author = by_row[row.row]
                    created[author.uid] = CapturedContact(author.uid, author.email, _text(row.values.get("first_name")),
                                                          _text(row.values.get("last_name")))
                refused = [MailSkipRecord(by_row[refusal.row].uid, refusal.reason, refusal.detail,
                                          by_row[refusal.row].email.lower(), printable(by_row[refusal.row].message_id))
                           for refusal in refusals]
            all_skips = sorted([*skips, *refused], key=lambda skip: skip.uid)
            work.mailboxes.add_skips(mailbox.id, uidvalidity, all_skips, now=now)
            skipped = tuple(all_skips)
            refused_uids = {skip.uid for skip in refused}
            existing_authors = tuple(ExistingContact(author.uid, author.email) for author in authors
                                     if author.uid not in created and author.uid not in refused_uids)
            if job_id is not None and fetched:
                work.mailboxes.count_batch(job_id, BatchCounts(fetched, len(created), len(existing_authors),
                                                               sum(skip.is_failure for skip in skipped)), now=now)
            work.commit()
        return StoredBatch(tuple(created[uid] for uid in sorted(created)), existing_authors, skipped, job_id)

    def mark_polled(self, lease: Lease, *, job_id: int | None, failed: int, message: str, now: datetime,
                    is_released: bool = True) -> None:
        with self.services.unit_of_work() as work:
            work.mailboxes.mark_polled(lease, job_id=job_id, failed=failed, message=message, now=now,
                                       is_released=is_released)
            work.commit()
        if job_id is not None:
            self.services.notices.job_finished(job_id)  # a poll's (or a watch pass's) webhook and e-mail

    def mark_failed(self, lease: Lease, *, code: str, message: str, retry_after: timedelta, job_id: int | None,
                    now: datetime) -> MailboxRecord:
        with self.services.unit_of_work() as work:
            marked = work.mailboxes.mark_failed(lease, code=code, message=message, retry_after=retry_after,
                                                job_id=job_id, now=now)
            work.commit()
        return marked

    def _options(self, mailbox: MailboxRecord) -> dict[str, object]:
        """The import options a captured customer is planned with: the mailbox's label (created if missing),
        and the helpdesk's free-mail domains, which never place a customer in a company."""
        return {"default_labels": (mailbox.label,) if mailbox.label else (), "create_labels": True,
                "free_mail_domains": tuple(self.services.settings.free_mail_domains)}

    def _own_address_keys(self, mailbox: MailboxRecord) -> frozenset[str]:
        """The mailbox's user (when it is an address), its --own-address ones and the helpdesk's own_addresses."""
        keys: set[str] = set()
        for address in (mailbox.user, *mailbox.own_addresses, *self.services.settings.own_addresses):
            try:
                keys |= address_keys([address])
            except InvalidEmail:
                logger.debug("mailbox %s: own address %r is not an address; ignored", mailbox.name, address)
        return frozenset(keys)


def _new_mailbox(name: str, host: str, port: int | None, user: str, password_env: str, tls: bool, folder: str,
                 since: date | None, own_addresses: Sequence[str], label: str | None) -> NewMailbox:
    """A mailbox's settings as saved; raises BadMailbox for a name of no or too many characters, a label a CSV
    label cell would refuse, a password_env that names no variable or an own address that is none."""
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        raise BadMailbox(f"a mailbox name has 1 to {NAME_LENGTH} characters.")
    addresses = []
    for address in own_addresses:
        try:
            addresses.append(normalize_email(address))
        except InvalidEmail as error:
            raise BadMailbox(f"{address!r} is not an email address: {error}") from error
    label = label.strip() if label else None
    if label and (problem := name_problem(label, what="label")) is not None:
        raise BadMailbox(problem[1])
    if (problem_text := password_env_problem(password_env)) is not None:
        raise BadMailbox(problem_text)
    return NewMailbox(name, host.strip(), port, user.strip(), password_env, tls, folder.strip() or "INBOX", since,
                      tuple(addresses), label)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
