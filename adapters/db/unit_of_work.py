"""SqlUnitOfWork: plugin.ports.UnitOfWork on SQLAlchemy: one connection, one transaction, its repositories."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType

from sqlalchemy import Connection, Engine, RootTransaction

from adapters.db.captured_customers import SqlCapturedCustomers
from adapters.db.catalog import SqlCatalogStore
from adapters.db.companies import SqlCompanyDomains
from adapters.db.engine import retryable_failure
from adapters.db.job_log import SqlJobLog
from adapters.db.mailboxes import SqlMailboxes
from adapters.db.notices import SqlNoticeStore
from adapters.db.notifications import SqlNotifications
from adapters.db.records import SqlRecordDirectory
from adapters.db.teams import SqlTeamStore
from adapters.db.undo import SqlUndoStore, UndoTable
from adapters.db.upload_store import SqlNotificationArea, SqlUploads
from adapters.db.worker_claims import SqlWorkerClaims
from plugin.ports.unit_of_work import WriteConflict


class SqlUnitOfWork:
    """`with SqlUnitOfWork(engine) as work: ...; work.commit()`; leaving without commit() rolls back."""

    connection: Connection
    transaction: RootTransaction

    def __init__(self, engine: Engine, undo_tables: Mapping[str, Callable[[], UndoTable]] | None = None) -> None:
        self.engine = engine
        self.undo_tables = undo_tables or {}  # kind → undo table, as registered (adapters/db/kind_storage.py)

    def __enter__(self) -> SqlUnitOfWork:
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.jobs = SqlJobLog(self.connection)
        self.catalog = SqlCatalogStore(self.connection)
        self.undo = SqlUndoStore(self.connection, self.undo_tables)
        self.notifications = SqlNotifications(self.connection)
        self.teams = SqlTeamStore(self.connection)
        self.mailboxes = SqlMailboxes(self.connection)
        self.captured_customers = SqlCapturedCustomers(self.connection)
        self.notices = SqlNoticeStore(self.connection)
        self.records = SqlRecordDirectory(self.connection)
        self.uploads = SqlUploads(self.connection)
        self.notification_area = SqlNotificationArea(self.connection)
        self.claims = SqlWorkerClaims(self.connection)
        self.companies = SqlCompanyDomains(self.connection)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            if self.transaction.is_active:
                self.transaction.rollback()
        finally:
            self.connection.close()
        reason = None if error is None else retryable_failure(error)
        if reason is not None:
            raise WriteConflict(reason) from error

    def commit(self) -> None:
        self.transaction.commit()
