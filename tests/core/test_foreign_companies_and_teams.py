"""A customers file's company and group cells (Wifox's Project and Desk) matched in one order: our name, then the id
the import's external source gives the company or team, then our id; another system's id that nothing here has
is created with that id when asked, else the row fails naming the column and the option."""

from __future__ import annotations

import pytest

from plugin.kinds import Catalog
from plugin.kinds.customers import CUSTOMERS
from plugin.kinds.external_ids import foreign_id
from plugin.mapping import suggest_mapping
from plugin.options import read_options
from plugin.read import SourceRow
from plugin.settings import load_settings
from plugin.validate import validate_row

PROJECT, DESK = "66524609caa3558dd8f8da65", "67a346ad8092c651c919337e"
HEADERS = ("ID", "First Name", "Last Name", "Email", "Project", "Desk", "Active", "Type", "Created")
SETTINGS = load_settings(environ={})


def catalog() -> Catalog:
    """Acme (id 10) was Wifox's project PROJECT; the team Support (id 3) its desk DESK. A company is named "3"."""
    return Catalog(companies={10: "Acme", 11: "Globex", 12: "3"}, company_keys={"acme": 10, "globex": 11, "3": 12},
                   teams={"Support": 3, "Sales": 4, "12": 5},
                   company_externals={("wifox", PROJECT): 10, ("wifox", "globex"): 12},
                   team_externals={("wifox", DESK): "Support", ("wifox", "Sales"): "12"})


def validated(project: str, desk: str, cat: Catalog | None = None, **given: object):  # type: ignore[no-untyped-def]
    cells = ("666c2c2f32735479fd3e9a5c", "John", "Doe", "john@example.com", project, desk, "True", "Personal", "")
    mapping = suggest_mapping(CUSTOMERS, HEADERS, samples=[cells])
    options = read_options(CUSTOMERS, {"external_source": "wifox", **given}, SETTINGS)
    return validate_row(CUSTOMERS, mapping, SourceRow(2, cells), cat or catalog(), options, {})


def test_a_project_and_a_desk_given_by_their_wifox_ids_find_the_renamed_company_and_team() -> None:
    record = validated(PROJECT, DESK)
    assert record.errors == []
    assert (record.values["company_id"], record.values["groups"]) == (10, frozenset({"Support"}))


@pytest.mark.parametrize(("project", "company_id"), [
    ("globex", 11),  # our name (any case) before the id Wifox gives another company
    ("GLOBEX", 11),
    (PROJECT.upper(), None),  # a Wifox id is matched as written
    ("12", 12),  # our id when no company is named so
    ("3", 12),  # our name "3" before our id 3
])
def test_a_company_cell_is_our_name_then_the_sources_id_then_our_id(project: str, company_id: int | None) -> None:
    record = validated(project, "Support")
    assert record.values.get("company_id") == company_id


@pytest.mark.parametrize(("desk", "team"), [
    ("Sales", "Sales"),  # our name before the id Wifox gives another team
    (DESK, "Support"),
    ("4", "Sales"),  # our id when no team is named so
    ("12", "12"),  # our name "12"
])
def test_a_group_cell_is_our_name_then_the_sources_id_then_our_id(desk: str, team: str) -> None:
    assert validated("Acme", desk).values["groups"] == frozenset({team})


def test_an_id_of_another_source_is_not_matched() -> None:
    record = validated(PROJECT, DESK, external_source="hubspot")
    assert [(error.column, error.code) for error in record.errors] == [("Project", "company.unknown"),
                                                                       ("Desk", "groups.unknown")]


def test_without_the_create_options_an_unknown_wifox_id_fails_naming_the_column_and_the_option() -> None:
    record = validated("77777777caa3558dd8f8da65", "77777777a8092c651c919337", Catalog())
    assert [(error.row, error.column, error.code) for error in record.errors] == [
        (2, "Project", "company.unknown"), (2, "Desk", "groups.unknown")]
    assert "wifox id '77777777caa3558dd8f8da65'" in record.errors[0].message
    assert "“Create companies named in the company column”" in record.errors[0].message
    assert "“Create groups (teams) that do not exist yet”" in record.errors[1].message


def test_with_the_create_options_an_unknown_wifox_id_is_created_keeping_that_id() -> None:
    empty = Catalog()
    record = validated(PROJECT, DESK, empty, create_companies=True, create_groups=True)
    assert record.errors == []
    assert (record.values["company"], record.values["groups"]) == (PROJECT, frozenset({DESK}))
    assert empty.new_externals == {PROJECT: ("wifox", PROJECT), DESK: ("wifox", DESK)}


def test_a_new_company_named_by_name_gets_no_external_id() -> None:
    empty = Catalog()
    record = validated("Initech", "Billing", empty, create_companies=True, create_groups=True)
    assert record.errors == [] and empty.new_externals == {}


@pytest.mark.parametrize(("cell", "is_foreign"), [
    (PROJECT, True), ("123e4567-e89b-12d3-a456-426614174000", True), ("0123456789abcdef", True),
    ("Acme", False), ("deadbeefdeadbeefdead", False),  # no digit: could be a name
    ("0123456789abcde", False),  # 15 digits
    ("12", False),  # our ids are whole numbers
    ("Acme 66524609caa3558dd8f8da65", False),
])
def test_another_systems_id_is_long_hexadecimal_or_a_uuid(cell: str, is_foreign: bool) -> None:
    assert foreign_id(cell) is is_foreign
