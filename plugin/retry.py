"""Retrying the failed rows of an import: its error report, fixed in a spreadsheet, imported under the original rows.

The error report (plugin.report.error_report_rows) is the original columns, then row, column and message, one
line per error. A retry reads the row column back as each record's number, drops the report's three columns,
keeps one line per row, and accepts only rows that failed in the import it retries.
"""

from __future__ import annotations

from collections.abc import Collection, Generator, Iterable
from dataclasses import dataclass, replace
from typing import BinaryIO

from plugin.errors import BadFile
from plugin.read import Layout, SourceRow, read_rows
from plugin.words import listed, plural

REPORT_COLUMNS = ("row", "column", "message")  # what error_report_rows adds after the original columns


RETRYABLE_STATUSES = frozenset({"succeeded", "partial"})


@dataclass(frozen=True, slots=True)
class RetryOf:
    """A retry of import `job`: the rows that failed there and were not applied by a retry since."""

    job: int
    failed_rows: frozenset[int]
    status: str = "succeeded"  # of import `job`: only an applied one (succeeded or partial) can be retried


@dataclass(frozen=True, slots=True)
class RetryFile:
    """A fixed error report that passed its checks: the original columns' layout, and where the row column is."""

    layout: Layout  # headers and row count of the original columns, one record per row
    row_at: int


def _row_number(text: str, line: int) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        number = 0
    if number < 2:
        raise BadFile("retry.row_invalid", f"Line {line} has {text!r} in its row column, which is not a row number "
                                           "of the import; keep the row column as the error report wrote it.")
    return number


def inspect_retry(source: BinaryIO, layout: Layout, retry: RetryOf) -> RetryFile:
    """Check a fixed error report before anything is written; BadFile when it cannot be a retry of `retry.job`."""
    if retry.status not in RETRYABLE_STATUSES:
        raise BadFile("retry.not_applied", f"Import {retry.job} is {retry.status}, not applied: only the failed rows of "
                                           "an import that succeeded or partly succeeded can be retried.")
    headers = layout.headers
    if tuple(header.casefold() for header in headers[-3:]) != REPORT_COLUMNS:
        raise BadFile("retry.no_row_column", f"This file does not end with the error report's row, column and message "
                                             f"columns; download the error report of import {retry.job}, fix its "
                                             "cells and upload it with those columns kept.")
    row_at = len(headers) - len(REPORT_COLUMNS)
    seen: dict[int, tuple[str, ...]] = {}
    refused: list[int] = []
    for record in read_rows(source, layout):
        number = _row_number(record.cells[row_at] if len(record.cells) > row_at else "", record.number)
        cells = tuple(record.cells[:row_at])
        earlier = seen.get(number)
        if earlier is not None and earlier != cells:
            raise BadFile("retry.row_twice", f"Row {number} appears twice with different cells (lines of one row's "
                                             "errors); make its lines the same, or keep one of them.")
        seen[number] = cells
        if number not in retry.failed_rows:
            refused.append(number)
    source.seek(0)
    if refused:
        numbers = sorted(set(refused))
        many = len(numbers)
        raise BadFile("retry.not_failed", f"{plural(many, 'Row')} {listed(numbers)} {plural(many, 'was', 'were')} "
                                          f"not {plural(many, 'a failed row', 'failed rows')} of import {retry.job} "
                                          f"(or {plural(many, 'was', 'were')} applied by a retry since); a retry "
                                          "takes only the rows of its error report.")
    if not seen:
        raise BadFile("file.no_rows", "The file has no rows to retry.")
    return RetryFile(replace(layout, headers=headers[:row_at], row_count=len(seen)), row_at)


def renumber_rows(rows: Iterable[SourceRow], retry_file: RetryFile) -> Generator[SourceRow, None, None]:
    """The records of an inspected retry file under their original row numbers, once each, in file order."""
    done: set[int] = set()
    for record in rows:
        number = int(record.cells[retry_file.row_at].strip())
        if number not in done:
            done.add(number)
            yield replace(record, number=number, cells=record.cells[: retry_file.row_at])  # a WorkbookRow stays one


def mapping_of(stored_mapping: Collection[dict]) -> dict[str, str]:
    """An import's recorded mapping as the chosen mapping of its retry: header → field ("" ignores)."""
    return {str(column["column"]): str(column.get("field") or "") for column in stored_mapping}


def retry_arguments(job_id: int, kind: str, stored_mapping: Collection[dict], stored_options: dict[str, object]
                    ) -> dict[str, object]:
    """Services.import_file's arguments for a retry of an import: its kind, mapping and options, and retry_of."""
    options = dict(stored_options)
    defaults = options.pop("defaults", None) or {}
    all_or_nothing = options.pop("all_or_nothing", None)
    options.pop("undo_of", None)
    options.pop("sheet", None)  # the error report is a file of its own, CSV or a workbook of one sheet
    if isinstance(options.get("default_labels"), list):
        options["default_labels"] = tuple(options["default_labels"])  # type: ignore[arg-type]
    options["retry_of"] = job_id
    return {"kind_name": kind, "mapping": mapping_of(stored_mapping), "defaults": defaults, "options": options,
            "all_or_nothing": all_or_nothing}
