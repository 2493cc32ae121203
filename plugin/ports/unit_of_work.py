"""The transaction boundary of a use case (cosmicpython's unit of work).

A use case opens one, reads and writes through the repositories it carries, and calls commit(); leaving the
block without commit() rolls everything back. Repositories are bound to that one transaction, so a use case
that must be all-or-nothing (start a web import: its job, its queued import) is one unit of work.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from plugin.ports.catalog import CatalogStore, CompanyDomains
from plugin.ports.jobs import JobLog
from plugin.ports.mailboxes import CapturedCustomers, MailboxStore
from plugin.ports.notices import NoticeStore
from plugin.ports.queue import WorkerClaims
from plugin.ports.records import RecordDirectory
from plugin.ports.teams import TeamStore
from plugin.ports.undo import Notifications, UndoStore
from plugin.ports.uploads import NotificationArea, Uploads


class WriteConflict(Exception):
    """The unit of work lost to another writer (a deadlock, a serialization failure, a lock held too long) and
    was rolled back: running the use case again may well succeed."""


class UnitOfWork(Protocol):
    jobs: JobLog
    catalog: CatalogStore
    undo: UndoStore
    notifications: Notifications
    teams: TeamStore
    mailboxes: MailboxStore
    captured_customers: CapturedCustomers
    notices: NoticeStore
    records: RecordDirectory
    uploads: Uploads
    notification_area: NotificationArea
    claims: WorkerClaims
    companies: CompanyDomains

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Roll back unless commit() was called; release the connection. An error that only another writer
        caused is raised as WriteConflict."""
        ...

    def commit(self) -> None: ...
