"""SqlImportStore: the core's ImportStore on SQLAlchemy; one transaction a batch, no query per row."""

from __future__ import annotations

import dataclasses
import json
import json.encoder
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, delete, func, select, update

from adapters.db.catalog import load_catalog, utc_now
from adapters.db.display_progress import write_display_progress
from adapters.db.engine import in_transaction_with_retries, insert_many, is_unique_violation
from adapters.db.import_queue import insert_job
from adapters.db.models import import_jobs, import_rows
from adapters.db.stale_plans import new_keys, plan_again_where_taken, take_turns_creating
from plugin.errors import RowError
from plugin.kinds import Catalog
from plugin.mapping import ColumnMapping
from plugin.plan import Action, Change, Existing, PlannedRow
from plugin.ports import EarlierRun, Replan, StalePlan
from plugin.ports.queue import WorkerClaim
from plugin.report import ERRORS_KEPT_IN_REPORT, ImportReport, Status
from plugin.retry import RetryOf

logger = logging.getLogger(__name__)
UNFINISHED = (str(Status.RUNNING), str(Status.CHECKING))  # a run began and has not ended


class ClaimLost(Exception):
    """Another worker took over this import (ours went quiet for too long): this one must stop writing it.

    Raised from the write that found out, whose transaction is rolled back, so nothing of it is kept."""


class RecordTable(Protocol):
    """How one import kind's records are found and written."""

    kind: str

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None, *,
             external_ids: Collection[tuple[str, str]] = ()) -> tuple[dict[str, Existing], dict[int, Existing]]:
        """By key and id; a kind with an external_id field also by (external source, external id), in by_id."""

    def find_owners(self, connection: Connection, field: str, values: Collection[object]) -> dict[object, str]: ...

    def write(self, connection: Connection, job_id: int, planned: Sequence[PlannedRow], *,
              options: Mapping[str, object], catalog: Catalog, now: datetime) -> dict[int, int]: ...


RESULT_COLUMNS = ("job_id", "row", "action", "record_id", "changes", "errors", "cells")
_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=sorted).encode  # sets: sorted lists
# the json module's own C encoder of one string (not in its typed interface, hence looked up by name)
_json_string: Callable[[str], str] = vars(json.encoder)["encode_basestring"]


def _result_row(job_id: int, row: PlannedRow, written: Mapping[int, int]) -> tuple[object, ...]:
    """A row of import_rows, in RESULT_COLUMNS order, its JSON columns as the text they are stored as."""
    is_failed = row.action is Action.FAILED
    return (
        job_id, row.row, row.action.value, written.get(row.row, row.record_id),
        _changes_text(row.changes) if row.changes else None,
        _json_text([error.as_dict() for error in row.errors]) if is_failed else None,
        _json_text(row.cells) if is_failed else None,
    )


def _changes_text(changes: Sequence[Change]) -> str:
    """The JSON of [change.as_dict() for change in changes], written directly: every created or updated row has
    changes, and building a dict for each to encode took longer than writing the row. The text before each old
    value is kept by field name, and an old None (every change of a created row) or a new text written inline."""
    parts = []
    for change in changes:
        prefix = _change_prefix(change.field)
        old, new = change.old, change.new
        parts.append(f'{prefix}{"null" if old is None else _json_value(old)},"new":'
                     f'{_json_string(new) if type(new) is str else _json_value(new)}}}')
    return "[" + ",".join(parts) + "]"


@lru_cache(maxsize=4096)  # a kind's fields and its custom ones; custom fields come and go in a long-lived process
def _change_prefix(field: str) -> str:
    """'{"field":"<field>","old":', the text before each change's old value."""
    return f'{{"field":{_json_string(field)},"old":'


def _json_value(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _json_string(value)
    if type(value) is int:  # not a bool, whose JSON is true or false
        return str(value)
    if type(value) is frozenset:  # labels, teams
        return "[" + ",".join([_json_value(item) for item in sorted(value)]) + "]"  # type: ignore[type-var]
    return _json_text(value)


class SqlImportStore:
    """Implements plugin.ports.ImportStore for every registered record table."""

    def __init__(self, engine: Engine, tables: Mapping[str, Callable[[], RecordTable]], *,
                 now: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        # kind → how to make its table (adapters/db/kind_storage.py). A table is made, and its module loaded, when
        # an import of its kind first needs it: a command importing customers never loads the agents' tables
        self._make_table = dict(tables)
        # the tables made so far, each the store's own: a table keeps state for the import it writes (usernames
        # it handed out)
        self._tables: dict[str, RecordTable] = {}
        self.now = now
        # job id → the claim token of the worker (thread) running it here; see holding_claim.
        self.claims: dict[int, str] = {}
        self._own_claims: dict[int, str] = {}  # of those, the runs here and now (start_job's is_run_here)

    def table(self, kind: str) -> RecordTable:
        """The kind's record table; KeyError for a kind none was registered for."""
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = self._make_table[kind]()
        return table

    def start_job(self, kind: str, *, file_name: str, actor: str, dry_run: bool, options: Mapping[str, object],
                  is_run_here: bool = False) -> int:
        """Record a new import. One run here and now (not queued) is claimed for this process, as a worker
        claims a queued one (worker_claims.claim_job): its machine and pid tell whether its process is gone."""
        now = self.now()
        claim = WorkerClaim.for_this_process() if is_run_here else None
        with self.engine.begin() as connection:
            job_id = insert_job(connection, kind, file_name=file_name, actor=actor, dry_run=dry_run, options=options,
                                now=now, claim=claim)
        if claim is not None:
            self.claims[job_id] = self._own_claims[job_id] = claim.token  # held until finish_job
        return job_id

    @contextmanager
    def holding_claim(self, job_id: int, token: str) -> Iterator[None]:
        """While inside, every write of this job's row checks that the claim `token` (worker_claims.claim_job) is
        still its own, in the same transaction, and raises ClaimLost when it is not."""
        self.claims[job_id] = token
        try:
            yield
        finally:
            self.claims.pop(job_id, None)

    def begin_job(self, job_id: int, *, total: int, mapping: ColumnMapping, headers: Sequence[str],
                  is_checking: bool = False) -> None:
        now = self.now()
        with self.engine.begin() as connection:
            self._update_job(connection, job_id, status=str(Status.CHECKING if is_checking else Status.RUNNING),
                             total=total, headers=list(headers), mapping=[column.as_dict() for column in mapping.columns],
                             started_at=func.coalesce(import_jobs.c.started_at, now), heartbeat_at=now,
                             rows_seen=import_jobs.c.rows_done)  # what an interrupted run saw past its commits is gone

    def find_earlier_run(self, job_id: int) -> EarlierRun | None:
        """The pass an unfinished run was in, its committed rows counted by action, and its first errors."""
        with self.engine.connect() as connection:
            status = connection.execute(select(import_jobs.c.status)
                                        .where(import_jobs.c.id == job_id)).scalar_one_or_none()
            if status not in UNFINISHED:
                return None
            counts = {Action(action): count for action, count in connection.execute(
                select(import_rows.c.action, func.count()).where(import_rows.c.job_id == job_id)
                .group_by(import_rows.c.action))}
            errors: list[RowError] = []
            more = 0
            for (row_errors,) in connection.execution_options(stream_results=True, yield_per=1000).execute(
                    select(import_rows.c.errors)
                    .where(import_rows.c.job_id == job_id, import_rows.c.action == "failed")
                    .order_by(import_rows.c.row)):
                for error in row_errors or ():
                    if len(errors) < ERRORS_KEPT_IN_REPORT:
                        errors.append(RowError(**error))
                    else:
                        more += 1
        return EarlierRun(Status(status), sum(counts.values()), counts, tuple(errors), more)

    def load_catalog(self, kind: str) -> Catalog:
        with self.engine.connect() as connection:
            catalog = load_catalog(connection)
            table = self.table(kind) if kind in self._make_table else None
            extend = getattr(table, "extend_catalog", None)  # agents add teams and usernames
            return catalog if extend is None else extend(connection, catalog)

    def find_existing(self, kind: str, keys: Collection[str], ids: Collection[int], *, job_id: int | None,
                      external_ids: Collection[tuple[str, str]] = ()
                      ) -> tuple[dict[str, Existing], dict[int, Existing]]:
        with self.engine.connect() as connection:
            return self.table(kind).find(connection, keys, ids, job_id, external_ids=external_ids)

    def find_owners(self, kind: str, field: str, values: Collection[object]) -> dict[object, str]:
        with self.engine.connect() as connection:
            return self.table(kind).find_owners(connection, field, values)

    def apply_batch(self, kind: str, job_id: int, planned: Sequence[PlannedRow], *, options: Mapping[str, object],
                    catalog: Catalog, rows_done: int, replan: Replan) -> Sequence[PlannedRow]:
        """One transaction, run again when a deadlock, a serialization failure or a SQLite lock held too long
        rolled it back. When another writer took a key the plan would create (StalePlan from the insert), it is
        written once more, reading its new keys again first (adapters.db.stale_plans): those rows are planned
        again there. StalePlan when even that attempt meets a writer that does not take turns."""
        now = self.now()
        catalog_before = _catalog_contents(catalog)
        table = self.table(kind)
        rows = f"rows {planned[0].row} to {planned[-1].row}" if planned else "no rows"
        what = f"import {job_id}, {rows}"
        applied: list[Sequence[PlannedRow]] = [planned]

        def find_stored(connection: Connection, keys: Collection[str]) -> Mapping[str, Existing]:
            return table.find(connection, keys, (), job_id)[0]

        def write_batch(connection: Connection, *, is_reading_first: bool) -> None:
            _restore_catalog(catalog, catalog_before)  # forget what a rolled-back attempt created
            if new_keys(planned):
                take_turns_creating(connection)
            self._mark_progress(connection, job_id, rows_done, now)  # first a write: SQLite's lock is waited for
            writing = planned
            if is_reading_first:
                writing = plan_again_where_taken(connection, planned, find_stored, replan, what=what)
            written = table.write(connection, job_id, writing, options=options, catalog=catalog, now=now)
            self._insert_results(connection, job_id, writing, written)
            applied[0] = writing

        def attempt(*, is_reading_first: bool) -> Sequence[PlannedRow]:
            try:
                in_transaction_with_retries(self.engine, lambda connection: write_batch(
                    connection, is_reading_first=is_reading_first), what=what)
            except Exception as error:
                _restore_catalog(catalog, catalog_before)
                if is_unique_violation(error):
                    raise StalePlan(f"a value the plan thought free was stored meanwhile ({_driver_message(error)})") from error
                raise
            return applied[0]

        try:
            return attempt(is_reading_first=False)  # reading first costs a query a batch: only once it is needed
        except StalePlan as stale:
            logger.info("%s: written again, reading its new keys first: %s", what, stale)
        return attempt(is_reading_first=True)

    def record_results(self, job_id: int, planned: Sequence[PlannedRow], *, rows_done: int) -> None:
        with self.engine.begin() as connection:
            self._insert_results(connection, job_id, planned, None)
            self._mark_progress(connection, job_id, rows_done, self.now())

    def clear_results(self, job_id: int) -> None:
        with self.engine.begin() as connection:
            self._update_job(connection, job_id, rows_done=0, rows_seen=0)
            connection.execute(delete(import_rows).where(import_rows.c.job_id == job_id))

    def begin_applying(self, job_id: int) -> None:
        with self.engine.begin() as connection:
            self._update_job(connection, job_id, status=str(Status.RUNNING), rows_done=0, rows_seen=0,
                             heartbeat_at=self.now())
            connection.execute(delete(import_rows).where(import_rows.c.job_id == job_id))

    def finish_job(self, job_id: int, report: ImportReport) -> None:
        """Store how the import ended; a run here and now (start_job) lets go of its claim."""
        is_run_here = job_id in self._own_claims
        released = {"claimed_by": None, "claim_host": None, "claim_pid": None} if is_run_here else {}
        with self.engine.begin() as connection:
            self._update_job(connection, job_id,
                             status=str(report.status), rows_done=report.rows, created=report.created,
                             updated=report.updated, unchanged=report.unchanged, failed=report.failed,
                             message=report.message, error_code=report.error_code, finished_at=self.now(), **released)
        if is_run_here:
            self.claims.pop(job_id, None)
            self._own_claims.pop(job_id, None)

    def _insert_results(self, connection: Connection, job_id: int, planned: Sequence[PlannedRow],
                        written: Mapping[int, int] | None) -> None:
        insert_many(connection, import_rows, RESULT_COLUMNS, [_result_row(job_id, row, written or {}) for row in planned])

    def record_progress(self, job_id: int, rows_seen: int) -> None:
        write_display_progress(self.engine, job_id, rows_seen, now=self.now(), claim_token=self.claims.get(job_id))

    def _mark_progress(self, connection: Connection, job_id: int, rows_done: int, now: datetime) -> None:
        """The rows committed (what a resumed run goes by), and the display progress with them."""
        self._update_job(connection, job_id, rows_done=rows_done, heartbeat_at=now, rows_seen=rows_done, progress_at=now)

    def _update_job(self, connection: Connection, job_id: int, **values: object) -> None:
        """Change the job's row, if this worker still holds its claim (or nobody claims it: an import run
        directly, not from the queue); otherwise ClaimLost, and the transaction is rolled back."""
        token = self.claims.get(job_id)
        held = import_jobs.c.claimed_by == token if token is not None else import_jobs.c.claimed_by.is_(None)
        result = connection.execute(update(import_jobs).where(import_jobs.c.id == job_id, held)
                                    .values(**values))
        if result.rowcount == 0:
            raise ClaimLost(f"import {job_id} is no longer this worker's to write")

    def each_applied_record(self, job_id: int) -> Iterator[tuple[str, int]]:
        """(action, record id) of each record an import created or updated, in row order, read in pages."""
        with self.engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=1000).execute(
                select(import_rows.c.action, import_rows.c.record_id).where(
                    import_rows.c.job_id == job_id, import_rows.c.action.in_(["created", "updated"]),
                    import_rows.c.record_id.is_not(None)).order_by(import_rows.c.row))
            for action, record_id in result:
                yield action, int(record_id)

    def retry_of(self, job_id: int, *, retry_job: int | None = None) -> RetryOf:
        """Import job_id as a retry sees it: its status, and the rows that failed in it and were not applied since
        by a retry of it (or of its retries), apart from `retry_job`: a retry resuming after its worker stopped
        must not find its own rows taken."""
        with self.engine.connect() as connection:
            job = connection.execute(select(import_jobs.c.kind, import_jobs.c.status)
                                     .where(import_jobs.c.id == job_id)).one_or_none()
            if job is None:
                return RetryOf(job_id, frozenset(), status="missing")
            failed = set(connection.execute(select(import_rows.c.row).where(
                import_rows.c.job_id == job_id, import_rows.c.action == "failed")).scalars())
            jobs = connection.execute(select(import_jobs.c.id, import_jobs.c.options).where(  # retries: later, same kind
                import_jobs.c.id > job_id, import_jobs.c.kind == job.kind, import_jobs.c.is_dry_run.is_(False))
                .order_by(import_jobs.c.id)).all()
            retries: set[int] = set()
            family = {job_id}
            for later_id, options in jobs:  # in id order: a retry of a retry comes after its parent
                if (options or {}).get("retry_of") in family:
                    family.add(later_id)
                    if later_id != retry_job:
                        retries.add(later_id)
            if retries and failed:
                failed -= set(connection.execute(select(import_rows.c.row).where(
                    import_rows.c.job_id.in_(retries), import_rows.c.action != "failed")).scalars())
        return RetryOf(job_id, frozenset(failed), status=job.status)


def _catalog_contents(catalog: Catalog) -> dict[str, dict]:
    """Copies of the catalog's lookups, which writing a batch adds to (labels, teams, companies it creates)."""
    return {field.name: dict(value) for field in dataclasses.fields(catalog)
            if isinstance(value := getattr(catalog, field.name), dict)}


def _restore_catalog(catalog: Catalog, contents: Mapping[str, dict]) -> None:
    for name, value in contents.items():
        current = getattr(catalog, name)
        if current != value:
            current.clear()
            current.update(value)


def _driver_message(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]
