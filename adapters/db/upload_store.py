"""SqlUploads and SqlNotificationArea: plugin.ports.uploads on one unit of work's connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import Connection

from adapters.db import import_queue, notifications, saved_mappings, uploads
from adapters.db.catalog import utc_now
from plugin.ports.uploads import DuplicateImport, NotificationRecord, QueuedImportRecord, SavedMappingRecord, UploadRecord


class SqlUploads:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, upload_id: str, *, kind: str, file_name: str, actor: str, path: str, size: int,
            headers: Sequence[str] = (), is_kept_for_start: bool = False, file_hash: str | None = None) -> None:
        uploads.add_upload(self.connection, upload_id, kind=kind, file_name=file_name, actor=actor, path=path,
                           size=size, headers=headers, is_kept_for_start=is_kept_for_start, file_hash=file_hash)

    def get(self, upload_id: str) -> UploadRecord | None:
        return uploads.get_upload(self.connection, upload_id)

    def change(self, upload_id: str, **values: object) -> None:
        uploads.change_upload(self.connection, upload_id, **values)

    def mark_deleted(self, upload_id: str) -> None:
        uploads.mark_upload_deleted(self.connection, upload_id)

    def queue_job(self, upload: UploadRecord, *, actor: str, is_dry_run: bool, mapping: Mapping[str, str],
                  defaults: Mapping[str, str], options: Mapping[str, object], all_or_nothing: bool | None) -> int:
        now = utc_now()
        job_id = import_queue.insert_job(self.connection, upload.kind, file_name=upload.file_name, actor=actor,
                                         dry_run=is_dry_run, options=options, now=now)
        import_queue.queue_import(self.connection, job_id, upload.id, is_dry_run=is_dry_run, mapping=mapping,
                                  defaults=defaults, options=options, all_or_nothing=all_or_nothing,
                                  now=lambda: now)
        return job_id

    def queued(self, job_id: int) -> QueuedImportRecord | None:
        return import_queue.get_queued_import(self.connection, job_id)

    def busy_jobs_of_upload(self, upload_id: str, *, except_job: int | None = None) -> int:
        return import_queue.busy_jobs_of_upload(self.connection, upload_id, except_job=except_job)

    def abandoned_uploads(self, *, older_than: timedelta) -> list[UploadRecord]:
        return import_queue.abandoned_uploads(self.connection, older_than=older_than)

    def recent_import_of_same_file(self, *, file_hash: str, kind: str, actor: str, mapping: Mapping[str, str],
                                   defaults: Mapping[str, str], options: Mapping[str, object],
                                   all_or_nothing: bool | None, within: timedelta) -> DuplicateImport | None:
        return import_queue.recent_import_of_same_file(
            self.connection, file_hash=file_hash, kind=kind, actor=actor, mapping=mapping, defaults=defaults,
            options=options, all_or_nothing=all_or_nothing, within=within)

    def save_mapping(self, kind: str, name: str, headers: Sequence[str], mapping: Mapping[str, str], *,
                     created_by: str) -> int:
        return saved_mappings.save_mapping(self.connection, kind, name, headers, mapping, created_by=created_by)

    def saved_mappings_for(self, kind: str, headers: Sequence[str]) -> list[SavedMappingRecord]:
        return saved_mappings.saved_mappings_for(self.connection, kind, headers)


class SqlNotificationArea:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def list_for(self, recipient: str, *, limit: int = 30) -> list[NotificationRecord]:
        return notifications.list_notifications(self.connection, recipient, limit=limit)

    def unread_count(self, recipient: str) -> int:
        return notifications.unread_count(self.connection, recipient)

    def mark_read(self, recipient: str) -> None:
        notifications.mark_notifications_read(self.connection, recipient)

    def take_undelivered(self, *, limit: int = 100) -> list[NotificationRecord]:
        return notifications.take_undelivered(self.connection, limit=limit)
