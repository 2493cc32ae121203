"""Customers' active flag, account type, original creation time and external id (Wifox CRM's clients), as cells
are read, columns are mapped and rows are planned."""

from __future__ import annotations

import pytest

from plugin.kinds import Catalog, CellProblem
from plugin.kinds.customers import CUSTOMERS
from plugin.mapping import MatchedBy, suggest_mapping
from plugin.moments import parse_moment
from plugin.options import read_options
from plugin.plan import Action, Existing, PlannedRow, external_by_id, plan_row
from plugin.read import SourceRow
from plugin.settings import load_settings
from plugin.validate import parse_active, validate_row

WIFOX_HEADERS = ("ID", "First Name", "Last Name", "Email", "Project", "Desk", "Active", "Type", "Created")
WIFOX_ROW = ("666c2c2f32735479fd3e9a5c", "John", "Doe", "john.doe@example.com", "66524609caa3558dd8f8da65",
             "67a346ad8092c651c919337e", "True", "Personal", "2024-06-13T15:06:02.802Z")
CATALOG = Catalog(companies={10: "Acme Ltd"}, company_keys={"acme ltd": 10}, teams={"Support": 3, "Sales": 4})
SETTINGS = load_settings(environ={})


@pytest.mark.parametrize(("cell", "value"), [
    ("True", True), ("FALSE", False), ("yes", True), ("n", False), ("1", True), ("0", False),
    (" Active ", True), ("inactive", False), ("Disabled", False), ("enabled", True),
])
def test_an_active_flag_takes_the_spellings_people_use(cell: str, value: bool) -> None:
    assert parse_active(cell) is value


def test_an_active_flag_it_cannot_read_names_the_accepted_spellings() -> None:
    with pytest.raises(CellProblem) as refused:
        parse_active("sometimes")
    assert refused.value.code == "active.invalid" and "true/false" in refused.value.message


@pytest.mark.parametrize(("cell", "stored"), [
    ("2024-06-13T15:06:02.802Z", "2024-06-13T15:06:02.802Z"),  # Wifox's Created
    ("2024-06-13T17:06:02.802+02:00", "2024-06-13T15:06:02.802Z"),
    ("2024-06-13 15:06:02", "2024-06-13T15:06:02Z"),  # no zone: UTC
    ("20240613T150602Z", "2024-06-13T15:06:02Z"),
    ("2024-06-13", "2024-06-13T00:00:00Z"),  # a workbook's date cell, as plugin.workbook writes it
    ("13/06/2024", "2024-06-13T00:00:00Z"),  # a spreadsheet's day/month/year
    ("13.06.2024 15:06", "2024-06-13T15:06:00Z"),
    ("06/13/2024", "2024-06-13T00:00:00Z"),  # month/day/year, when the day tells
    ("2024/6/3", "2024-06-03T00:00:00Z"),
])
def test_a_creation_time_is_read_in_any_iso_spelling_or_a_spreadsheets_date(cell: str, stored: str) -> None:
    assert parse_moment(cell) == stored


@pytest.mark.parametrize(("cell", "code"), [
    ("06/07/2024", "date.ambiguous"),  # June 7th or July 6th: refused, never guessed
    ("31/02/2024", "date.invalid"),
    ("last week", "date.invalid"),
])
def test_a_creation_time_that_cannot_be_read_for_sure_is_refused(cell: str, code: str) -> None:
    with pytest.raises(CellProblem) as refused:
        parse_moment(cell)
    assert refused.value.code == code


def test_wifox_headers_map_by_themselves_id_to_external_id_project_to_company_desk_to_groups() -> None:
    mapping = suggest_mapping(CUSTOMERS, WIFOX_HEADERS, samples=[WIFOX_ROW])
    assert {column.header: column.target for column in mapping.columns} == {
        "ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Project": "company", "Desk": "groups", "Active": "active", "Type": "type", "Created": "created_at"}
    assert mapping.columns[0].matched_by is MatchedBy.EXACT and "external_id" in mapping.columns[0].note


def test_an_id_column_of_our_own_ids_stays_our_id() -> None:
    mapping = suggest_mapping(CUSTOMERS, ("id", "email"), samples=[("12", "a@example.com"), ("", "b@example.com")])
    assert mapping.header_for("id") == "id" and mapping.header_for("external_id") is None


def validated(headers: tuple[str, ...], cells: tuple[str, ...], **given: object):  # type: ignore[no-untyped-def]
    mapping = suggest_mapping(CUSTOMERS, headers, samples=[cells])
    options = read_options(CUSTOMERS, given, SETTINGS)
    return validate_row(CUSTOMERS, mapping, SourceRow(2, cells), CATALOG, options, {})


def test_a_wifox_row_becomes_an_active_personal_customer_with_its_creation_time_and_wifox_id() -> None:
    record = validated(WIFOX_HEADERS, (*WIFOX_ROW[:4], "Acme Ltd", "Support", *WIFOX_ROW[6:]), external_source="wifox")
    assert record.errors == []
    assert {name: record.values[name] for name in ("active", "type", "created_at", "external_id", "external_source",
                                                     "company_id", "groups")} == {
        "active": True, "type": "personal", "created_at": "2024-06-13T15:06:02.802Z",
        "external_id": "666c2c2f32735479fd3e9a5c", "external_source": "wifox", "company_id": 10,
        "groups": frozenset({"Support"})}


def test_a_project_or_desk_given_by_our_id_finds_the_company_or_team() -> None:
    record = validated(("email", "project", "desk"), ("a@example.com", "10", "4"))
    assert (record.errors, record.values["company_id"], record.values["groups"]) == ([], 10, frozenset({"Sales"}))


def test_a_wifox_project_id_we_do_not_know_is_a_row_error_naming_the_column() -> None:
    record = validated(WIFOX_HEADERS, WIFOX_ROW)
    assert [(error.column, error.code) for error in record.errors] == [("Project", "company.unknown"),
                                                                        ("Desk", "groups.unknown")]


def test_an_account_type_outside_the_setting_is_a_row_error_naming_the_allowed_types() -> None:
    record = validated(("email", "type"), ("a@example.com", "Reseller"))
    [error] = record.errors
    assert (error.row, error.column, error.code) == (2, "type", "type.unknown")
    assert "personal, business" in error.message


def test_the_account_types_are_a_setting_an_environment_variable_overrides() -> None:
    settings = load_settings(environ={"CONTACT_IMPORTER_CUSTOMER_TYPES": "Personal, Corporate, Partner"})
    assert settings.customer_types == ("Personal", "Corporate", "Partner")
    options = read_options(CUSTOMERS, {}, settings)
    mapping = suggest_mapping(CUSTOMERS, ("email", "type"))
    record = validate_row(CUSTOMERS, mapping, SourceRow(2, ("a@example.com", "partner")), CATALOG, options, {})
    assert (record.errors, record.values["type"]) == ([], "Partner")


def test_an_external_source_column_needs_an_external_id_in_its_row() -> None:
    record = validated(("email", "external_source"), ("a@example.com", "wifox"))
    assert [error.code for error in record.errors] == ["external_source.without_id"]


STORED_JOHN = Existing(id=7, key="john@old.example", values={
    "email": "john@old.example", "first_name": "John", "active": True, "external_id": "666c2c2f32735479fd3e9a5c",
    "external_source": "wifox"})
STORED_EMMA = Existing(id=8, key="emma@example.com", values={"email": "emma@example.com", "first_name": "Emma"})


def planned(*rows: tuple[str, ...], headers: tuple[str, ...] = ("external_id", "email", "first_name"),
            source: str = "wifox") -> list[PlannedRow]:
    stored = (STORED_JOHN, STORED_EMMA)
    mapping = suggest_mapping(CUSTOMERS, headers)
    options = read_options(CUSTOMERS, {"external_source": source}, SETTINGS)
    claims: dict[str, int] = {}
    by_id = {existing.id: existing for existing in stored}
    return [plan_row(CUSTOMERS, validate_row(CUSTOMERS, mapping, SourceRow(number, cells), CATALOG, options, {}),
                     by_key={existing.key: existing for existing in stored}, by_id=by_id, claims=claims,
                     options=options, headers={column.target: column.header for column in mapping.columns if column.target},
                     by_external=external_by_id(by_id.values()))
            for number, cells in enumerate(rows, start=2)]


def test_the_same_external_id_updates_that_customer_and_their_changed_email() -> None:
    [row] = planned(("666c2c2f32735479fd3e9a5c", "john.doe@new.example", "John"))
    assert (row.action, row.record_id, row.values) == (Action.UPDATED, 7, {"email": "john.doe@new.example"})


def test_the_same_external_id_from_another_source_is_another_customer() -> None:
    [row] = planned(("666c2c2f32735479fd3e9a5c", "john.doe@new.example", "John"), source="hubspot")
    assert row.action is Action.CREATED


def test_an_external_id_whose_new_email_belongs_to_another_customer_fails_naming_row_and_column() -> None:
    [row] = planned(("666c2c2f32735479fd3e9a5c", "emma@example.com", "John"))
    assert [(error.row, error.column, error.code) for error in row.errors] == [(2, "email", "email.taken")]


def test_two_new_rows_with_one_external_id_fail_the_later_one() -> None:
    rows = planned(("X-1", "a@example.com", "A"), ("X-1", "b@example.com", "B"))
    assert [row.action for row in rows] == [Action.CREATED, Action.FAILED]
    assert [(error.row, error.column, error.code) for error in rows[1].errors] == [
        (3, "external_id", "external_id.duplicate_in_file")]


def test_an_inactive_flag_on_an_active_customer_is_a_change_shown_as_a_change() -> None:
    [row] = planned(("666c2c2f32735479fd3e9a5c", "john@old.example", "false"),
                    headers=("external_id", "email", "active"))
    assert (row.action, [tuple(change) for change in row.changes]) == (Action.UPDATED, [("active", True, False)])
