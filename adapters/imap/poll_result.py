"""What a poll of one mailbox tells its caller: PollResult (the `mailbox poll --json` shape), gathered batch by
batch in a Tally, and PollProgress after each stored batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from plugin.ports.mailboxes import MailSkipRecord
from plugin.services.capture import CapturedContact, ExistingContact, StoredBatch


class PollProblem(StrEnum):
    """Why a poll stopped, besides the IMAP failures of adapters.imap.MailboxErrorCode."""

    BUSY = "busy"  # another worker holds the mailbox's lease: nothing was done
    PASSWORD_MISSING = "password_missing"  # the environment variable named by password_env is not set
    LEASE_LOST = "lease_lost"  # the lease expired and another worker took over: the last batch was not stored


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
    skipped: tuple[MailSkipRecord, ...] = ()
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


@dataclass
class Tally:
    """What one pass found, gathered batch by batch."""

    fetched: int = 0
    created: list[CapturedContact] = field(default_factory=list)
    existing: list[ExistingContact] = field(default_factory=list)
    skipped: list[MailSkipRecord] = field(default_factory=list)
    job_id: int | None = None

    def add(self, fetched: int, stored: StoredBatch) -> None:
        self.fetched += fetched
        self.created += stored.created
        self.existing += stored.existing
        self.skipped += stored.skipped
        self.job_id = stored.job_id

    @property
    def failed(self) -> int:
        return sum(skip.is_failure for skip in self.skipped)

    def summary(self) -> str:
        reasons: dict[str, int] = {}
        for skip in self.skipped:
            reasons[skip.reason] = reasons.get(skip.reason, 0) + 1
        why = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        return (
            f"{self.fetched} messages: {len(self.created)} created, {len(self.existing)} existing, "
            f"{len(self.skipped)} skipped" + (f" ({why})" if why else "")
        )
