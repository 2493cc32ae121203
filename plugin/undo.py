"""Undoing an import, decided: what the import recorded per row + how each record is now → one step per record.

Pure: the adapter reads the import's rows (record id, old → new changes of updated rows) and the records as they
are stored now, calls `plan_undo_row` for each, and writes the steps. A record created by the import is removed;
one it updated gets its old values back; one changed since the import (by a later import, mail capture or a
person) is left alone, and the step says why.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from plugin.display import shown_value
from plugin.plan import HIDDEN, Action, Change

# Fields whose values are sets of names; recorded as sorted lists.
SET_FIELDS = frozenset({"labels", "groups", "teams", "domains"})


class UndoAction(StrEnum):
    """What undoing does to one record; at most 10 letters, as the import_rows action column allows."""

    REMOVE = "remove"  # created by the import: deleted
    DEACTIVATE = "deactivate"  # an agent the import created who has used the account since: kept, inactive
    RESTORE = "restore"  # updated by the import: its old values back
    SKIP = "skip"  # left alone; `reason` says why


@dataclass(frozen=True, slots=True)
class ImportedRow:
    """One applied row of the import being undone, as its per-row result recorded it."""

    row: int
    action: Action  # created or updated
    record_id: int
    changes: tuple[Change, ...] = ()  # of an updated row: field, value before, value the import wrote


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as it is stored now."""

    id: int
    values: Mapping[str, object]  # fields and custom values by name; set fields as frozensets
    changed_since_by: str = ""  # who wrote it after the import ("import 12", "someone"); "" when nobody did
    has_been_used: bool = False  # an agent who signed in or set a password after the import


@dataclass(frozen=True, slots=True)
class UndoStep:
    """One record's undo: its action, the values it gets back (field, value now, value restored), and why."""

    row: int
    record_id: int
    action: UndoAction
    restores: tuple[Change, ...] = ()  # Change(field, old=value now, new=value put back)
    reason: str = ""  # for a skip or a deactivation: one sentence
    notes: tuple[str, ...] = ()  # what could not be put back (a password), said per record

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "record_id": self.record_id, "action": str(self.action),
                "restores": [change.as_dict() for change in self.restores], "reason": self.reason,
                "notes": list(self.notes)}

    def describe(self) -> str:
        """'row 3 (id 12): restore (labels: Demo, Trial → (empty))' or 'row 4 (id 13): skip; Left alone: ...'."""
        details = [f"{change.field}: {shown_value(change.old)} → {shown_value(change.new)}" for change in self.restores]
        line = f"row {self.row} (id {self.record_id}): {self.action}" + (f" ({', '.join(details)})" if details else "")
        return "; ".join([line, *(text for text in (self.reason, *self.notes) if text)])


@dataclass(slots=True)
class UndoTally:
    """Counts of an undo, by action."""

    removed: int = 0
    deactivated: int = 0
    restored: int = 0
    skipped: int = 0

    def count(self, steps: Iterable[UndoStep]) -> None:
        for step in steps:
            if step.action is UndoAction.REMOVE:
                self.removed += 1
            elif step.action is UndoAction.DEACTIVATE:
                self.deactivated += 1
            elif step.action is UndoAction.RESTORE:
                self.restored += 1
            else:
                self.skipped += 1

    @property
    def records(self) -> int:
        return self.removed + self.deactivated + self.restored + self.skipped

    def summary(self) -> str:
        """'10 removed, 5 restored, 2 left alone' (and 'n deactivated' when an agent was)."""
        parts = [f"{self.removed:,} removed", f"{self.restored:,} restored"]
        if self.deactivated:
            parts.append(f"{self.deactivated:,} deactivated")
        parts.append(f"{self.skipped:,} left alone")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, int]:
        return {"removed": self.removed, "restored": self.restored, "deactivated": self.deactivated,
                "left_alone": self.skipped}


def undo_summary_text(job: int, tally: UndoTally, *, is_dry_run: bool = False) -> str:
    """'Undid import 11: 3 removed, 1 restored, 0 left alone', or what undoing it would do: the job log, the
    CLI, the pages and the notification all say it this way."""
    verb = "Undoing import {} would leave: " if is_dry_run else "Undid import {}: "
    return verb.format(job) + tally.summary()


class UndoRefused(Exception):
    """This import cannot be undone (not found, a dry run, still running, undone already...); the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotPermitted(UndoRefused):
    """The person may not undo or retry this import: it is somebody else's, and they are not an admin."""


@dataclass(slots=True)
class UndoResult:
    """What undoing an import did, or would do: per-record steps and their counts."""

    job: int  # the import undone
    kind: str
    is_dry_run: bool
    undo_job: int | None = None  # the undo's own job; None for a dry run
    tally: UndoTally = field(default_factory=UndoTally)
    steps: list[UndoStep] = field(default_factory=list)

    def summary(self) -> str:
        return undo_summary_text(self.job, self.tally, is_dry_run=self.is_dry_run)

    def as_dict(self) -> dict[str, object]:
        return {"job": self.job, "undo_job": self.undo_job, "kind": self.kind, "dry_run": self.is_dry_run,
                "operation": "undo", **self.tally.as_dict(), "skipped": self.tally.skipped,
                "summary": self.summary(), "records": [step.as_dict() for step in self.steps]}


def _comparable(name: str, value: object) -> object:
    """A recorded or stored value in one shape: sets of names as frozensets, empty text as nothing."""
    if name in SET_FIELDS:
        return frozenset(value) if isinstance(value, (list, tuple, set, frozenset)) else frozenset()
    if value == "":
        return None
    return value


def plan_undo_row(imported: ImportedRow, stored: StoredRecord | None, *, secret_names: Collection[str] = (),
                  can_deactivate: bool = False, title: str = "record") -> UndoStep:
    """Decide how to undo one applied row of an import.

    A created record is removed, unless it is gone already or was changed since (then it is left alone); an
    agent who has used the account since is deactivated instead (`can_deactivate`). An updated record gets the
    recorded old values back, unless it was changed since or any field the import wrote holds another value now.
    A secret field (a password) cannot be put back: only the new one's hash is kept; the step notes it.
    """
    row, record_id = imported.row, imported.record_id
    if stored is None:
        what = "it was removed already" if imported.action is Action.CREATED else "it was removed since the import"
        return UndoStep(row, record_id, UndoAction.SKIP, reason=f"Left alone: {what}.")
    if imported.action is Action.CREATED:
        if can_deactivate and stored.has_been_used:
            return UndoStep(row, record_id, UndoAction.DEACTIVATE,
                            reason=f"Deactivated, not deleted: the {title} has signed in since the import.")
        if stored.changed_since_by:
            return UndoStep(row, record_id, UndoAction.SKIP,
                            reason=f"Left alone: changed since the import (by {stored.changed_since_by}).")
        return UndoStep(row, record_id, UndoAction.REMOVE)
    if stored.changed_since_by:
        return UndoStep(row, record_id, UndoAction.SKIP,
                        reason=f"Left alone: changed since the import (by {stored.changed_since_by}).")
    restores: list[Change] = []
    notes: list[str] = []
    for change in imported.changes:
        if change.field in secret_names or change.new == HIDDEN:
            notes.append(f"The {change.field.replace('_', ' ')} cannot be put back: only the new one's hash is kept.")
            continue
        if change.field == "company":  # a company the import created (--create-companies), named, not by id
            return UndoStep(row, record_id, UndoAction.SKIP, reason=(
                "Left alone: the import moved it to a company it created, and which company it had before was "
                "not recorded."))
        now = _comparable(change.field, stored.values.get(change.field))
        wrote = _comparable(change.field, change.new)
        if now != wrote:
            return UndoStep(row, record_id, UndoAction.SKIP, reason=(
                f"Left alone: {change.field} was changed since the import ({shown_value(wrote)} → {shown_value(now)})."))
        restores.append(Change(change.field, now, _comparable(change.field, change.old)))
    if not restores:
        return UndoStep(row, record_id, UndoAction.SKIP, reason="Left alone: nothing the import changed can be put back.",
                        notes=tuple(notes))
    return UndoStep(row, record_id, UndoAction.RESTORE, tuple(restores), notes=tuple(notes))


def changes_from_json(recorded: Iterable[Mapping[str, object]] | None) -> tuple[Change, ...]:
    """The changes of a row as import_rows stores them (JSON of Change.as_dict) back as Change tuples."""
    return tuple(Change(str(item["field"]), item.get("old"), item.get("new")) for item in recorded or ())
