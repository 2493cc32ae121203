"""run_import(): read → map → validate → plan → apply → report. The only row loop; every kind runs it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import BinaryIO

from plugin.ended_early import failed_report
from plugin.errors import BadFile, ImportStopped
from plugin.garbage import batch_done, collector_paused
from plugin.kinds import Catalog, ImportKind
from plugin.mapping import ColumnMapping, require_key_column, sample_rows, suggest_mapping
from plugin.options import check_value_options
from plugin.plan import Action, Existing, PlannedRow, external_by_id, external_key, hide_cells, plan_row
from plugin.ports import EarlierRun, ImportStore, ProgressSink, Replan, StalePlan, StopCheck
from plugin.read import Layout, SourceRow, inspect_csv, read_rows
from plugin.report import ImportReport, Status
from plugin.retry import RetryFile, RetryOf, inspect_retry, renumber_rows
from plugin.validate import Record, RowValidator

logger = logging.getLogger(__name__)

# A kind's last step before writing, e.g. agents hash their passwords: planned rows in, planned rows out.
PrepareBatch = Callable[[Sequence[PlannedRow]], Sequence[PlannedRow]]
# Plans of a batch in a row that another writer made stale (StalePlan) and that came out the same as the last:
# then the batch gives up. A plan that changed (rows became updates or failed) made progress and starts the count again.
REPLAN_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """Everything one import was asked to do, apart from the file itself."""

    kind: ImportKind
    file_name: str = ""
    actor: str = ""
    is_dry_run: bool = False
    chosen_mapping: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)  # field → text for empty cells
    options: Mapping[str, object] = field(default_factory=dict)  # create_labels, replace_labels, default_labels...
    is_all_or_nothing: bool = False
    row_limit: int = 5000
    max_file_bytes: int = 20 * 1024 * 1024
    batch_size: int = 5000
    retry: RetryOf | None = None  # a fixed error report: only failed rows of that import, under their numbers


def recorded_options(options: Mapping[str, object], defaults: Mapping[str, str], all_or_nothing: bool | None
                     ) -> dict[str, object]:
    """What a job records of how it was asked, so that a retry of it is asked the same way (plugin.retry)."""
    return {**options, "all_or_nothing": all_or_nothing, "defaults": dict(defaults)}


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _source_rows(source: BinaryIO, layout: Layout, retry_file: RetryFile | None) -> Generator[SourceRow, None, None]:
    """The file's records; a retry's under their original row numbers. The row loop closes it when it leaves,
    by an exception too, so the reader is done with the file while the file is still open."""
    rows = read_rows(source, layout)
    return rows if retry_file is None else renumber_rows(rows, retry_file)


def _prepare_mapping(request: ImportRequest, layout: Layout, catalog: Catalog, source: BinaryIO) -> ColumnMapping:
    mapping = suggest_mapping(request.kind, layout.headers, custom_variables=tuple(catalog.custom_fields),
                              chosen=request.chosen_mapping, samples=sample_rows(source, layout))
    require_key_column(request.kind, mapping)
    check_value_options(request.kind, catalog, mapping, request.options, request.defaults)
    return mapping


def _secret_cell_indexes(kind: ImportKind, mapping: ColumnMapping) -> frozenset[int]:
    secrets = {spec.name for spec in kind.fields if spec.is_secret}
    return frozenset(column.index for column in mapping.columns if column.target in secrets)


def _hide_secret_cells(planned: Sequence[PlannedRow], hidden: frozenset[int]) -> list[PlannedRow]:
    """Planned rows whose secret cells (passwords) read "(hidden)": job rows and error reports keep no secret."""
    return [replace(row, cells=hide_cells(row.cells, hidden)) for row in planned]


def _owners_of_unique_values(kind: ImportKind, records: Sequence[Record], store: ImportStore
                             ) -> dict[str, dict[object, str]]:
    """For each unique field of the kind (customers' username), who holds the batch's values: one query each."""
    owners: dict[str, dict[object, str]] = {}
    for name in kind.unique_fields:
        values = {value for record in records if not record.has_errors and (value := record.values.get(name)) is not None}
        if values:
            owners[name] = store.find_owners(kind.name, name, values)
    return owners


def _pass_over_rows(
    request: ImportRequest,
    source: BinaryIO,
    layout: Layout,
    mapping: ColumnMapping,
    catalog: Catalog,
    store: ImportStore,
    job_id: int,
    report: ImportReport,
    *,
    is_applying: bool,
    prepare: PrepareBatch | None,
    progress: ProgressSink | None,
    should_stop: StopCheck | None,
    rows_done_before: int = 0,
    retry_file: RetryFile | None = None,
) -> None:
    """One pass over the file, a batch at a time; the first `rows_done_before` rows (an earlier run committed
    them, whole batches from the top of the file) are skipped, so the remaining batches are as in one run."""
    kind = request.kind
    claims: dict[str, int] = {}  # key → first row of this file that took it
    headers = {column.target: column.header for column in mapping.columns if column.target}
    secret_cells = _secret_cell_indexes(kind, mapping)
    validator = RowValidator(kind, mapping, catalog, request.options, request.defaults)
    rows = _source_rows(source, layout, retry_file)
    remaining = islice(rows, rows_done_before, None)  # whole batches from the top were committed by an earlier run
    try:
        for batch in _batches(remaining, request.batch_size):
            if should_stop is not None and should_stop():
                raise ImportStopped(job_id, report.rows)
            _apply_or_record_batch(request, batch, validator, catalog, store, job_id, report, claims, headers,
                                   secret_cells, is_applying=is_applying, prepare=prepare)
            batch_done()
            logger.debug("import %s: %d of %d rows done", job_id, report.rows, layout.row_count)
            if progress is not None:
                progress(report.rows, layout.row_count)
    finally:
        rows.close()  # an import stopped midway leaves the caller's file as it found it, now


def _apply_or_record_batch(
    request: ImportRequest,
    batch: Sequence[SourceRow],
    validator: RowValidator,
    catalog: Catalog,
    store: ImportStore,
    job_id: int,
    report: ImportReport,
    claims: dict[str, int],
    headers: Mapping[str, str],
    secret_cells: frozenset[int],
    *,
    is_applying: bool,
    prepare: PrepareBatch | None,
) -> None:
    """Validate, plan and write one batch.

    Another writer may create records the plan would create before the batch is written: the store has
    those rows planned again inside its write (`replan`), so they update that record. When the plan went
    stale in another way (StalePlan, nothing written), the batch is read and planned again; that is given
    up only after REPLAN_ATTEMPTS plans in a row that changed nothing (a plan that changed made progress:
    rows whose keys now exist became updates, rows whose value was taken failed)."""
    kind = request.kind
    records = [validator.validate(row) for row in batch]
    keys = {record.key for record in records if record.key}
    ids = {value for record in records if isinstance(value := record.values.get("id"), int)}
    external_ids = {external for record in records if (external := external_key(record.values)) is not None}
    rows_done = report.rows + len(records)
    stale_actions: list[Action] | None = None
    attempts_without_progress = 0
    while True:
        by_key, by_id = store.find_existing(kind.name, keys, ids, job_id=job_id if is_applying else None,
                                            external_ids=external_ids)
        owners = _owners_of_unique_values(kind, records, store)
        if is_applying:
            claims.clear()  # earlier batches' claims are in the store, as claimed_by_row
        plan = _BatchPlanner(request, catalog, headers, secret_cells, owners, prepare if is_applying else None)
        planned = plan(records, by_key=by_key, by_id=by_id, claims=claims)
        if not is_applying:
            store.record_results(job_id, planned, rows_done=rows_done)
            break
        actions = [row.action for row in planned]
        attempts_without_progress = attempts_without_progress + 1 if actions == stale_actions else 0
        try:
            planned = store.apply_batch(kind.name, job_id, planned, options=request.options, catalog=catalog,
                                        rows_done=rows_done, replan=plan.again_where_taken(records, planned))
            break
        except StalePlan as stale:  # another writer got there first: read again, plan again
            if attempts_without_progress + 1 >= REPLAN_ATTEMPTS:
                raise
            stale_actions = actions
            logger.warning("import %s: rows %d to %d planned again: %s", job_id, batch[0].number, batch[-1].number, stale)
    report.count(planned)


@dataclass(frozen=True, slots=True)
class _BatchPlanner:
    """Plans a batch's records against what the store holds; and again, inside the batch's write, the rows
    whose key another writer stored meanwhile."""

    request: ImportRequest
    catalog: Catalog
    headers: Mapping[str, str]
    secret_cells: frozenset[int]
    owners: Mapping[str, Mapping[object, str]]
    prepare: PrepareBatch | None

    def __call__(self, records: Sequence[Record], *, by_key: Mapping[str, Existing], by_id: Mapping[int, Existing],
                 claims: dict[str, int]) -> Sequence[PlannedRow]:
        request = self.request
        by_external = external_by_id(by_id.values())
        planned: Sequence[PlannedRow] = [
            plan_row(request.kind, record, by_key=by_key, by_id=by_id, claims=claims, options=request.options,
                     headers=self.headers, catalog=self.catalog, owners=self.owners, by_external=by_external)
            for record in records
        ]
        if self.secret_cells:
            planned = _hide_secret_cells(planned, self.secret_cells)
        return planned if self.prepare is None else self.prepare(planned)

    def again_where_taken(self, records: Sequence[Record], planned: Sequence[PlannedRow]) -> Replan:
        """The Replan for this plan: each row it would create whose key is now stored is planned again against
        that record (its other rows were checked against the batch already, so claims start empty)."""

        def replan(taken: Mapping[str, Existing]) -> Sequence[PlannedRow]:
            rows = {row.row for row in planned if row.action is Action.CREATED and row.key in taken}
            again = iter(self([record for record in records if record.row in rows], by_key=taken,
                              by_id={existing.id: existing for existing in taken.values()}, claims={}))
            return [next(again) if row.row in rows else row for row in planned]

        return replan


def _final_status(request: ImportRequest, report: ImportReport) -> Status:
    if request.is_dry_run:
        return Status.DRY_RUN
    return Status.PARTIAL if report.has_failures else Status.SUCCEEDED


def _resumes_applying(request: ImportRequest, earlier: EarlierRun | None) -> bool:
    """An earlier run was applying rows: carry on after its last batch. A pass that wrote no record (a dry run,
    all-or-nothing's check) starts over instead: its duplicate checks remember earlier rows only in memory."""
    return earlier is not None and earlier.status is Status.RUNNING and not request.is_dry_run


def _report_so_far(request: ImportRequest, job_id: int, earlier: EarlierRun) -> ImportReport:
    """The report as the earlier run left it: its rows' results counted again, its errors kept in row order."""
    counts = earlier.counts
    return ImportReport(kind=request.kind.name, file_name=request.file_name, job=job_id, rows=earlier.rows_done,
                        created=counts.get(Action.CREATED, 0), updated=counts.get(Action.UPDATED, 0),
                        unchanged=counts.get(Action.UNCHANGED, 0), failed=counts.get(Action.FAILED, 0),
                        errors=list(earlier.errors), more_errors=earlier.more_errors)


def start_job_here(request: ImportRequest, store: ImportStore) -> int:
    """Record the job of an import run here and now (not queued): it is claimed by this process (see
    plugin.ended_early), and run_import is then given its id."""
    return store.start_job(request.kind.name, file_name=request.file_name, actor=request.actor,
                           dry_run=request.is_dry_run, is_run_here=True,
                           options=recorded_options(request.options, request.defaults, request.is_all_or_nothing))


def run_import(
    request: ImportRequest,
    source: BinaryIO,
    store: ImportStore,
    *,
    job_id: int | None = None,
    prepare: PrepareBatch | None = None,
    progress: ProgressSink | None = None,
    should_stop: StopCheck | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ImportReport:
    """Import one file of one kind; a bad file is reported as rejected with nothing written.

    Given the id of a job an earlier run began and did not finish (its worker was killed or stopped), the
    import resumes: rows whose results are stored are not read again, the counts start from theirs, and
    the rest are applied as one uninterrupted run would have. `should_stop` is asked before each batch;
    when it says yes, ImportStopped is raised with every batch so far committed. Any other exception ends
    the job as failed, saying how many rows were applied (plugin.ended_early), and that report is returned.
    """
    started = clock()
    kind = request.kind
    earlier: EarlierRun | None = None
    if job_id is None:
        job_id = start_job_here(request, store)
    else:
        earlier = store.find_earlier_run(job_id)  # None for a job no run has begun
    report = ImportReport(kind=kind.name, file_name=request.file_name, job=job_id)
    try:
        with collector_paused():
            return _run_job(request, source, store, job_id, earlier, report, prepare=prepare, progress=progress,
                            should_stop=should_stop, clock=clock, started=started)
    except ImportStopped:
        raise  # its worker is shutting down: the next one resumes it
    except (Exception, KeyboardInterrupt) as error:
        logger.exception("import %s stopped by an error", job_id)
        report.seconds = clock() - started
        failed = failed_report(report, store.find_earlier_run(job_id), error, is_dry_run=request.is_dry_run)
        store.finish_job(job_id, failed)  # raises in turn when the job is no longer this run's (ClaimLost)
        if isinstance(error, KeyboardInterrupt):
            raise
        return failed


def _run_job(request: ImportRequest, source: BinaryIO, store: ImportStore, job_id: int, earlier: EarlierRun | None,
             report: ImportReport, *, prepare: PrepareBatch | None, progress: ProgressSink | None,
             should_stop: StopCheck | None, clock: Callable[[], float], started: float) -> ImportReport:
    kind = request.kind
    logger.info("import %s of %s started (%s)", job_id, kind.name, "dry run" if request.is_dry_run else "applying")
    try:
        sheet = request.options.get("sheet")  # a workbook's, by name; its first when None
        layout = inspect_csv(source, row_limit=request.row_limit, max_bytes=request.max_file_bytes,
                             sheet=sheet if isinstance(sheet, str) else None)
        retry_file = None if request.retry is None else inspect_retry(source, layout, request.retry)
        if retry_file is not None:
            layout = retry_file.layout
        catalog = store.load_catalog(kind.name)
        mapping = _prepare_mapping(request, layout, catalog, source)
    except BadFile as error:
        report.status, report.message, report.error_code = Status.REJECTED, error.message, error.code
        report.seconds = clock() - started
        store.finish_job(job_id, report)
        logger.info("import %s rejected: %s", job_id, error.code)
        return report
    is_resuming = _resumes_applying(request, earlier)
    is_checking = request.is_all_or_nothing and not request.is_dry_run and not is_resuming
    rows_done_before = 0
    if is_resuming:
        assert earlier is not None
        report = _report_so_far(request, job_id, earlier)
        rows_done_before = earlier.rows_done
        logger.info("import %s resumes after %d rows", job_id, report.rows)
    elif earlier is not None and earlier.rows_done:
        store.clear_results(job_id)  # a pass that wrote no record: it starts over
    report.mapping = mapping.columns
    store.begin_job(job_id, total=layout.row_count, mapping=mapping, headers=layout.headers, is_checking=is_checking)
    if progress is not None:
        progress(report.rows, layout.row_count)
    passes = dict(is_applying=False, prepare=prepare, progress=progress, should_stop=should_stop, retry_file=retry_file)
    if is_checking:
        _pass_over_rows(request, source, layout, mapping, catalog, store, job_id, report, **passes)  # type: ignore[arg-type]
        if report.has_failures:
            report.status = Status.REJECTED
            report.error_code = "rows.invalid"
            report.message = (f"{report.failed:,} of {report.rows:,} rows have errors; with all-or-nothing, "
                              "nothing was imported. Fix them and import the file again.")
            report.seconds = clock() - started
            store.finish_job(job_id, report)
            return report
        store.begin_applying(job_id)
        source.seek(0)
        report = ImportReport(kind=kind.name, file_name=request.file_name, job=job_id, mapping=mapping.columns)
    passes["is_applying"] = not request.is_dry_run
    _pass_over_rows(request, source, layout, mapping, catalog, store, job_id, report,  # type: ignore[arg-type]
                    rows_done_before=rows_done_before, **passes)
    report.status = _final_status(request, report)
    report.seconds = clock() - started
    store.finish_job(job_id, report)
    logger.info("import %s of %s ended %s: %d rows, %d created, %d updated, %d unchanged, %d failed in %.2f s",
                job_id, kind.name, report.status, report.rows, report.created, report.updated, report.unchanged,
                report.failed, report.seconds)
    return report
