"""Workbooks on the command line: the same rows as CSV import the same, --sheet chooses a sheet, a workbook
named .csv is read as one, encrypted workbooks and .xls are refused saying what to save them as."""

from __future__ import annotations

import json

import pytest

from tests.adapters.cli.test_cli import Cli, ok, run  # noqa: F401 (the run fixture)
from tests.adapters.db.test_workbook_import import CSV_ROWS, SHEET_ROWS
from tests.workbooks import ENCRYPTED_STREAMS, XLS_STREAMS, ole_file, sheet_of, workbook_bytes


def add_fields(run: Cli) -> None:  # noqa: F811
    ok(run("fields", "add", "renewal", "--type", "date"))
    ok(run("fields", "add", "seats", "--type", "number"))
    ok(run("fields", "add", "member", "--type", "boolean"))


def without_job(document: dict) -> dict:  # type: ignore[type-arg]
    return {key: value for key, value in document.items() if key != "job"}


def test_the_same_rows_as_csv_and_as_a_workbook_import_identically(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from_csv, from_workbook = Cli(tmp_path / "csv"), Cli(tmp_path / "xlsx")
    for cli in (from_csv, from_workbook):
        cli.folder.mkdir()
        add_fields(cli)

    csv_report = from_csv.import_json(CSV_ROWS.encode())
    workbook_report = json.loads(from_workbook("import", "customers", from_workbook.file("customers.xlsx",
                                               workbook_bytes(*SHEET_ROWS)), "--json").stdout)

    assert (csv_report["created"], csv_report["failed"]) == (3, 1)
    assert without_job(workbook_report) == without_job(csv_report)
    exported = [{key: value for key, value in row.items() if key not in ("id", "created_at")}  # ours: import times
                for row in from_workbook.export()]
    assert exported == [{key: value for key, value in row.items() if key not in ("id", "created_at")}
                        for row in from_csv.export()]


def test_sheet_chooses_the_sheet_to_import(run: Cli) -> None:  # noqa: F811
    workbook = sheet_of(["email", "first_name"], ["first@example.com", "First"], title="Customers")
    workbook.create_sheet("Leads").append(["email", "first_name"])
    workbook["Leads"].append(["lead@example.com", "Lead"])
    path = run.folder / "two.xlsx"
    workbook.save(path)

    ok(run("import", "customers", str(path), "--sheet", "Leads"))
    missing = run("import", "customers", str(path), "--sheet", "Agents")

    assert list(run.customers()) == ["lead@example.com"]
    assert missing.exit_code == 2
    assert 'no sheet named "Agents"; its sheets are "Customers", "Leads"' in missing.stderr


def test_a_workbook_named_csv_is_read_as_a_workbook(run: Cli) -> None:  # noqa: F811
    result = run.import_(workbook_bytes(["email", "first_name"], ["ana@example.com", "Ana"]), name="renamed.csv")

    ok(result)
    assert run.customers()["ana@example.com"]["first_name"] == "Ana"


@pytest.mark.parametrize(("streams", "code", "words"), [
    (ENCRYPTED_STREAMS, "file.workbook_encrypted", "This workbook is password-protected, so it cannot be read"),
    (XLS_STREAMS, "file.workbook_xls", "This is an Excel 97-2003 workbook (.xls), which cannot be read: save it as "
                                       "Excel Workbook (.xlsx) or CSV UTF-8"),
], ids=["encrypted", "xls"])
def test_an_encrypted_workbook_and_an_xls_are_refused_saying_what_to_save_them_as(
        run: Cli, streams: tuple[str, ...], code: str, words: str) -> None:  # noqa: F811
    explained = run.import_(ole_file(*streams), name="people.xlsx")
    document = run.import_json(ole_file(*streams))

    assert explained.exit_code == 2 and words in explained.stderr
    assert (document["status"], document["code"]) == ("rejected", code)
    assert run.export() == []


def test_a_formula_without_a_result_is_a_row_error_naming_row_and_column(run: Cli) -> None:  # noqa: F811
    data = workbook_bytes(["email", "first_name"], ["ana@example.com", "Ana"], ["bo@example.com", "=UPPER(\"bo\")"])

    document = run.import_json(data)

    assert [(error["row"], error["column"], error["code"]) for error in document["errors"]] == [
        (3, "first_name", "cell.formula_without_value")]
    assert list(run.customers()) == ["ana@example.com"]
