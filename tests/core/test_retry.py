"""A fixed error report read back as a retry: original row numbers, one record per row, only failed rows."""

from __future__ import annotations

import io

import pytest

from plugin.errors import BadFile
from plugin.read import inspect_csv, read_rows
from plugin.retry import RetryOf, inspect_retry, mapping_of, renumber_rows, retry_arguments

REPORT = (b"email,first_name,row,column,message\r\n"
          b"bob@example.com,Bob,4,email,'bob@' is not valid\r\n"
          b"amy@example.com,Amy,7,first_name,A new customer needs a first name\r\n"
          b"amy@example.com,Amy,7,labels,There is no label\r\n")


def retry_rows(data: bytes, failed: set[int]) -> list[tuple[int, tuple[str, ...]]]:
    source = io.BytesIO(data)
    layout = inspect_csv(source, row_limit=100, max_bytes=10_000)
    retry_file = inspect_retry(source, layout, RetryOf(3, frozenset(failed)))
    assert retry_file.layout.headers == ("email", "first_name")
    return [(row.number, row.cells) for row in renumber_rows(read_rows(source, retry_file.layout), retry_file)]


def test_rows_keep_their_original_numbers_once_each_without_the_report_columns() -> None:
    assert retry_rows(REPORT, {4, 7}) == [(4, ("bob@example.com", "Bob")), (7, ("amy@example.com", "Amy"))]


def test_a_row_that_did_not_fail_in_that_import_refuses_the_file() -> None:
    with pytest.raises(BadFile) as refused:
        retry_rows(REPORT, {4})
    assert refused.value.code == "retry.not_failed" and "Row 7" in refused.value.message


def test_one_row_fixed_two_ways_refuses_the_file() -> None:
    data = REPORT.replace(b"amy@example.com,Amy,7,labels", b"amy@example.com,Amelia,7,labels")
    with pytest.raises(BadFile) as refused:
        retry_rows(data, {4, 7})
    assert refused.value.code == "retry.row_twice"


@pytest.mark.parametrize("data, code", [
    (b"email,first_name\r\nbob@example.com,Bob\r\n", "retry.no_row_column"),
    (b"email,row,column,message\r\nbob@example.com,four,email,bad\r\n", "retry.row_invalid"),
])
def test_a_file_that_is_not_an_error_report_is_refused(data: bytes, code: str) -> None:
    with pytest.raises(BadFile) as refused:
        retry_rows(data, {4})
    assert refused.value.code == code


def test_the_retry_takes_the_mapping_and_options_of_its_import() -> None:
    stored_mapping = [{"column": "E-mail", "field": "email"}, {"column": "Notes", "field": None}]
    assert mapping_of(stored_mapping) == {"E-mail": "email", "Notes": ""}
    arguments = retry_arguments(3, "customers", stored_mapping, {"create_labels": True, "default_labels": ["VIP"],
                                                                 "defaults": {"last_name": "?"}, "all_or_nothing": None})
    assert arguments["options"] == {"create_labels": True, "default_labels": ("VIP",), "retry_of": 3}
    assert (arguments["defaults"], arguments["kind_name"]) == ({"last_name": "?"}, "customers")
