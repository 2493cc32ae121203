"""An import's display progress (plugin.progress), written from inside a batch in a short transaction of its own.

It is written while a slow step prepares a batch (hashing passwords), outside the batch's transaction, at most
about once a second. Being for reading only, it never waits for a lock: when another transaction holds the
job's row or SQLite's write lock (this import's own batch, when a step runs inside it; another import's batch;
a mail poll), the figure is dropped, and the next one or the batch's commit says where the import is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import DBAPIError

from adapters.db.engine import SQLITE_BUSY_TIMEOUT_SECONDS, is_postgresql
from adapters.db.models import import_jobs

logger = logging.getLogger(__name__)

# How long the write waits for a lock another transaction holds before the figure is dropped.
LONGEST_WAIT_MS = 50


def write_display_progress(engine: Engine, job_id: int, rows_seen: int, *, now: datetime,
                           claim_token: str | None) -> bool:
    """Say the import has seen `rows_seen` rows, now; only while its row is this worker's (`claim_token`, or
    nobody's). False when nothing was written: the row is another worker's, or a lock was held."""
    held = (import_jobs.c.claimed_by == claim_token if claim_token is not None
            else import_jobs.c.claimed_by.is_(None))
    try:
        with engine.begin() as connection, _waiting_briefly(connection):
            return connection.execute(update(import_jobs).where(import_jobs.c.id == job_id, held)
                                      .values(rows_seen=rows_seen, progress_at=now)).rowcount == 1
    except DBAPIError as error:
        logger.debug("import %s: progress not written (%s)", job_id, str(error.orig or error).splitlines()[0])
        return False


@contextmanager
def _waiting_briefly(connection: Connection) -> Iterator[None]:
    """Inside, a lock held by another transaction is waited for LONGEST_WAIT_MS at most, then an error."""
    if is_postgresql(connection):
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LONGEST_WAIT_MS}ms'")  # this transaction only
        yield
        return
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {LONGEST_WAIT_MS}")  # the connection's: put back after
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
