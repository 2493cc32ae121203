"""What undoing an import needs from storage, bound to one unit of work: the import's applied rows, its records
as they are now, and the undo's own job, results and counts; and the notification area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from plugin.ports.jobs import JobSummary
from plugin.undo import ImportedRow, StoredRecord, UndoStep, UndoTally


@dataclass(frozen=True, slots=True)
class UndoTraits:
    """How one kind's records are undone."""

    title: str  # "customer", "agent"
    can_deactivate: bool  # a record used since the import is deactivated instead of removed (agents)
    secret_names: frozenset[str]  # fields whose old value cannot be put back (passwords)


class UndoStore(Protocol):
    def undoable_kinds(self) -> frozenset[str]:
        """The kinds whose imports can be undone."""
        ...

    def lock_import(self, job_id: int) -> None:
        """Hold the import's job row until the unit of work ends: a second undo of it at once waits here."""
        ...

    def undo_of(self, job_id: int) -> tuple[int, str] | None:
        """The undo job (id, status) of an import, if it was undone (or is being undone)."""
        ...

    def traits(self, kind: str) -> UndoTraits:
        ...

    def start_undo(self, job: JobSummary, *, actor: str, now: datetime) -> int:
        """Record the undo of `job` as a running job of its own (operation undo) and return its id."""
        ...

    def applied_rows(self, job_id: int, *, after_row: int, limit: int) -> list[ImportedRow]:
        """The import's created and updated rows after `after_row`, in file order."""
        ...

    def stored_records(self, kind: str, ids: Sequence[int], *, job_id: int, finished_at: datetime,
                       lock: bool) -> dict[int, StoredRecord]:
        """The records as they are now, and who changed each since import `job_id` (rows a later import left
        unchanged change nothing); `lock` holds them until the unit of work ends."""
        ...

    def apply_steps(self, kind: str, steps: Sequence[UndoStep], *, undo_job: int, rows_done: int,
                    now: datetime) -> None:
        """Change the records back, store the steps as the undo's per-row results and its progress."""
        ...

    def finish_undo(self, undo_job: int, tally: UndoTally, *, status: str, message: str, now: datetime) -> None:
        ...

    def fail_undo(self, undo_job: int, *, code: str, message: str, now: datetime) -> None:
        ...


class Notifications(Protocol):
    def notify(self, recipient: str, message: str, *, job_id: int | None) -> None:
        """Leave a message in the person's notification area (delivered to the host on their next page)."""
        ...
