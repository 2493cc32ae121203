"""Cells → values: formula cells, names, labels, ids, booleans, custom fields, and whole rows."""

from __future__ import annotations

import pytest

from plugin.kinds import Catalog, CellProblem, CustomField, FieldType
from plugin.kinds.customers import CUSTOMERS
from plugin.mapping import suggest_mapping
from plugin.read import SourceRow
from plugin.report import neutralize_cell
from plugin.validate import (NAME_MAX, RowValidator, is_formula_like, parse_boolean, parse_custom_value, parse_id,
                             parse_id_list, parse_name, split_names, validate_row, without_text_marker)


@pytest.mark.parametrize(
    "cell",
    [
        "=1+2",
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "+SUM(A1:A2)",
        "-2+3",
        "-cmd|' /C calc'!A0",
        "@SUM(A1)",
        "\t=1+2",
        "\r=1+2",
        "\tcmd",
        "\rcmd",
        "=",
        "+",
        "-",
        "@",
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_a_formula(cell: str) -> None:
    assert is_formula_like(cell)


@pytest.mark.parametrize(
    "cell",
    [
        "+44 7700 900123",
        "+1 (555) 010-9999",
        "-5",
        "+5",
        "-3.25",
        "Jane",
        "jane@example.com",
        "a=b",
        " =1+2",  # a leading space makes it text
        "",
    ],
)
def test_a_phone_number_a_number_or_plain_text_is_not_a_formula(cell: str) -> None:
    assert not is_formula_like(cell)


@pytest.mark.parametrize(
    ("field_type", "choices", "cell", "stored"),
    [
        (FieldType.TEXT, (), "  Some text  ", "Some text"),
        (FieldType.NUMBER, (), "42", "42"),
        (FieldType.NUMBER, (), " 42.0 ", "42"),
        (FieldType.NUMBER, (), "3.5", "3.5"),
        (FieldType.NUMBER, (), "3.50", "3.5"),
        (FieldType.NUMBER, (), "-5", "-5"),
        (FieldType.NUMBER, (), "+5", "5"),
        (FieldType.NUMBER, (), "-0", "0"),
        (FieldType.NUMBER, (), "0.000", "0"),
        (FieldType.NUMBER, (), "1e3", "1000"),
        (FieldType.NUMBER, (), "1E-7", "0.0000001"),
        (FieldType.NUMBER, (), "1,234.5", "1234.5"),
        (FieldType.NUMBER, (), "1e39", "1" + "0" * 39),
        (FieldType.DATE, (), "2026-11-25", "2026-11-25"),
        (FieldType.DATE, (), " 2026-01-05 ", "2026-01-05"),
        (FieldType.BOOLEAN, (), "TRUE", "true"),
        (FieldType.BOOLEAN, (), "yes", "true"),
        (FieldType.BOOLEAN, (), "Y", "true"),
        (FieldType.BOOLEAN, (), "1", "true"),
        (FieldType.BOOLEAN, (), "false", "false"),
        (FieldType.BOOLEAN, (), "No", "false"),
        (FieldType.BOOLEAN, (), "0", "false"),
        (FieldType.CHOICE, ("gold", "silver", "bronze"), "silver", "silver"),
        (FieldType.CHOICE, ("gold", "silver", "bronze"), " GOLD ", "gold"),
        (FieldType.CHOICE, ("Gold", "Silver"), "silver", "Silver"),
    ],
)
def test_a_custom_value_is_stored_in_its_canonical_form(field_type: FieldType, choices: tuple[str, ...],
                                                        cell: str, stored: str) -> None:
    assert parse_custom_value(CustomField(1, "field", field_type, choices), cell) == stored


@pytest.mark.parametrize(
    ("field_type", "choices", "cell", "code"),
    [
        (FieldType.NUMBER, (), "forty-two", "custom.not_a_number"),
        (FieldType.NUMBER, (), "1,234", "custom.not_a_number"),  # a thousands or a decimal comma? we cannot know
        (FieldType.NUMBER, (), "NaN", "custom.not_a_number"),
        (FieldType.NUMBER, (), "Infinity", "custom.not_a_number"),
        (FieldType.NUMBER, (), "12 kg", "custom.not_a_number"),
        (FieldType.NUMBER, (), "1e999999", "custom.not_a_number"),  # would be written out as a million digits
        (FieldType.NUMBER, (), "1e-999999", "custom.not_a_number"),
        (FieldType.DATE, (), "25/11/2026", "custom.not_a_date"),
        (FieldType.DATE, (), "2026-02-30", "custom.not_a_date"),
        (FieldType.DATE, (), "tomorrow", "custom.not_a_date"),
        (FieldType.BOOLEAN, (), "maybe", "custom.not_a_boolean"),
        (FieldType.BOOLEAN, (), "2", "custom.not_a_boolean"),
        (FieldType.CHOICE, ("gold", "silver", "bronze"), "platinum", "custom.not_a_choice"),
    ],
)
def test_a_custom_value_of_the_wrong_type_is_a_cell_problem(field_type: FieldType, choices: tuple[str, ...],
                                                            cell: str, code: str) -> None:
    with pytest.raises(CellProblem) as problem:
        parse_custom_value(CustomField(1, "field", field_type, choices), cell)
    assert problem.value.code == code


def test_a_wrong_choice_names_the_choices() -> None:
    with pytest.raises(CellProblem, match=r"'platinum' is not one of gold, silver, bronze\."):
        parse_custom_value(CustomField(1, "plan", FieldType.CHOICE, ("gold", "silver", "bronze")), "platinum")


def test_a_wrong_date_shows_the_format_to_use() -> None:
    with pytest.raises(CellProblem, match="write it as YYYY-MM-DD"):
        parse_custom_value(CustomField(1, "renewal", FieldType.DATE), "25/11/2026")


@pytest.mark.parametrize(
    ("cell", "value"),
    [("true", True), ("Yes", True), ("y", True), ("1", True), (" FALSE ", False), ("no", False), ("N", False), ("0", False)],
)
def test_booleans_accept_the_usual_words(cell: str, value: bool) -> None:
    assert parse_boolean(cell) is value


@pytest.mark.parametrize("cell", ["", "maybe", "ja", "2", "t"])
def test_other_words_are_not_booleans(cell: str) -> None:
    with pytest.raises(CellProblem) as problem:
        parse_boolean(cell)
    assert problem.value.code == "boolean.invalid"


@pytest.mark.parametrize(
    ("cell", "name"),
    [
        ("Jane", "Jane"),
        ("  Jane  ", "Jane"),
        ("Mary   Ann", "Mary Ann"),
        ("Mary\tAnn\nLee", "Mary Ann Lee"),
        ("<b>Zoë</b>", "<b>Zoë</b>"),  # HTML is text: kept as written, never rendered
        ("x" * NAME_MAX, "x" * NAME_MAX),
    ],
)
def test_a_name_has_its_whitespace_collapsed(cell: str, name: str) -> None:
    assert parse_name(cell) == name


def test_a_name_too_long_is_a_cell_problem() -> None:
    with pytest.raises(CellProblem) as problem:
        parse_name("x" * (NAME_MAX + 1))
    assert problem.value.code == "name.too_long"
    assert f"{NAME_MAX + 1} characters" in problem.value.message


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("Marketing:Trial:Demo", ("Marketing", "Trial", "Demo")),
        ("Marketing", ("Marketing",)),
        (" Marketing : Trial ", ("Marketing", "Trial")),
        ("Trial::Demo:", ("Trial", "Demo")),
        ("Trial:trial", ("Trial", "trial")),  # names are case-sensitive
        ("Demo:Demo", ("Demo",)),
        ("VIP customers:Trial", ("VIP customers", "Trial")),
    ],
)
def test_labels_are_split_on_colons(cell: str, names: tuple[str, ...]) -> None:
    assert split_names(cell, what="label") == names


def test_a_label_name_too_long_is_a_cell_problem() -> None:
    with pytest.raises(CellProblem) as problem:
        split_names("Trial:" + "x" * (NAME_MAX + 1), what="label")
    assert problem.value.code == "label.too_long"


@pytest.mark.parametrize(("cell", "ids"), [("1", (1,)), ("1:2:3", (1, 2, 3)), (" 4 : 5 ", (4, 5)), ("7:", (7,))])
def test_label_ids_are_split_on_colons(cell: str, ids: tuple[int, ...]) -> None:
    assert parse_id_list(cell, what="label id") == ids


@pytest.mark.parametrize("cell", ["x", "1:two", "0", "-3", "1.5", "²", "١٢"])
def test_a_label_id_that_is_not_a_positive_whole_number_is_a_cell_problem(cell: str) -> None:
    with pytest.raises(CellProblem) as problem:
        parse_id_list(cell, what="label id")
    assert problem.value.code == "label_id.invalid"


@pytest.mark.parametrize("cell", ["²", "¹²", "٣"])
def test_an_id_in_other_digits_is_a_cell_problem_not_a_crash(cell: str) -> None:
    with pytest.raises(CellProblem):
        parse_id(cell, what="company id")


# ---- whole rows

CATALOG = Catalog(
    label_ids={"Marketing": 1, "Trial": 2},
    companies={10: "Acme Ltd"},
    custom_fields={"plan": CustomField(1, "plan", FieldType.CHOICE, ("gold", "silver")),
                   "seats": CustomField(2, "seats", FieldType.NUMBER)},
)
HEADERS = ("E-mail Address", "First Name", "Last Name", "company_id", "labels", "plan", "seats")


def validate(*cells: str, options: dict[str, object] | None = None, defaults: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    mapping = suggest_mapping(CUSTOMERS, HEADERS, custom_variables=tuple(CATALOG.custom_fields))
    return validate_row(CUSTOMERS, mapping, SourceRow(7, cells), CATALOG, options or {}, defaults or {})


def test_a_good_row_becomes_values_and_custom_values() -> None:
    record = validate("Jane@Example.COM", " Jane ", "Doe", "10", "Marketing:Trial", "GOLD", "3.0")
    assert record.errors == []
    assert record.key == "jane@example.com"
    assert record.values == {"email": "Jane@example.com", "first_name": "Jane", "last_name": "Doe", "company_id": 10,
                             "labels": frozenset({"Marketing", "Trial"})}
    assert record.custom == {"plan": "gold", "seats": "3"}


def test_empty_cells_give_no_values() -> None:
    record = validate("jane@example.com", "", " ", "", "", "", "")
    assert record.errors == []
    assert record.values == {"email": "jane@example.com"}
    assert record.custom == {}


def test_each_bad_cell_is_an_error_naming_the_files_column_and_the_spreadsheet_row() -> None:
    record = validate("not-an-email", "=HYPERLINK(\"x\")", "Doe", "99", "Marketing:Nope", "platinum", "many")
    assert sorted((error.row, error.column, error.code) for error in record.errors) == [
        (7, "E-mail Address", "email.invalid"),
        (7, "First Name", "cell.formula"),
        (7, "company_id", "company_id.unknown"),
        (7, "labels", "labels.unknown"),
        (7, "plan", "custom.not_a_choice"),
        (7, "seats", "custom.not_a_number"),
    ]


def test_a_row_without_an_email_is_an_error() -> None:
    record = validate("", "Jane")
    assert [(error.column, error.code) for error in record.errors] == [("E-mail Address", "email.missing")]


def test_an_unknown_label_hints_at_the_label_in_another_case() -> None:
    record = validate("jane@example.com", "", "", "", "marketing")
    (error,) = record.errors
    assert error.code == "labels.unknown"
    assert "did you mean 'Marketing'?" in error.message


def test_unknown_labels_are_accepted_when_they_may_be_created() -> None:
    record = validate("jane@example.com", "", "", "", "Brand New", options={"create_labels": True})
    assert record.errors == []
    assert record.values["labels"] == frozenset({"Brand New"})


def test_default_labels_are_added_to_the_files_labels() -> None:
    record = validate("jane@example.com", "", "", "", "Trial", options={"default_labels": ("Marketing",)})
    assert record.values["labels"] == frozenset({"Marketing", "Trial"})


def test_a_default_fills_an_empty_cell_but_not_a_filled_one() -> None:
    assert validate("a@example.com", "", defaults={"first_name": "Friend"}).values["first_name"] == "Friend"
    assert validate("a@example.com", "Jane", defaults={"first_name": "Friend"}).values["first_name"] == "Jane"


def test_a_phone_number_like_cell_in_a_number_field_is_not_a_formula() -> None:
    record = validate("jane@example.com", "", "", "", "", "", "-5")
    assert record.errors == []
    assert record.custom == {"seats": "-5"}


def test_extra_cells_past_the_header_are_a_row_error() -> None:
    record = validate("jane@example.com", "Jane", "Doe", "", "", "", "", "surprise")
    assert [(error.column, error.code) for error in record.errors] == [("", "row.extra_cells")]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+447700900123", "'+447700900123"),  # a phone number: a spreadsheet would add it up
        ("-3.5", "'-3.5"),  # a negative number too
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Jane", "Jane"),
        ("'Connor", "'Connor"),
        ("", ""),
    ],
)
def test_every_cell_starting_like_a_formula_is_written_with_a_text_marker(cell: str, written: str) -> None:
    assert neutralize_cell(cell) == written


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("'+44 7700 900123", "+44 7700 900123"),
        ("'-3.5", "-3.5"),
        ("'Connor", "'Connor"),  # an apostrophe before a letter is part of the text
        ("'", "'"),
    ],
)
def test_a_text_marker_before_a_formula_character_is_read_away(cell: str, value: str) -> None:
    assert without_text_marker(cell) == value


def test_a_marked_formula_is_still_a_formula() -> None:
    record = validate_row(CUSTOMERS, suggest_mapping(CUSTOMERS, ["email", "first_name"]),
                          SourceRow(2, ("jane@example.com", "'=HYPERLINK(\"http://x\")")), Catalog(), {}, {})
    assert [(error.column, error.code) for error in record.errors] == [("first_name", "cell.formula")]


def test_a_marked_negative_number_reads_as_the_number() -> None:
    catalog = Catalog(custom_fields={"balance": CustomField(1, "balance", FieldType.NUMBER)})
    record = validate_row(CUSTOMERS, suggest_mapping(CUSTOMERS, ["email", "balance"], custom_variables=("balance",)),
                          SourceRow(2, ("jane@example.com", "'-3.50")), catalog, {}, {})
    assert (record.errors, record.custom) == ([], {"balance": "-3.5"})


def test_a_password_keeps_a_leading_apostrophe_exactly_as_typed() -> None:
    from plugin.kinds.agents import AGENTS

    record = validate_row(AGENTS, suggest_mapping(AGENTS, ["email", "password"]),
                          SourceRow(2, ("agent@example.com", "'-secret-")), Catalog(), {}, {})
    assert (record.errors, record.values["password"]) == ([], "'-secret-")


# ---- found by the export round trip (tests/adapters/db/test_export_roundtrip.py)


def test_a_formula_behind_spaces_is_a_formula_because_the_spaces_are_not_kept() -> None:
    record = validate_row(CUSTOMERS, suggest_mapping(CUSTOMERS, ["email", "last_name"]),
                          SourceRow(2, ("jane@example.com", "  =1+2")), Catalog(), {}, {})
    assert [(error.column, error.code) for error in record.errors] == [("last_name", "cell.formula")]


@pytest.mark.parametrize("cell", ["Trial:-x", "Trial: '=x", "Trial:+x", "@home"])
def test_a_label_starting_like_a_formula_is_refused_wherever_it_stands_in_the_cell(cell: str) -> None:
    record = validate_row(CUSTOMERS, suggest_mapping(CUSTOMERS, ["email", "labels"]),
                          SourceRow(2, ("jane@example.com", cell)), Catalog(label_ids={"Trial": 1}), {}, {})
    assert [(error.column, error.code) for error in record.errors] == [("labels", "cell.formula")]


def test_a_column_of_one_refused_value_keeps_no_row_alive() -> None:
    """A whole column in a local date format, or an unknown label on every row: each row is told, and the
    validator, which remembers the refusal, holds none of the rows it already checked (it once kept each
    failing row's frame, through the traceback of the one exception it raised again)."""
    import tracemalloc

    mapping = suggest_mapping(CUSTOMERS, HEADERS, custom_variables=tuple(CATALOG.custom_fields))
    validator = RowValidator(CUSTOMERS, mapping, CATALOG, {}, {})
    padding = "x" * 150  # a long last name in every row, so that rows kept alive would show

    def check(first: int, count: int) -> None:
        for number in range(first, first + count):
            record = validator.validate(SourceRow(number, (f"p{number}@example.com", "Pat", padding, "", "", "platinum", "")))
            assert [error.code for error in record.errors] == ["custom.not_a_choice"]

    check(2, 100)  # the refusal is remembered
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        check(102, 5000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 1_000_000, f"{grown:,} bytes kept after 5,000 checked rows"


# ---- labels as real exports write them, defaults of custom fields, columns whose empty cells clear

LABELS = CUSTOMERS.field_named("labels")


@pytest.mark.parametrize(("cell", "names"), [
    ("Marketing;VIP", ("Marketing", "VIP")),  # Outlook's Categories
    ("Marketing; Trial ;VIP", ("Marketing", "Trial", "VIP")),
    ("Marketing;VIP:Trial", ("Marketing", "VIP", "Trial")),  # and ours
    ("* myContacts", ()),  # Google's own groups, alone in a cell
    ("* starred", ()),
    ("* myContacts ::: * starred", ()),
    ("* myContacts ::: Friends", ("Friends",)),
    ("Friends ::: * myContacts ::: VIP", ("Friends", "VIP")),
    ("Friends:* starred", ("Friends",)),
])
def test_labels_are_split_as_outlook_google_and_we_write_them_without_googles_own_groups(
        cell: str, names: tuple[str, ...]) -> None:
    assert LABELS.parse(cell) == names  # type: ignore[misc]


def test_a_cell_of_only_googles_own_groups_is_no_unknown_label_even_with_create_labels() -> None:
    for options in ({}, {"create_labels": True}):
        record = validate("jane@example.com", "Jane", "", "", "* myContacts", "", "", options=options)
        assert record.errors == []
        assert "labels" not in record.values


@pytest.mark.parametrize("header", ["Categories", "Group Membership", "Labels"])
def test_outlooks_and_googles_label_columns_map_to_labels(header: str) -> None:
    mapping = suggest_mapping(CUSTOMERS, ("E-mail Address", header))
    assert mapping.columns[1].target == "labels"


@pytest.mark.parametrize("header", ["Group Identifier", "Client Team", "Client Teams", "Customer Team", "Group Name"])
def test_qwils_group_identifier_and_similar_headers_map_to_groups(header: str) -> None:
    mapping = suggest_mapping(CUSTOMERS, ("Email", header))
    assert mapping.columns[1].target == "groups"


def test_a_default_for_a_custom_field_named_by_its_variable_fills_empty_cells() -> None:
    record = validate("jane@example.com", "Jane", "", "", "", "", "", defaults={"plan": "Gold", "custom:seats": "2"})
    assert record.errors == []
    assert record.custom == {"plan": "gold", "seats": "2"}


def test_empty_cells_of_cleared_columns_are_marked_cleared_and_filled_ones_are_not() -> None:
    record = validate("jane@example.com", "Jane", "", "", "", "gold", " ",
                      options={"clear_empty": ("last_name", "plan", "seats")})
    assert record.errors == []
    assert record.cleared == ("last_name", "custom:seats")
    assert validate("jane@example.com", "Jane", "", "", "", "", "").cleared == ()


@pytest.mark.parametrize("name", ["Marketing;VIP", "* myContacts", "* starred"])
def test_a_label_no_cell_could_name_cannot_be_a_label(name: str) -> None:
    from plugin.catalog import CatalogProblem, checked_names

    with pytest.raises(CatalogProblem):
        checked_names([name], what="label")
    assert checked_names(["VIP;Gold"], what="team") == ["VIP;Gold"]  # teams are not split on ";"
