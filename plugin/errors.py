"""What can go wrong with an import: a row problem is a value, a bad file is the one exception."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one cell or row, as a support admin reads it and a program sorts it."""

    row: int  # as a spreadsheet shows it: the header is row 1, the first record row 2
    column: str  # header text from the file; "" when the whole row is at fault
    code: str  # stable, dotted: "email.invalid", "password.too_short", "labels.unknown"
    message: str  # one sentence an admin can act on; never echoes a password

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


class BadFile(Exception):
    """The file cannot be imported at all; raised before anything is written."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ImportStopped(Exception):
    """The import was asked to stop (its worker is shutting down) and stopped after its last committed batch.

    Nothing is lost: the rows done are stored with their results, and running the import again carries on
    from the next row.
    """

    def __init__(self, job_id: int, rows_done: int) -> None:
        super().__init__(f"import {job_id} stopped after {rows_done} rows")
        self.job_id = job_id
        self.rows_done = rows_done
