"""Notices of finished jobs for people and programs away from the page: what one says, how a webhook's body is
signed, and when a failed delivery is tried again. Counts, kind, status, file name and a link; never row data."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from plugin.ports.jobs import JobSummary
from plugin.report import Status

RESULT_PATH = "/importer/jobs/{job_id}"  # the job's page where the web pages are mounted (their default prefix)
SIGNATURE_HEADER = "X-Contact-Importer-Signature"  # "sha256=" + HMAC-SHA256(webhook_secret, timestamp + "." + body)
TIMESTAMP_HEADER = "X-Contact-Importer-Timestamp"  # Unix seconds when the attempt was signed
DELIVERY_HEADER = "X-Contact-Importer-Delivery"  # the delivery's id: the same on every attempt of one notice
WEBHOOK, EMAIL = "webhook", "email"  # the channels a notice goes out on
NOT_NOTIFIED = frozenset({str(Status.QUEUED), str(Status.RUNNING), str(Status.CHECKING), str(Status.DRY_RUN)})


@dataclass(frozen=True, slots=True)
class JobNotice:
    """What a notice of one finished job says: counts and where to see the result, nothing from the rows."""

    job_id: int
    kind: str
    operation: str  # import, undo or mail-capture
    status: str
    counts: Mapping[str, int]
    file_name: str
    link: str
    finished_at: str  # ISO 8601, UTC

    def as_dict(self) -> dict[str, object]:
        return {"event": "job.finished", "job_id": self.job_id, "kind": self.kind, "operation": self.operation,
                "status": self.status, "counts": dict(self.counts), "file_name": self.file_name,
                "link": self.link, "finished_at": self.finished_at}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> JobNotice:
        counts = data.get("counts")
        return cls(job_id=int(data["job_id"]), kind=str(data["kind"]), operation=str(data["operation"]),  # type: ignore[call-overload]
                   status=str(data["status"]), counts=dict(counts) if isinstance(counts, Mapping) else {},
                   file_name=str(data.get("file_name", "")), link=str(data.get("link", "")),
                   finished_at=str(data.get("finished_at", "")))


def is_notified(job: JobSummary) -> bool:
    """A job is told about once it ended; previews (dry runs) never are."""
    return job.status not in NOT_NOTIFIED


def operation_of(job: JobSummary) -> str:
    """import, undo or mail-capture (a mailbox's poll is recorded as a job with options.mailbox)."""
    if job.is_undo:
        return "undo"
    return "mail-capture" if "mailbox" in job.options else "import"


def job_notice(job: JobSummary, link: str) -> JobNotice:
    """The notice of a finished job: its counts as its operation keeps them."""
    operation = operation_of(job)
    if operation == "undo":
        counts = job.undone.as_dict()
    elif operation == "mail-capture":
        counts = {"fetched": job.total, "created": job.created, "existing": job.unchanged, "failed": job.failed}
    else:
        counts = {"rows": job.rows_done, "created": job.created, "updated": job.updated,
                  "unchanged": job.unchanged, "failed": job.failed}
    finished = ""
    if job.finished_at is not None:  # stored in UTC; SQLite hands it back without its zone
        at = job.finished_at if job.finished_at.tzinfo is not None else job.finished_at.replace(tzinfo=UTC)
        finished = at.astimezone(UTC).isoformat()
    return JobNotice(job_id=job.id, kind=job.kind, operation=operation, status=job.status, counts=counts,
                     file_name=job.file_name, link=link, finished_at=finished)


def webhook_body(notice: JobNotice) -> bytes:
    """The JSON a webhook receives, as bytes: signed as they are sent."""
    return json.dumps(notice.as_dict(), sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """'sha256=<hex>' of HMAC-SHA256 over the timestamp, a dot and the body: a replayed body with a new
    timestamp does not verify."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def retry_delay(attempt: int, *, base_seconds: int) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1, 2, ...): base, then doubled each time."""
    return timedelta(seconds=base_seconds * 2 ** max(0, attempt - 1))


def next_try(attempt: int, *, now: datetime, attempts: int, base_seconds: int) -> datetime | None:
    """When to try again after failed attempt `attempt`, or None once `attempts` were made (given up)."""
    if attempt >= attempts:
        return None
    return now + retry_delay(attempt, base_seconds=base_seconds)
