"""What an import did: counts per action, row errors, and the CSV files a person downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from plugin.errors import RowError
from plugin.words import count_of  # noqa: F401  (its home is plugin.words; imported from here by older modules)
from plugin.mapping import MappedColumn
from plugin.plan import Action, PlannedRow, hide_cells
from plugin.validate import starts_like_formula

ERRORS_KEPT_IN_REPORT = 1000


class Status(StrEnum):
    """How a whole import ended."""

    QUEUED = "queued"
    RUNNING = "running"  # applying rows (or, for a dry run, planning them)
    CHECKING = "checking"  # all-or-nothing's first pass: every row planned, nothing written yet
    SUCCEEDED = "succeeded"  # every row applied
    PARTIAL = "partial"  # some rows failed, the rest applied
    REJECTED = "rejected"  # nothing written: a bad file, or all-or-nothing with bad rows
    DRY_RUN = "dry-run"  # planned only
    FAILED = "failed"  # the import itself broke (a bug or the database); see the message


@dataclass(slots=True)
class ImportReport:
    """Counts, errors and mapping of one import; `as_dict()` is the `--json` and API shape."""

    kind: str
    file_name: str = ""
    job: int | None = None
    status: Status = Status.RUNNING
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)
    more_errors: int = 0
    mapping: tuple[MappedColumn, ...] = ()
    message: str = ""
    error_code: str = ""
    seconds: float = 0.0

    def count(self, planned: Iterable[PlannedRow]) -> None:
        """Add a batch's rows to the counts and keep the first errors."""
        for row in planned:
            self.count_row(row.action, row.errors)

    def count_row(self, action: Action, errors: Iterable[RowError] = ()) -> None:
        """Add one row's result (also a result stored by an earlier, interrupted run of the import)."""
        self.rows += 1
        if action is Action.CREATED:
            self.created += 1
        elif action is Action.UPDATED:
            self.updated += 1
        elif action is Action.UNCHANGED:
            self.unchanged += 1
        else:
            self.failed += 1
            for error in errors:
                if len(self.errors) < ERRORS_KEPT_IN_REPORT:
                    self.errors.append(error)
                else:
                    self.more_errors += 1

    @property
    def has_failures(self) -> bool:
        return self.failed > 0

    @property
    def ignored_columns(self) -> list[str]:
        return [column.header for column in self.mapping if column.target is None]

    def summary(self, title: str) -> str:
        """'Imported 4,980 customers: 4,200 created, 780 updated, 0 unchanged, 20 failed'."""
        if self.status is Status.REJECTED:
            return f"Nothing imported: {self.message}"
        if self.status is Status.FAILED:  # the message says why, and how many rows were applied
            return (f"Failed: {self.message} ({self.created:,} created, {self.updated:,} updated, "
                    f"{self.unchanged:,} unchanged, {self.failed:,} failed)")
        verb = "Would import" if self.status is Status.DRY_RUN else "Imported"
        return (f"{verb} {count_of(self.rows - self.failed, title)}: {self.created:,} created, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged, {self.failed:,} failed")

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {
            "job": self.job, "kind": self.kind, "status": str(self.status), "rows": self.rows,
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed,
            "errors": [error.as_dict() for error in self.errors],
            "ignored_columns": self.ignored_columns,
            "mapping": [column.as_dict() for column in self.mapping],
        }
        if self.more_errors:
            result["more_errors"] = self.more_errors
        if self.message:
            result["message"] = self.message
            result["code"] = self.error_code
        return result




def neutralize_cell(text: str) -> str:
    """Make a cell safe to open in a spreadsheet: a cell starting with = + - @ tab or CR gets a leading apostrophe.

    Phone numbers (+44...) and negative numbers too: a spreadsheet would read "+44 7700 900123" as a sum.
    The apostrophe marks the cell as text, and an import reads it without the apostrophe, so an exported
    file imports back to the same values.
    """
    return "'" + text if starts_like_formula(text) else text


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterable[str]:
    """CSV text, a line at a time, every cell neutralised; for templates, exports and reports."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralize_cell(str(cell)) for cell in headers])
    for row in rows:
        writer.writerow([neutralize_cell("" if cell is None else str(cell)) for cell in row])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def error_report_rows(
    headers: Sequence[str], secret_columns: Iterable[int], failed: Iterable[tuple[tuple[str, ...], Sequence[RowError]]]
) -> tuple[list[str], Iterable[list[str]]]:
    """The error report: the original columns, then row, column and message; one line per error."""
    hidden = frozenset(secret_columns)

    def lines() -> Iterable[list[str]]:
        for cells, errors in failed:
            shown = list(hide_cells(cells, hidden))
            shown += [""] * (len(headers) - len(shown))
            for error in errors:
                yield [*shown[: len(headers)], str(error.row), error.column, error.message]

    return [*headers, "row", "column", "message"], lines()
