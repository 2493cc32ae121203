"""Uploads: the files people upload through the web pages and the API, the imports started from them (queued
for the worker), saved mappings and each person's notification area. Reached as services.uploads."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from plugin.options import ImportOptions
from plugin.ports.uploads import DuplicateImport, NotificationRecord, QueuedImportRecord, SavedMappingRecord, UploadRecord

if TYPE_CHECKING:
    from plugin.services import Services

UPLOAD_JOB_FIELDS = frozenset({"preview_job_id", "import_job_id"})  # where an upload remembers the job it became


class Uploads:
    """The upload use cases; reached as services.uploads."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @staticmethod
    def new_id() -> str:
        """A random upload id: it appears in URLs and names the file under upload_dir."""
        return secrets.token_urlsafe(18)

    def add(self, upload_id: str, *, kind: str, file_name: str, actor: str, path: str, size: int,
            headers: Sequence[str] = (), is_kept_for_start: bool = False, file_hash: str | None = None) -> UploadRecord:
        """Record an upload saved (and checked) under upload_dir."""
        with self.services.unit_of_work() as work:
            work.uploads.add(upload_id, kind=kind, file_name=file_name, actor=actor, path=path, size=size,
                             headers=headers, is_kept_for_start=is_kept_for_start, file_hash=file_hash)
            upload = work.uploads.get(upload_id)
            work.commit()
        assert upload is not None
        return upload

    def get(self, upload_id: str) -> UploadRecord | None:
        with self.services.unit_of_work() as work:
            return work.uploads.get(upload_id)

    def change(self, upload_id: str, **values: object) -> UploadRecord | None:
        """Store the chosen mapping, options or is_kept_for_start of an upload; returns it as it is now."""
        with self.services.unit_of_work() as work:
            work.uploads.change(upload_id, **values)
            upload = work.uploads.get(upload_id)
            work.commit()
        return upload

    def discard(self, upload: UploadRecord) -> None:
        """Forget an upload: its file goes now, its record is marked deleted."""
        Path(upload.path).unlink(missing_ok=True)
        with self.services.unit_of_work() as work:
            work.uploads.mark_deleted(upload.id)
            work.commit()

    def double_submission(self, upload: UploadRecord, *, mapping: Mapping[str, str],
                          options: ImportOptions) -> DuplicateImport | None:
        """The import this one would repeat: the same file, kind, mapping and options, started by the same person
        within duplicate_upload_minutes; None when there is none or the check is off."""
        minutes = self.services.settings.duplicate_upload_minutes
        if minutes <= 0 or upload.file_hash is None:
            return None
        with self.services.unit_of_work() as work:
            return work.uploads.recent_import_of_same_file(
                file_hash=upload.file_hash, kind=upload.kind, actor=upload.actor, mapping=mapping,
                defaults=dict(options.defaults), options=options.recorded(), all_or_nothing=options.all_or_nothing,
                within=timedelta(minutes=minutes))

    def start_import(self, upload: UploadRecord, *, actor: str, is_dry_run: bool, mapping: Mapping[str, str],
                     options: ImportOptions, enqueue: Callable[[int], object], remember_as: str | None = None) -> int:
        """Start an import (or a preview) of an upload: its job and what the worker is to do are committed
        together (and, with `remember_as`, the upload's preview_job_id or import_job_id), then the job id is
        enqueued. Should enqueueing fail, the job waits queued and the reaper enqueues it again."""
        if remember_as is not None and remember_as not in UPLOAD_JOB_FIELDS:
            raise ValueError(f"an upload remembers its job as one of {sorted(UPLOAD_JOB_FIELDS)}")
        recorded = options.recorded()
        with self.services.unit_of_work() as work:
            job_id = work.uploads.queue_job(upload, actor=actor, is_dry_run=is_dry_run, mapping=mapping,
                                            defaults=dict(options.defaults), options=recorded,
                                            all_or_nothing=options.all_or_nothing)
            if remember_as is not None:
                work.uploads.change(upload.id, **{remember_as: job_id})
            work.commit()
        enqueue(job_id)
        return job_id

    def save_mapping(self, kind: str, name: str, headers: Sequence[str], mapping: Mapping[str, str], *,
                     created_by: str) -> int:
        """Save (or replace, under the same name) a mapping for files with these headers."""
        with self.services.unit_of_work() as work:
            saved = work.uploads.save_mapping(kind, name, headers, mapping, created_by=created_by)
            work.commit()
        return saved

    def saved_mappings_for(self, kind: str, headers: Sequence[str]) -> list[SavedMappingRecord]:
        """Mappings saved for files with the same headers, newest first."""
        with self.services.unit_of_work() as work:
            return work.uploads.saved_mappings_for(kind, headers)

    # ---- the notification area (the bell)

    def unread_count(self, recipient: str) -> int:
        with self.services.unit_of_work() as work:
            return work.notification_area.unread_count(recipient)

    def read_notifications(self, recipient: str) -> list[NotificationRecord]:
        """A person's latest notifications, marked read as they are shown."""
        with self.services.unit_of_work() as work:
            shown = work.notification_area.list_for(recipient)
            work.notification_area.mark_read(recipient)
            work.commit()
        return shown

    def take_undelivered_notifications(self) -> list[NotificationRecord]:
        """Notifications written by workers, not yet handed to the host; marked delivered as they are taken."""
        with self.services.unit_of_work() as work:
            taken = work.notification_area.take_undelivered()
            work.commit()
        return taken

    # ---- after an import (the worker's)

    def notify(self, recipient: str, message: str, *, job_id: int | None) -> None:
        """Leave a message in the person's notification area."""
        with self.services.unit_of_work() as work:
            work.notifications.notify(recipient, message, job_id=job_id)
            work.commit()

    def queued(self, job_id: int) -> QueuedImportRecord | None:
        """What a queued import was asked to do, with its upload."""
        with self.services.unit_of_work() as work:
            return work.uploads.queued(job_id)

    def release(self, queued: QueuedImportRecord) -> None:
        """Delete the uploaded file when this was its real import, or a preview nobody will start from."""
        with self.services.unit_of_work() as work:
            upload = work.uploads.get(queued.upload.id) or queued.upload
            is_needed_later = queued.is_dry_run and upload.is_kept_for_start
            if is_needed_later or work.uploads.busy_jobs_of_upload(upload.id, except_job=queued.job_id):
                return
        self.discard(upload)

    def discard_abandoned(self) -> list[UploadRecord]:
        """Delete uploads made long ago (abandoned_upload_minutes) with no import waiting or running."""
        with self.services.unit_of_work() as work:
            abandoned = work.uploads.abandoned_uploads(
                older_than=timedelta(minutes=self.services.settings.abandoned_upload_minutes))
        for upload in abandoned:
            self.discard(upload)
        return abandoned
