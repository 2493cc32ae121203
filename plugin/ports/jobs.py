"""The job log as the use cases read it: past imports (and undos, mail batches) and their per-row results."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from plugin.errors import RowError
from plugin.progress import ImportProgress, measure_progress
from plugin.undo import UndoTally, undo_summary_text


@dataclass(frozen=True, slots=True)
class JobSummary:
    """One line of the import history."""

    id: int
    kind: str
    status: str
    actor: str
    file_name: str
    created_at: datetime
    finished_at: datetime | None
    total: int
    rows_done: int
    created: int
    updated: int
    unchanged: int
    failed: int
    message: str
    error_code: str
    headers: tuple[str, ...]
    mapping: tuple[dict, ...]
    options: Mapping[str, object] = field(default_factory=dict)  # as the import was asked; retry_of, undo_of
    operation: str = "import"  # or "undo"; a retry is an import with options.retry_of
    undone: UndoTally = field(default_factory=UndoTally)  # an undo's counts: removed, restored, left alone
    # Display progress (plugin.progress): rows seen, counting a batch's rows a slow step prepared before its
    # commit, and when that was said; for reading only (a resumed import goes by rows_done).
    rows_seen: int = 0
    started_at: datetime | None = None
    progress_at: datetime | None = None

    @property
    def is_undo(self) -> bool:
        return self.operation == "undo"

    @property
    def undo_summary(self) -> str:
        """What an undo job did, or is doing: 'Undid import 11: 3 removed, 1 restored, 0 left alone'."""
        undone = self.options.get("undo_of")
        if self.status == "running":
            return f"Undoing import {undone}: {self.rows_done:,} of {self.total:,} records done."
        if self.status == "failed":
            return f"The undo of import {undone} failed: {self.message}"
        return undo_summary_text(int(undone) if isinstance(undone, int) else 0, self.undone)

    @property
    def rows_shown(self) -> int:
        """Rows done as a person is shown them: committed, or seen inside the batch being prepared."""
        return max(self.rows_done, self.rows_seen)

    def progress(self, *, now: datetime, is_finished: bool) -> ImportProgress:
        """Its figures as plugin.progress works them out: from the display progress when there is one (imports
        say it), else from the rows committed measured now (undos, mail polls)."""
        started, measured = _aware(self.started_at), _aware(self.progress_at)
        if measured is None:
            measured = now
        elapsed = None if started is None else (measured - started).total_seconds()
        return measure_progress(self.rows_shown, self.total, elapsed=elapsed, since_measured=(now - measured).total_seconds(),
                                is_finished=is_finished)

    @property
    def origin(self) -> str:
        """'a retry of import 7', 'the undo of import 7', or '' for an import of its own."""
        if isinstance(self.options.get("retry_of"), int):
            return f"a retry of import {self.options['retry_of']}"
        if isinstance(self.options.get("undo_of"), int):
            return f"the undo of import {self.options['undo_of']}"
        return ""


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands times back without their zone; they are stored in UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class AbandonedRun:
    """An unfinished import whose process is gone (see JobLog.abandoned_runs)."""

    job_id: int
    is_dry_run: bool
    rows_done: int
    where: str  # "pid 4242 on host-1"
    claimed_by: str


class JobLog(Protocol):
    """Past jobs and their per-row results, read inside one unit of work."""

    def list_jobs(self, *, limit: int = 50, kinds: Collection[str] | None = None,
                  include_previews: bool = False, offset: int = 0) -> list[JobSummary]:
        """The latest jobs, newest first; only of `kinds` when given (what a person may see); previews (dry
        runs) only when `include_previews`."""
        ...

    def get_job(self, job_id: int) -> JobSummary | None:
        ...

    def failed_rows(self, job_id: int) -> Iterator[tuple[tuple[str, ...], list[RowError]]]:
        """The failed rows of an import, in file order: their cells and their errors, read in pages."""
        ...

    def row_results(self, job_id: int, *, offset: int = 0, limit: int = 50,
                    actions: Collection[str] | None = None) -> list[dict[str, object]]:
        """A page of per-row results (row, action, record_id, changes, errors); only of `actions` when given."""
        ...

    def abandoned_runs(self, *, quiet_since: datetime) -> list[AbandonedRun]:
        """Imports run directly (not queued) that are unfinished and whose process is gone: a process of this
        machine that is not running, or one elsewhere silent since before `quiet_since`."""
        ...

    def end_abandoned_run(self, run: AbandonedRun, *, message: str, error_code: str) -> bool:
        """Mark it failed with this message and let go of its claim, if it is still as abandoned_runs saw it;
        its counts are its committed rows'. False when it moved on meanwhile."""
        ...
