"""The customers import against real databases: every rule of the issue, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, func, select

from tests.catalog import add_company, add_custom_field, add_labels
from adapters.db.export import export_customers
from adapters.db.models import contacts, import_jobs, import_rows
from plugin.kinds import FieldType
from plugin.report import Status, write_csv
from plugin.services import Services


def run(services: Services, csv_text: str | bytes, **options: object):
    data = csv_text.encode() if isinstance(csv_text, str) else csv_text
    return services.imports.import_file("customers", io.BytesIO(data), file_name="test.csv", actor="tester", **options)


def customers(engine: Engine) -> dict[str, dict[str, object]]:
    headers, rows = export_customers(engine)
    return {str(row[1]).lower(): dict(zip(headers, row, strict=True)) for row in rows}


def count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_new_customers_are_created_with_names_company_and_labels(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Marketing", "Trial"])
    company = add_company(engine, "Acme Ltd")
    report = run(services, f"email,first_name,last_name,company_id,labels\njane@example.com,Jane,Doe,{company},Marketing:Trial\n")
    assert (report.status, report.created, report.failed) == (Status.SUCCEEDED, 1, 0)
    jane = customers(engine)["jane@example.com"]
    assert (jane["first_name"], jane["last_name"], jane["company_id"], jane["labels"]) == ("Jane", "Doe", company, "Marketing:Trial")


def test_matching_email_updates_case_insensitively(services: Services, engine: Engine) -> None:
    run(services, "email,first_name\njane@example.com,Jane\n")
    report = run(services, "email,first_name,last_name\nJANE@EXAMPLE.COM,Janet,Doe\n")
    assert (report.created, report.updated) == (0, 1)
    assert count(engine, contacts) == 1
    assert customers(engine)["jane@example.com"]["first_name"] == "Janet"


def test_same_values_again_are_unchanged(services: Services, engine: Engine) -> None:
    csv_text = "email,first_name\njane@example.com,Jane\nraj@example.org,Raj\n"
    run(services, csv_text)
    report = run(services, csv_text)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_empty_cell_never_erases_a_stored_value(services: Services, engine: Engine) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    run(services, "email,first_name,last_name,plan\njane@example.com,Jane,Doe,gold\n")
    report = run(services, "email,first_name,last_name,plan\njane@example.com,,,\n")
    assert report.unchanged == 1
    jane = customers(engine)["jane@example.com"]
    assert (jane["first_name"], jane["last_name"], jane["plan"]) == ("Jane", "Doe", "gold")


def test_custom_field_value_is_updated_or_added(services: Services, engine: Engine) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    add_custom_field(engine, "seats", FieldType.NUMBER)
    run(services, "email,first_name,plan\njane@example.com,Jane,gold\n")
    report = run(services, "email,plan,seats\njane@example.com,Silver,12\n")
    assert report.updated == 1
    jane = customers(engine)["jane@example.com"]
    assert (jane["plan"], jane["seats"]) == ("silver", "12")


def test_labels_are_added_on_update_and_replaced_when_asked(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Marketing", "Trial", "Demo"])
    run(services, "email,first_name,labels\njane@example.com,Jane,Marketing\n")
    run(services, "email,labels\njane@example.com,Trial\n")
    assert customers(engine)["jane@example.com"]["labels"] == "Marketing:Trial"
    run(services, "email,labels\njane@example.com,Demo\n", options={"replace_labels": True})
    assert customers(engine)["jane@example.com"]["labels"] == "Demo"


def test_labels_by_id_and_by_name_together(services: Services, engine: Engine) -> None:
    ids = add_labels(engine, ["Marketing", "Trial"])
    report = run(services, f"email,first_name,labels,labels_id\njane@example.com,Jane,Marketing,{ids['Trial']}\n")
    assert report.created == 1
    assert customers(engine)["jane@example.com"]["labels"] == "Marketing:Trial"


@pytest.mark.parametrize(
    ("cells", "column", "code"),
    [
        ("jane@example.com,Jane,marketing,", "labels", "labels.unknown"),  # names are case-sensitive
        ("jane@example.com,Jane,,999", "labels_id", "labels_id.unknown"),
        ("not-an-email,Jane,,", "email", "email.invalid"),
        ("jane@example.com,,,", "first_name", "first_name.required"),
    ],
)
def test_bad_cells_fail_their_row_naming_row_and_column(services: Services, engine: Engine, cells: str, column: str, code: str) -> None:
    add_labels(engine, ["Marketing"])
    report = run(services, f"email,first_name,labels,labels_id\nok@example.com,Ok,,\n{cells}\n")
    assert (report.created, report.failed) == (1, 1)
    assert [(error.row, error.column, error.code) for error in report.errors] == [(3, column, code)]
    assert set(customers(engine)) == {"ok@example.com"}


def test_unknown_company_id_is_a_row_error(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name,company_id\njane@example.com,Jane,42\n")
    assert [(error.row, error.column, error.code) for error in report.errors] == [(2, "company_id", "company_id.unknown")]


def test_create_labels_option_creates_unknown_labels(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name,labels\njane@example.com,Jane,VIP:Beta\n", options={"create_labels": True})
    assert report.created == 1
    assert customers(engine)["jane@example.com"]["labels"] == "Beta:VIP"


def test_the_same_email_twice_applies_the_first_and_fails_the_later_ones(services: Services, engine: Engine) -> None:
    rows = "".join(f"filler{n}@example.com,F{n}\n" for n in range(10))  # pushes the twin into a later batch of 7
    report = run(services, f"email,first_name\njane@example.com,Jane\n{rows}Jane@Example.com,Janet\njane@example.com,Jan\n")
    assert report.created == 11
    assert [(error.row, error.code) for error in report.errors] == [(13, "email.duplicate_in_file"), (14, "email.duplicate_in_file")]
    assert all("duplicate of row 2" in error.message for error in report.errors)
    assert customers(engine)["jane@example.com"]["first_name"] == "Jane"


def test_duplicates_are_found_in_a_dry_run_too(services: Services, engine: Engine) -> None:
    rows = "".join(f"filler{n}@example.com,F{n}\n" for n in range(10))
    report = run(services, f"email,first_name\njane@example.com,Jane\n{rows}JANE@example.com,Janet\n", dry_run=True)
    assert (report.status, report.created, report.failed) == (Status.DRY_RUN, 11, 1)
    assert report.errors[0].row == 13


def test_dry_run_writes_no_customer(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name\njane@example.com,Jane\n", dry_run=True)
    assert (report.status, report.created) == (Status.DRY_RUN, 1)
    assert count(engine, contacts) == 0


def test_id_column_is_the_key_so_an_export_can_change_emails(services: Services, engine: Engine) -> None:
    run(services, "email,first_name\njane@example.com,Jane\n")
    jane_id = customers(engine)["jane@example.com"]["id"]
    report = run(services, f"id,email,first_name\n{jane_id},jane.doe@example.net,Jane\n")
    assert (report.created, report.updated) == (0, 1)
    assert set(customers(engine)) == {"jane.doe@example.net"}


def test_an_exported_file_reimports_unchanged(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Marketing", "Trial"])
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    company = add_company(engine, "Acme")
    run(services, f"email,first_name,last_name,company_id,labels,plan\n"
                  f"jane@example.com,Jane,Doe,{company},Marketing:Trial,gold\nraj@example.org,Raj,,,,\n")
    headers, rows = export_customers(engine)
    exported = "".join(write_csv(headers, rows))
    report = run(services, exported)
    assert (report.rows, report.unchanged, report.failed) == (2, 2, 0)


def test_all_or_nothing_applies_nothing_when_a_row_is_bad(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name\njane@example.com,Jane\nbad,Bob\n", all_or_nothing=True)
    assert (report.status, report.failed) == (Status.REJECTED, 1)
    assert count(engine, contacts) == 0
    report = run(services, "email,first_name\njane@example.com,Jane\n", all_or_nothing=True)
    assert (report.status, report.created) == (Status.SUCCEEDED, 1)


def test_defaults_fill_empty_cells_and_default_labels_are_added(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Imported"])
    report = run(services, "email,first_name\njane@example.com,\nraj@example.org,Raj\n",
                 defaults={"first_name": "Friend"}, options={"default_labels": ("Imported",)})
    assert report.created == 2
    found = customers(engine)
    assert (found["jane@example.com"]["first_name"], found["raj@example.org"]["first_name"]) == ("Friend", "Raj")
    assert found["jane@example.com"]["labels"] == "Imported"


def test_a_bad_file_is_rejected_whole_and_recorded(services: Services, engine: Engine) -> None:
    run(services, "email,first_name\njane@example.com,Jane\n")
    report = run(services, "first_name,last_name\nJane,Doe\n")
    assert (report.status, report.error_code) == (Status.REJECTED, "file.no_email_column")
    assert count(engine, contacts) == 1
    with engine.connect() as connection:
        assert connection.execute(select(import_jobs.c.status)
                                  .where(import_jobs.c.id == report.job)).scalar_one() == "rejected"


def test_more_rows_than_the_limit_rejects_the_file(services: Services, engine: Engine) -> None:
    rows = "".join(f"c{n}@example.com,C\n" for n in range(51))  # the fixture's row limit is 50
    report = run(services, "email,first_name\n" + rows)
    assert (report.status, report.error_code) == (Status.REJECTED, "file.too_many_rows")
    assert count(engine, contacts) == 0


def test_html_in_a_name_is_stored_as_text(services: Services, engine: Engine) -> None:
    run(services, "email,first_name\njane@example.com,<b>Jane</b>\n")
    assert customers(engine)["jane@example.com"]["first_name"] == "<b>Jane</b>"


def test_every_row_result_is_recorded_and_the_error_report_uses_spreadsheet_rows(services: Services, engine: Engine) -> None:
    report = run(services, 'email,first_name,last_name\njane@example.com,Jane,"Doe\nSmith"\nbad,Bob,=SUM(A1)\n')
    assert report.failed == 1
    with engine.connect() as connection:
        actions = connection.execute(select(import_rows.c.row, import_rows.c.action)
                                     .where(import_rows.c.job_id == report.job)
                                     .order_by(import_rows.c.row)).all()
    assert [tuple(action) for action in actions] == [(2, "created"), (3, "failed")]
    text = "".join(services.history.error_report(report.job))
    assert text.splitlines()[0] == "email,first_name,last_name,row,column,message"
    assert all(line.startswith("bad,Bob,'=SUM(A1),3,") for line in text.splitlines()[1:])
