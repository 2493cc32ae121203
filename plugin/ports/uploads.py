"""What the web pages and the API keep between requests, bound to one unit of work: the uploaded files waiting
for their preview and import, the imports queued for the worker, saved mappings and each person's
notification area."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    kind: str
    file_name: str
    actor: str
    path: str
    size: int
    headers: tuple[str, ...]
    mapping: dict[str, str] | None
    options: dict[str, object]
    is_kept_for_start: bool
    preview_job_id: int | None
    import_job_id: int | None
    created_at: datetime
    is_deleted: bool
    file_hash: str | None = None


@dataclass(frozen=True, slots=True)
class DuplicateImport:
    """An import of the same file, kind, mapping and options by the same person a few minutes ago."""

    job_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueuedImportRecord:
    job_id: int
    upload: UploadRecord
    is_dry_run: bool
    mapping: dict[str, str]
    defaults: dict[str, str]
    options: dict[str, object]
    all_or_nothing: bool | None
    attempts: int


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: int
    recipient: str
    message: str
    link: str
    job_id: int | None
    created_at: datetime
    is_read: bool


@dataclass(frozen=True, slots=True)
class SavedMappingRecord:
    id: int
    kind: str
    name: str
    mapping: dict[str, str]
    created_by: str
    created_at: datetime

class Uploads(Protocol):
    """Uploaded files and the imports queued for them (the worker's claims are the job runner's own)."""

    def add(self, upload_id: str, *, kind: str, file_name: str, actor: str, path: str, size: int,
            headers: Sequence[str] = (), is_kept_for_start: bool = False, file_hash: str | None = None) -> None: ...

    def get(self, upload_id: str) -> UploadRecord | None: ...

    def change(self, upload_id: str, **values: object) -> None:
        """Store the chosen mapping, options, preview or import job of an upload."""
        ...

    def mark_deleted(self, upload_id: str) -> None: ...

    def queue_job(self, upload: UploadRecord, *, actor: str, is_dry_run: bool, mapping: Mapping[str, str],
                  defaults: Mapping[str, str], options: Mapping[str, object], all_or_nothing: bool | None) -> int:
        """Record a queued import of an upload (its job and what the worker is to do) and return its job id."""
        ...

    def queued(self, job_id: int) -> QueuedImportRecord | None: ...

    def busy_jobs_of_upload(self, upload_id: str, *, except_job: int | None = None) -> int: ...

    def abandoned_uploads(self, *, older_than: timedelta) -> list[UploadRecord]: ...

    def recent_import_of_same_file(self, *, file_hash: str, kind: str, actor: str, mapping: Mapping[str, str],
                                   defaults: Mapping[str, str], options: Mapping[str, object],
                                   all_or_nothing: bool | None, within: timedelta) -> DuplicateImport | None: ...

    def save_mapping(self, kind: str, name: str, headers: Sequence[str], mapping: Mapping[str, str], *,
                     created_by: str) -> int: ...

    def saved_mappings_for(self, kind: str, headers: Sequence[str]) -> list[SavedMappingRecord]: ...


class NotificationArea(Protocol):
    """Each person's messages, read in the bell or handed to the host."""

    def list_for(self, recipient: str, *, limit: int = 30) -> list[NotificationRecord]: ...

    def unread_count(self, recipient: str) -> int: ...

    def mark_read(self, recipient: str) -> None: ...

    def take_undelivered(self, *, limit: int = 100) -> list[NotificationRecord]:
        """Notifications not yet handed to the host's notification area; marked delivered as they are taken."""
        ...
