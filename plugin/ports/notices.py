"""What notices need from outside: their deliveries (queued, claimed, attempted, listed) and each person's choice
about e-mail, bound to one unit of work; and the channels that send them (a webhook, e-mail)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class NotSent(Exception):
    """A delivery attempt failed: the listener answered non-2xx (status_code), or could not be reached."""

    def __init__(self, error: str, *, status_code: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One try at sending a delivery, as the admins' log shows it."""

    attempt: int
    at: datetime
    status_code: int | None  # the listener's answer; None for mail, or when nothing answered
    error: str  # "" when it went through
    next_try_at: datetime | None  # None: delivered, or given up


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notice of one job on one channel to one target (the webhook URL, a person's address)."""

    id: int
    job_id: int
    channel: str  # "webhook" or "email"
    target: str
    payload: Mapping[str, object]  # the JobNotice's dict: counts and a link, never row data
    status: str  # pending, delivered or failed (given up)
    attempts: int
    next_try_at: datetime | None
    created_at: datetime
    last_error: str = ""
    last_status_code: int | None = None
    log: tuple[DeliveryAttempt, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "job_id": self.job_id, "channel": self.channel, "target": self.target,
                "status": self.status, "attempts": self.attempts, "last_status_code": self.last_status_code,
                "last_error": self.last_error, "next_try_at": _text(self.next_try_at),
                "created_at": _text(self.created_at), "notice": dict(self.payload),
                "log": [{"attempt": a.attempt, "at": _text(a.at), "status_code": a.status_code, "error": a.error,
                         "next_try_at": _text(a.next_try_at)} for a in self.log]}


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class NoticeStore(Protocol):
    def queue(self, job_id: int, channel: str, target: str, payload: Mapping[str, object], *, now: datetime) -> bool:
        """Queue a delivery, due now; False when this job's notice to this target on this channel was queued
        already (a job told twice is told once)."""
        ...

    def due(self, *, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose next try has come and that no sender holds, oldest first."""
        ...

    def claim(self, delivery_id: int, *, now: datetime, until: datetime) -> bool:
        """Hold a due delivery until `until`; False when another sender holds it or it is no longer due."""
        ...

    def record_attempt(self, delivery_id: int, *, now: datetime, status_code: int | None, error: str,
                       next_try_at: datetime | None) -> None:
        """Log an attempt and let the delivery go: delivered when error is "", else pending until next_try_at,
        or failed (given up) when next_try_at is None."""
        ...

    def list_deliveries(self, *, limit: int, job_id: int | None = None, status: str | None = None
                        ) -> list[Delivery]:
        """The latest deliveries, newest first, each with its attempts."""
        ...

    def email_choice(self, person: str) -> bool | None:
        """Whether a person asked for notices by e-mail (True), asked not to (False), or never said (None)."""
        ...

    def set_email_choice(self, person: str, wants_email: bool | None, *, now: datetime) -> None:
        ...


class NoticeSender(Protocol):
    """One channel: sends a delivery or raises NotSent; returns the listener's status code (None for mail)."""

    def send(self, delivery: Delivery, *, now: datetime) -> int | None:
        ...


__all__ = ["Delivery", "DeliveryAttempt", "NotSent", "NoticeSender", "NoticeStore"]
