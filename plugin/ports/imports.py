"""The import pipeline's store: Protocols shaped for batches (one call a batch, never one a row)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from plugin.errors import RowError
from plugin.kinds import Catalog
from plugin.mapping import ColumnMapping
from plugin.plan import Action, Existing, PlannedRow
from plugin.report import ImportReport, Status
from plugin.retry import RetryOf

ProgressSink = Callable[[int, int], None]  # (rows done, rows in all)
# Given the stored records (by key) of keys the plan would create, the batch planned again against them.
Replan = Callable[[Mapping[str, Existing]], Sequence[PlannedRow]]
StopCheck = Callable[[], bool]  # asked between batches: should the import stop now (its worker is shutting down)?


@dataclass(frozen=True, slots=True)
class EarlierRun:
    """What an interrupted run of an import left committed: the pass it was in, and its rows' results, counted.

    `status` is RUNNING when it was applying rows (or planning a dry run's), CHECKING when it was in an
    all-or-nothing import's first pass, which writes nothing but results. Batches are committed whole, with
    their results, in file order: the first `rows_done` rows of the file are done. Counted, not listed: a
    million-row import resumed must not hold a million results.
    """

    status: Status
    rows_done: int = 0
    counts: Mapping[Action, int] = field(default_factory=dict)
    errors: tuple[RowError, ...] = ()  # the first ERRORS_KEPT_IN_REPORT, in row order
    more_errors: int = 0


class StalePlan(Exception):
    """A batch was planned on a read that another writer made untrue before it was written (a contact the plan
    would create was created meanwhile, a username it would give was taken): nothing of the batch was written,
    and planning it again from a fresh read puts it right."""


class ImportStore(Protocol):
    """Where records and import jobs live. Every method is one transaction; no method is called per row."""

    def start_job(self, kind: str, *, file_name: str, actor: str, dry_run: bool, options: Mapping[str, object],
                  is_run_here: bool = False) -> int:
        """Record a new import and return its id. `is_run_here`: this process runs it now (not a queue's
        worker), and holds it until finish_job: if the process goes away first, the job says it was
        interrupted (plugin.ended_early)."""
        ...

    def holding_claim(self, job_id: int, token: str) -> AbstractContextManager[None]:
        """While inside, every write of this job checks that the worker's claim `token` is still its own (in the
        same transaction) and raises ClaimLost when another worker took the job over."""
        ...

    def begin_job(self, job_id: int, *, total: int, mapping: ColumnMapping, headers: Sequence[str],
                  is_checking: bool = False) -> None:
        """The file was accepted: remember its size and mapping, mark the job running (or checking, for the
        all-or-nothing pass that writes nothing)."""
        ...

    def find_earlier_run(self, job_id: int) -> EarlierRun | None:
        """What an interrupted run of this job committed; None when no run of it has begun."""
        ...

    def load_catalog(self, kind: str) -> Catalog:
        """Labels, companies, custom fields and teams the rows may refer to."""
        ...

    def find_existing(
        self, kind: str, keys: Collection[str], ids: Collection[int], *, job_id: int | None,
        external_ids: Collection[tuple[str, str]] = (),
    ) -> tuple[dict[str, Existing], dict[int, Existing]]:
        """Stored records for these keys and ids, in one query each; `claimed_by_row` set for job_id's rows.

        The records holding `external_ids` ((external source, external id) pairs) are found too, by their id
        (plugin.plan.external_by_id picks them out)."""
        ...

    def find_owners(self, kind: str, field: str, values: Collection[object]) -> dict[object, str]:
        """Which stored records hold these values of a unique field (customers' username): value → record key."""
        ...

    def apply_batch(self, kind: str, job_id: int, planned: Sequence[PlannedRow], *, options: Mapping[str, object],
                    catalog: Catalog, rows_done: int, replan: Replan) -> Sequence[PlannedRow]:
        """Write a batch's records, its per-row results and the job's progress, committed together; returns
        the rows as written.

        Rows the plan would create whose key another writer stored meanwhile are planned again, in the same
        transaction, by `replan` (given those records by key): they update the record, never count as created.
        Raises StalePlan, having written nothing, when the plan no longer fits what is stored in another way
        (a unique value taken meanwhile): planning the batch again from a fresh read then makes progress."""
        ...

    def record_results(self, job_id: int, planned: Sequence[PlannedRow], *, rows_done: int) -> None:
        """Store per-row results without touching any record (dry runs)."""
        ...

    def clear_results(self, job_id: int) -> None:
        """Forget a job's per-row results and progress (a pass that wrote no record starts over)."""
        ...

    def begin_applying(self, job_id: int) -> None:
        """All-or-nothing: every row passed the check; forget the check's results and mark the job running,
        in one transaction, so an interrupted import knows which pass it was in."""
        ...

    def record_progress(self, job_id: int, rows_seen: int) -> None:
        """Display progress (plugin.progress) from inside a batch: the job has seen `rows_seen` rows, counting rows
        of the batch prepared but not committed. For reading only, never what a resumed run goes by. Its own
        short transaction, outside the batch's; it never waits for a lock (the figure is dropped instead)."""
        ...

    def finish_job(self, job_id: int, report: ImportReport) -> None:
        """Store the final status, counts and message."""
        ...

    def each_applied_record(self, job_id: int) -> Iterator[tuple[str, int]]:
        """(action, record id) of each record an import created or updated, in row order, read in pages."""
        ...

    def retry_of(self, job_id: int, *, retry_job: int | None = None) -> RetryOf:
        """Import job_id as a retry sees it: its status, and its rows that failed and that no retry of it has
        applied since, apart from `retry_job` (the retry being run, when it resumes)."""
        ...


class PasswordHasher(Protocol):
    """Turns passwords into stored hashes and checks them; implemented by adapters/passwords.py."""

    def hash_many(self, passwords: Sequence[str], *, on_progress: Callable[[int], None] | None = None) -> list[str]:
        """Hash every password (on all cores); on_progress(n) is called as n more are done."""
        ...

    def verify(self, password: str, stored_hash: str | None) -> bool:
        """True when the password matches; None (unknown user) takes as long and is False."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with an older scheme or weaker parameters."""
        ...
