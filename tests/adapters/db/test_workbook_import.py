"""Workbooks through services.imports.import_file, on SQLite and on PostgreSQL: the same rows as CSV import the
same, a formula without a result is a row error, a sheet is chosen by name, a fixed error report saved as a
workbook is retried under its rows' numbers."""

from __future__ import annotations

import datetime
import io

from sqlalchemy import Engine

from adapters.db.export import export_customers
from plugin.kinds import FieldType
from plugin.report import ImportReport, Status
from plugin.services import Services
from plugin.services.undo import Actor
from tests.catalog import add_custom_field
from tests.workbooks import sheet_of, workbook_bytes

CSV_ROWS = ("email,first_name,last_name,phone,renewal,seats,member\n"
            "jane@example.com,Jane,Doe,+44 20 7946 0958,2026-01-31,5,TRUE\n"
            "raj@example.org,Raj,Patel,,2026-12-01,12.5,FALSE\n"
            "bad@,Bad,Row,,,,\n"
            "zoe@example.com,Zoë,Ng,,,,\n")
# The same rows as a workbook holds them: date, number and boolean cells (never a serial such as 46053, or "5.0")
SHEET_ROWS = [["email", "first_name", "last_name", "phone", "renewal", "seats", "member"],
              ["jane@example.com", "Jane", "Doe", "+44 20 7946 0958", datetime.date(2026, 1, 31), 5, True],
              ["raj@example.org", "Raj", "Patel", None, datetime.date(2026, 12, 1), 12.5, False],
              ["bad@", "Bad", "Row"],
              ["zoe@example.com", "Zoë", "Ng"]]


def run(services: Services, data: bytes, file_name: str, **options: object) -> ImportReport:
    return services.imports.import_file("customers", io.BytesIO(data), file_name=file_name, actor="tester", **options)


def outcome(report: ImportReport) -> tuple[object, ...]:
    return (report.status, report.created, report.updated, report.unchanged, report.failed,
            [(error.row, error.column, error.code) for error in report.errors])


def exported(engine: Engine) -> list[tuple[object, ...]]:
    return sorted(tuple(row) for row in export_customers(engine)[1])


def add_fields(engine: Engine) -> None:
    add_custom_field(engine, "renewal", FieldType.DATE)
    add_custom_field(engine, "seats", FieldType.NUMBER)
    add_custom_field(engine, "member", FieldType.BOOLEAN)


def test_the_same_rows_as_csv_and_as_a_workbook_import_identically(services: Services, engine: Engine) -> None:
    add_fields(engine)
    from_workbook = run(services, workbook_bytes(*SHEET_ROWS), "customers.xlsx")
    stored = exported(engine)

    from_csv = run(services, CSV_ROWS.encode(), "customers.csv")  # the same values again: nothing to change

    assert outcome(from_workbook) == (Status.PARTIAL, 3, 0, 0, 1, [(4, "email", "email.invalid")])
    assert outcome(from_csv) == (Status.PARTIAL, 0, 0, 3, 1, [(4, "email", "email.invalid")])
    assert exported(engine) == stored
    jane = next(row for row in stored if row[1] == "jane@example.com")
    assert {"2026-01-31", "5", "+442079460958"} <= {str(value) for value in jane}


def test_a_formula_without_a_result_is_a_row_error_naming_its_row_and_column(services: Services,
                                                                             engine: Engine) -> None:
    data = workbook_bytes(["email", "first_name", "last_name"], ["ana@example.com", "Ana", "Lee"],
                          ["bo@example.com", '="B"&"o"', "Stone"])  # openpyxl saves formulas without results

    report = run(services, data, "customers.xlsx")

    assert outcome(report) == (Status.PARTIAL, 1, 0, 0, 1, [(3, "first_name", "cell.formula_without_value")])
    assert report.errors[0].message.startswith("Cell B3 is a formula the workbook holds no result for")
    assert [row[1] for row in exported(engine)] == ["ana@example.com"]


def test_the_sheet_option_chooses_the_sheet_and_a_missing_one_is_refused(services: Services, engine: Engine) -> None:
    workbook = sheet_of(["email", "first_name"], ["first@example.com", "First"], title="Customers")
    workbook.create_sheet("Imported").append(["email", "first_name"])
    workbook["Imported"].append(["second@example.com", "Second"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    chosen = run(services, buffer.getvalue(), "two.xlsx", options={"sheet": "imported"})
    missing = run(services, buffer.getvalue(), "two.xlsx", options={"sheet": "Agents"})

    assert outcome(chosen)[:2] == (Status.SUCCEEDED, 1)
    assert [row[1] for row in exported(engine)] == ["second@example.com"]
    assert (missing.status, missing.error_code) == (Status.REJECTED, "file.no_such_sheet")
    assert missing.message == 'The workbook has no sheet named "Agents"; its sheets are "Customers", "Imported".'


def test_a_fixed_error_report_saved_as_a_workbook_is_retried_under_its_rows_numbers(services: Services,
                                                                                    engine: Engine) -> None:
    workbook = sheet_of(["email", "first_name"], ["ok@example.com", "Ok"], ["bad@", "Bad"], ["worse@", "Worse"],
                        title="Customers")
    workbook.create_sheet("Notes").append(["nothing here"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    first = run(services, buffer.getvalue(), "people.xlsx", options={"sheet": "Customers"})
    report_rows = [line.split(",") for line in "".join(services.history.error_report(first.job)).splitlines()]
    assert report_rows[0] == ["email", "first_name", "row", "column", "message"]
    # the admin opens the report in Excel, fixes one email and saves it as a workbook: the row cells are numbers
    fixed = [report_rows[0], ["bad@example.com", "Bad", 3, "email", "x"], ["worse@", "Worse", 4, "email", "x"]]

    again = services.undo.retry(first.job, Actor("tester", "agent"), io.BytesIO(workbook_bytes(*fixed)),
                                file_name="fixed.xlsx")

    assert outcome(first)[:5] == (Status.PARTIAL, 1, 0, 0, 2)
    assert outcome(again) == (Status.PARTIAL, 1, 0, 0, 1, [(4, "email", "email.invalid")])
    assert sorted(row[1] for row in exported(engine)) == ["bad@example.com", "ok@example.com"]
