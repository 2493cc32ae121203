"""Real exports import by themselves, on SQLite and PostgreSQL through services.imports.import_file: Outlook's
`;` categories, Google's `* myContacts` groups, Qwil's Group Identifier; values for empty cells of custom fields;
columns whose empty cells clear the stored value, shown in the dry run and undone by undo. `export customers`
gives back what was imported."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, func, select

from adapters.bootstrap import bootstrap
from adapters.db.catalog import ensure_teams, utc_now
from adapters.db.export import export_customers
from adapters.db.models import contacts, labels
from plugin.kinds import FieldType
from plugin.report import ImportReport, Status, write_csv
from plugin.services import Services
from plugin.services.undo import Actor
from plugin.settings import Settings
from tests.catalog import add_custom_field, add_labels
from tests.real_exports import (OUTLOOK_LABELS, QWIL_TEAMS, google_export, outlook_export, qwil_clients,
                                stored_as_expected)

ADMIN = Actor("admin@example.com", "admin")


@pytest.fixture
def big_services(settings: Settings, engine: Engine) -> Services:
    """Services whose batches are of a realistic size, for files of thousands of rows."""
    return bootstrap(settings.replace(batch_size=500, row_limit=5000), engine=engine)


def run(services: Services, text: str, **arguments: object) -> ImportReport:
    return services.imports.import_file("customers", io.BytesIO(text.encode()), file_name="export.csv",
                                        actor="tester", **arguments)  # type: ignore[arg-type]


def exported(engine: Engine) -> list[dict[str, str]]:
    headers, rows = export_customers(engine)
    return [{header: "" if cell is None else str(cell) for header, cell in zip(headers, row, strict=True)}
            for row in rows]


def label_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(labels.c.name)).scalars())


def test_an_outlook_export_with_semicolon_categories_imports_without_a_mapping(big_services: Services,
                                                                                 engine: Engine) -> None:
    add_labels(engine, OUTLOOK_LABELS)
    text, expected = outlook_export(2000)
    report = run(big_services, text)
    assert (report.status, report.created, report.failed) == (Status.SUCCEEDED, 2000, 0), report.errors[:3]
    assert stored_as_expected(exported(engine), expected) == []
    assert label_names(engine) == set(OUTLOOK_LABELS)


def test_google_system_groups_are_never_labels_even_when_labels_may_be_created(services: Services,
                                                                                engine: Engine) -> None:
    text, expected = google_export(30)
    report = run(services, text, options={"create_labels": True})
    assert (report.created, report.failed) == (30, 0), report.errors[:3]
    assert label_names(engine) == {"Friends", "VIP"}  # no "* myContacts", no "* starred"
    assert stored_as_expected(exported(engine), expected) == []


def test_google_system_groups_alone_do_not_fail_rows_without_create_labels(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Friends", "VIP"])
    text, expected = google_export(30)
    report = run(services, text)
    assert (report.created, report.failed) == (30, 0), report.errors[:3]
    assert stored_as_expected(exported(engine), expected) == []


def test_a_qwil_clients_file_puts_clients_into_the_teams_of_its_group_identifier(services: Services,
                                                                                 engine: Engine) -> None:
    with engine.begin() as connection:
        ensure_teams(connection, QWIL_TEAMS, now=utc_now())
    text, expected = qwil_clients(20)
    report = run(services, text)
    assert (report.created, report.failed) == (20, 0), report.errors[:3]
    assert "groups" in {column.target for column in report.mapping}
    assert stored_as_expected(exported(engine), expected) == []


def test_export_gives_back_what_the_real_exports_imported_and_imports_back_unchanged(big_services: Services,
                                                                                     engine: Engine) -> None:
    add_labels(engine, OUTLOOK_LABELS)
    with engine.begin() as connection:
        ensure_teams(connection, QWIL_TEAMS, now=utc_now())
    expected = []
    for text, rows in (outlook_export(300), google_export(60), qwil_clients(40)):
        report = run(big_services, text, options={"create_labels": True})
        assert report.failed == 0, report.errors[:3]
        expected += rows
    assert stored_as_expected(exported(engine), expected) == []
    headers, rows = export_customers(engine)
    again = run(big_services, "".join(write_csv(headers, rows)))
    assert (again.rows, again.unchanged, again.failed) == (400, 400, 0), again.errors[:3]
    assert stored_as_expected(exported(engine), expected) == []


def test_a_default_for_a_custom_field_fills_its_empty_cells(services: Services, engine: Engine) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    report = run(services, "email,first_name,plan\nann@example.com,Ann,\nbo@example.com,Bo,silver\n",
                 defaults={"plan": "gold"})
    assert (report.created, report.failed) == (2, 0), report.errors
    plans = {row["email"]: row["plan"] for row in exported(engine)}
    assert plans == {"ann@example.com": "gold", "bo@example.com": "silver"}


def test_a_default_for_a_custom_field_the_file_has_no_column_for_fills_every_row(services: Services,
                                                                                  engine: Engine) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    report = run(services, "email,first_name\nann@example.com,Ann\n", defaults={"plan": "Gold"})
    assert report.created == 1, report.errors
    assert exported(engine)[0]["plan"] == "gold"  # as a cell "Gold" would be stored


@pytest.mark.parametrize(("defaults", "code", "words"), [
    ({"plan": "platinum"}, "defaults.invalid", "'platinum' is not one of gold, silver"),
    ({"phone_number": "1"}, "defaults.unknown_field", "is not a field"),
    ({"plan": "=1+1"}, "defaults.invalid", "formula"),
    ({"phone": "not a number"}, "defaults.invalid", "phone"),
    ({"labels": "Nope"}, "defaults.invalid", "There is no label named 'Nope'"),
])
def test_a_default_its_field_would_refuse_refuses_the_import_before_anything_is_written(
        services: Services, engine: Engine, defaults: dict[str, str], code: str, words: str) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    report = run(services, "email,first_name\nann@example.com,Ann\n", defaults=defaults)
    assert (report.status, report.error_code) == (Status.REJECTED, code)
    assert "Values for empty cells" in report.message and words in report.message
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(contacts)).scalar_one() == 0


FIRST = ("email,first_name,last_name,phone,plan\n"
         "ann@example.com,Ann,Lee,+44 20 7946 0958,gold\n"
         "bo@example.com,Bo,Ng,+44 20 7946 0959,silver\n")
CLEARING = ("email,first_name,last_name,phone,plan\n"
            "ann@example.com,Ann,,,\n"
            "bo@example.com,Bo,,+44 20 7946 0000,\n")


def test_empty_cells_keep_stored_values_unless_their_column_is_cleared(services: Services, engine: Engine) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    run(services, FIRST)
    report = run(services, CLEARING)
    assert (report.updated, report.unchanged) == (1, 1)  # only Bo's phone: empty cells keep what is stored
    assert {row["email"]: (row["last_name"], row["plan"]) for row in exported(engine)} == {
        "ann@example.com": ("Lee", "gold"), "bo@example.com": ("Ng", "silver")}


def test_clearing_shows_in_the_dry_run_is_recorded_as_an_update_and_is_undone(services: Services,
                                                                               engine: Engine) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    run(services, FIRST)
    before = exported(engine)
    dry = run(services, CLEARING, dry_run=True, options={"clear_empty": ["phone", "plan"]})
    assert (dry.status, dry.updated) == (Status.DRY_RUN, 2)
    changes = {result["row"]: result["changes"] for result in services.history.row_results(dry.job, offset=0, limit=10)}
    assert {"field": "phone", "old": "+442079460958", "new": None} in changes[2]
    assert {"field": "plan", "old": "gold", "new": None} in changes[2]
    assert {"field": "plan", "old": "silver", "new": None} in changes[3]
    assert exported(engine) == before  # a dry run writes nothing

    report = run(services, CLEARING, options={"clear_empty": ["phone", "plan"]})
    assert (report.updated, report.failed) == (2, 0)
    now = {row["email"]: (row["last_name"], row["phone"], row["plan"]) for row in exported(engine)}
    assert now == {"ann@example.com": ("Lee", "", ""), "bo@example.com": ("Ng", "+442079460000", "")}

    result = services.undo.undo(report.job, ADMIN)
    assert (result.tally.restored, result.tally.skipped) == (2, 0)
    assert exported(engine) == before


@pytest.mark.parametrize(("clear", "code"), [
    (["email"], "clear_empty.required"),
    (["first_name"], "clear_empty.required"),
    (["labels"], "clear_empty.not_clearable"),
    (["nope"], "clear_empty.unknown_field"),
    (["mobile"], "clear_empty.no_column"),
])
def test_a_column_that_cannot_be_cleared_refuses_the_import_naming_the_option(
        services: Services, engine: Engine, clear: list[str], code: str) -> None:
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    run(services, FIRST)
    before = exported(engine)
    report = run(services, CLEARING + "cy@example.com,Cy,,,\n", options={"clear_empty": clear})
    assert (report.status, report.error_code) == (Status.REJECTED, code)
    assert "Columns whose empty cells clear the stored value" in report.message
    assert exported(engine) == before
