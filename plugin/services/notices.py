"""Notices: a finished import, undo or mail-capture poll told to people and programs away from the page.

When a job ends, `job_finished` queues its deliveries in the database: a signed JSON POST to the webhook_url, and
an e-mail to whoever started it if they want one (their own choice, else the notify_by_email setting). Nothing is
sent then: the worker's periodic task (and `contact-importer notices send`) calls `send_due`, which claims each due
delivery, sends it, logs the attempt and, on failure, tries again later with a doubling delay until
notice_attempts were made. So a slow or dead listener never holds up or fails a job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from plugin.notices import EMAIL, RESULT_PATH, WEBHOOK, is_notified, job_notice, next_try
from plugin.ports.notices import Delivery, NotSent

if TYPE_CHECKING:
    from plugin.services import Services

logger = logging.getLogger(__name__)

SEND_LIMIT = 100  # deliveries one pass sends at most; the rest wait for the next
CLAIM_SECONDS = 120  # a sender holds a delivery this long; one that died lets it go after it


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class EmailChoice:
    """A person's notices by e-mail as the notices page shows them."""

    choice: bool | None  # their own: yes, no, or None (as notify_by_email says)
    is_wanted: bool  # whether they get one when their import or undo ends
    default: bool  # the notify_by_email setting
    is_set_up: bool  # smtp_url is set: without it no notice is mailed, whatever the choice


@dataclass(frozen=True, slots=True)
class NoticeSetup:
    """How notices are set up (plugin.toml or CONTACT_IMPORTER_*), as admins may see it: never the secret."""

    webhook_url: str  # a password in it is hidden
    has_webhook_secret: bool
    is_email_set_up: bool
    notify_by_email: bool
    attempts: int
    retry_seconds: int


@dataclass(frozen=True, slots=True)
class SentAttempt:
    """What one pass of send_due did with one delivery."""

    delivery_id: int
    channel: str
    is_delivered: bool
    status_code: int | None
    error: str
    next_try_at: datetime | None


class Notices:
    """The notice use cases; reached as services.notices."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def job_finished(self, job_id: int | None, *, now: Callable[[], datetime] = utc_now) -> int:
        """Queue the notices of a job that ended (none for a preview, or a job still running); returns how many
        were queued. Safe to call again: a job's notice to one target is queued once. Never raises: a notice
        that cannot be queued is logged, and the job it tells about stays as it ended."""
        if job_id is None or not self.services.notice_senders:
            return 0  # nothing is set up (no webhook_url, no smtp_url): not even a read
        try:
            return self._queue(job_id, now())
        except Exception:  # the job is over and committed; its notice must not turn it into a crash
            logger.exception("the notices of job %s could not be queued", job_id)
            return 0

    def _queue(self, job_id: int, moment: datetime) -> int:
        settings = self.services.settings
        senders = self.services.notice_senders
        with self.services.unit_of_work() as work:
            job = work.jobs.get_job(job_id)
            if job is None or not is_notified(job):
                return 0
            payload = job_notice(job, settings.absolute_link(RESULT_PATH.format(job_id=job_id))).as_dict()
            targets = []
            if WEBHOOK in senders and settings.webhook_url:
                targets.append((WEBHOOK, settings.webhook_url))
            if EMAIL in senders and is_address(job.actor) and self._wants_email(work.notices.email_choice(job.actor)):
                targets.append((EMAIL, job.actor))
            queued = sum(work.notices.queue(job_id, channel, target, payload, now=moment) for channel, target in targets)
            work.commit()
        if queued:
            logger.info("job %s: %d notices queued", job_id, queued)
        return queued

    def _wants_email(self, choice: bool | None) -> bool:
        return self.services.settings.notify_by_email if choice is None else choice

    def send_due(self, *, now: Callable[[], datetime] = utc_now, limit: int = SEND_LIMIT) -> list[SentAttempt]:
        """Send every delivery whose time has come, once each; what the worker runs every minute."""
        with self.services.unit_of_work() as work:
            due = work.notices.due(now=now(), limit=limit)
        return [sent for sent in (self._send(delivery, now) for delivery in due) if sent is not None]

    def _send(self, delivery: Delivery, now: Callable[[], datetime]) -> SentAttempt | None:
        settings = self.services.settings
        with self.services.unit_of_work() as work:
            moment = now()
            if not work.notices.claim(delivery.id, now=moment, until=moment + timedelta(seconds=CLAIM_SECONDS)):
                return None  # another worker sends it
            work.commit()
        sender = self.services.notice_senders.get(delivery.channel)
        attempt = delivery.attempts + 1
        status_code: int | None = None
        error = ""
        try:
            if sender is None:
                raise NotSent(f"{delivery.channel} is not set up here any more (its settings are empty)")
            status_code = sender.send(delivery, now=moment)
        except NotSent as failed:
            error, status_code = failed.error, failed.status_code
        ended = now()
        retry_at = None if not error else next_try(attempt, now=ended, attempts=settings.notice_attempts,
                                                   base_seconds=settings.notice_retry_seconds)
        with self.services.unit_of_work() as work:
            work.notices.record_attempt(delivery.id, now=ended, status_code=status_code, error=error,
                                        next_try_at=retry_at)
            work.commit()
        if error:
            logger.warning("notice %s of job %s (%s), attempt %d: %s; %s", delivery.id, delivery.job_id,
                           delivery.channel, attempt, error, f"next try at {retry_at:%H:%M:%S}" if retry_at else "given up")
        return SentAttempt(delivery.id, delivery.channel, not error, status_code, error, retry_at)

    def deliveries(self, *, limit: int = 50, job_id: int | None = None, status: str | None = None) -> list[Delivery]:
        """The latest deliveries with their attempts, newest first: what admins look at."""
        with self.services.unit_of_work() as work:
            return work.notices.list_deliveries(limit=limit, job_id=job_id, status=status)

    def set_email(self, person: str, wants_email: bool | None, *, now: Callable[[], datetime] = utc_now) -> bool:
        """A person's own choice about notices by e-mail (None: as the notify_by_email setting says); returns
        whether they will get them now. ValueError when `person` is not an e-mail address."""
        person = person.strip()
        if not is_address(person):
            raise ValueError(f"{person!r} is not an e-mail address: notices are mailed to the address a person "
                             "signs in with.")
        with self.services.unit_of_work() as work:
            work.notices.set_email_choice(person, wants_email, now=now())
            work.commit()
        return self._wants_email(wants_email)

    def email_choice(self, person: str) -> EmailChoice:
        """A person's choice about notices by e-mail, what it comes to, and whether e-mail is set up at all."""
        with self.services.unit_of_work() as work:
            choice = work.notices.email_choice(person.strip())
        return EmailChoice(choice, self._wants_email(choice), self.services.settings.notify_by_email,
                           EMAIL in self.services.notice_senders)

    def setup(self) -> NoticeSetup:
        """The notice settings for the admins' page: the webhook's URL (a password in it hidden), whether it has a
        secret (never the secret), and how deliveries are retried."""
        settings = self.services.settings
        return NoticeSetup(without_password(settings.webhook_url), bool(settings.webhook_secret),
                           EMAIL in self.services.notice_senders, settings.notify_by_email, settings.notice_attempts,
                           settings.notice_retry_seconds)

    def email_wanted(self, person: str) -> bool:
        """Whether a person gets an e-mail when their import or undo ends (their choice, else the setting)."""
        return self.email_choice(person).is_wanted


def without_password(url: str) -> str:
    """The URL with a password in it (https://user:password@host/...) shown as ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_address(actor: str) -> bool:
    """A job's actor that can be mailed: a signed-in person's address, not an OS user or 'mailbox:NAME'."""
    local, at, domain = actor.partition("@")
    return bool(local and at and "." in domain and not any(c.isspace() or c in ":,<>" for c in actor))
