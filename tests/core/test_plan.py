"""Records + what is stored → each row created, updated, unchanged or failed, with its changes."""

from __future__ import annotations

import pytest

from plugin.errors import RowError
from plugin.kinds import Catalog, CustomField, FieldType
from plugin.kinds.customers import CUSTOMERS
from plugin.mapping import suggest_mapping
from plugin.plan import Action, Change, Existing, PlannedRow, plan_row
from plugin.read import SourceRow
from plugin.validate import validate_row

CATALOG = Catalog(
    label_ids={"Marketing": 1, "Trial": 2, "Demo": 3},
    companies={10: "Acme Ltd"},
    custom_fields={"plan": CustomField(1, "plan", FieldType.CHOICE, ("gold", "silver")),
                   "seats": CustomField(2, "seats", FieldType.NUMBER)},
)
HEADERS = ("id", "Email", "first_name", "last_name", "company_id", "labels", "plan", "seats")

JANE = Existing(
    id=1, key="jane@example.com",
    values={"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe", "company_id": 10,
            "labels": frozenset({"Marketing"})},
    custom={"plan": "gold", "seats": "3"},
)
RAJ = Existing(
    id=2, key="raj@example.org",
    values={"email": "raj@example.org", "first_name": "Raj", "last_name": None, "company_id": None,
            "labels": frozenset()},
)


def plan(*rows: tuple[str, ...], stored: tuple[Existing, ...] = (JANE, RAJ), **options: object) -> list[PlannedRow]:
    """Plan rows given as cells under HEADERS, numbered from spreadsheet row 2."""
    mapping = suggest_mapping(CUSTOMERS, HEADERS, custom_variables=tuple(CATALOG.custom_fields))
    records = [validate_row(CUSTOMERS, mapping, SourceRow(number, cells), CATALOG, options, {})
               for number, cells in enumerate(rows, start=2)]
    headers = {column.target: column.header for column in mapping.columns if column.target}
    claims: dict[str, int] = {}
    return [plan_row(CUSTOMERS, record, by_key={existing.key: existing for existing in stored},
                     by_id={existing.id: existing for existing in stored}, claims=claims, options=options, headers=headers)
            for record in records]


def one(*cells: str, **options: object) -> PlannedRow:
    (planned,) = plan(cells, **options)
    return planned


def codes(planned: PlannedRow) -> list[tuple[int, str, str]]:
    return [(error.row, error.column, error.code) for error in planned.errors]


def test_a_new_email_creates_a_customer_with_every_value() -> None:
    planned = one("", "zoe@example.com", "Zoë", "Ng", "10", "Trial", "silver", "2")
    assert planned.action is Action.CREATED
    assert planned.record_id is None
    assert planned.values == {"email": "zoe@example.com", "first_name": "Zoë", "last_name": "Ng", "company_id": 10,
                              "labels": frozenset({"Trial"})}
    assert planned.custom == {"plan": "silver", "seats": "2"}
    assert Change("first_name", None, "Zoë") in planned.changes


def test_a_known_email_with_new_values_updates_only_what_changes() -> None:
    planned = one("", "jane@example.com", "Jane", "Smith", "10", "", "silver", "3")
    assert (planned.action, planned.record_id) == (Action.UPDATED, 1)
    assert planned.values == {"last_name": "Smith"}
    assert planned.custom == {"plan": "silver"}
    assert set(planned.changes) == {Change("last_name", "Doe", "Smith"), Change("plan", "gold", "silver")}


def test_a_known_email_with_the_same_values_is_unchanged() -> None:
    planned = one("", "jane@example.com", "Jane", "Doe", "10", "Marketing", "gold", "3.0")
    assert (planned.action, planned.record_id, planned.changes) == (Action.UNCHANGED, 1, ())


def test_matching_email_updates_case_insensitively() -> None:
    planned = one("", "JANE@EXAMPLE.COM", "Janet")
    assert (planned.action, planned.record_id) == (Action.UPDATED, 1)
    assert planned.values["first_name"] == "Janet"


def test_empty_cells_never_erase_stored_values() -> None:
    planned = one("", "jane@example.com", "", "", "", "", "", "")
    assert (planned.action, planned.values, planned.custom) == (Action.UNCHANGED, {}, {})


def test_a_custom_value_the_customer_did_not_have_is_added() -> None:
    planned = one("", "raj@example.org", "", "", "", "", "gold")
    assert planned.action is Action.UPDATED
    assert planned.changes == (Change("plan", None, "gold"),)


def test_labels_are_added_to_the_existing_ones_on_update() -> None:
    planned = one("", "jane@example.com", "", "", "", "Trial:Demo")
    assert planned.values == {"labels": frozenset({"Marketing", "Trial", "Demo"})}
    assert planned.changes == (Change("labels", frozenset({"Marketing"}), frozenset({"Marketing", "Trial", "Demo"})),)


def test_labels_already_there_leave_the_customer_unchanged() -> None:
    assert one("", "jane@example.com", "", "", "", "Marketing").action is Action.UNCHANGED


def test_labels_replace_the_existing_ones_when_asked() -> None:
    planned = one("", "jane@example.com", "", "", "", "Trial:Demo", replace_labels=True)
    assert planned.values == {"labels": frozenset({"Trial", "Demo"})}


def test_replacing_labels_with_the_same_labels_is_unchanged() -> None:
    assert one("", "jane@example.com", "", "", "", "Marketing", replace_labels=True).action is Action.UNCHANGED


def test_an_empty_labels_cell_keeps_the_labels_even_when_replacing() -> None:
    assert one("", "jane@example.com", "", "", "", "", replace_labels=True).action is Action.UNCHANGED


def test_a_new_customer_needs_a_first_name() -> None:
    planned = one("", "new@example.com", "", "Ng")
    assert planned.action is Action.FAILED
    assert codes(planned) == [(2, "first_name", "first_name.required")]
    assert planned.errors[0].message == "A new customer needs a first name; this cell is empty."


def test_an_existing_customer_needs_no_first_name() -> None:
    assert one("", "raj@example.org", "", "Patel").action is Action.UPDATED


def test_a_row_with_cell_errors_fails_with_them() -> None:
    planned = one("", "jane@", "Jane")
    assert planned.action is Action.FAILED
    assert codes(planned) == [(2, "Email", "email.invalid")]
    assert planned.cells == ("", "jane@", "Jane")


def test_the_same_email_twice_fails_the_later_rows_naming_the_first() -> None:
    rows = plan(("", "new@example.com", "First"), ("", "other@example.com", "Other"),
                ("", "NEW@example.com", "Second"), ("", "new@EXAMPLE.com", "Third"))
    assert [row.action for row in rows] == [Action.CREATED, Action.CREATED, Action.FAILED, Action.FAILED]
    assert [codes(row) for row in rows[2:]] == [[(4, "Email", "email.duplicate_in_file")],
                                                [(5, "Email", "email.duplicate_in_file")]]
    assert [row.errors[0].message for row in rows[2:]] == [
        "NEW@example.com is a duplicate of row 2; only the first is applied.",
        "new@example.com is a duplicate of row 2; only the first is applied.",  # domain normalised
    ]


def test_a_duplicate_of_an_existing_customer_names_the_first_row_too() -> None:
    rows = plan(("", "jane@example.com", "Janet"), ("", "Jane@Example.com", "Janine"))
    assert [row.action for row in rows] == [Action.UPDATED, Action.FAILED]
    assert "duplicate of row 2" in rows[1].errors[0].message


def test_a_failed_first_row_does_not_make_a_later_twin_a_duplicate() -> None:
    rows = plan(("", "new@example.com", "=cmd"), ("", "new@example.com", "Zoë"))
    assert [row.action for row in rows] == [Action.FAILED, Action.CREATED]


def test_a_known_id_is_the_key_so_an_exported_file_can_change_an_email() -> None:
    planned = one("1", "jane.doe@example.net", "Jane")
    assert (planned.action, planned.record_id, planned.key) == (Action.UPDATED, 1, "jane.doe@example.net")
    assert planned.values == {"email": "jane.doe@example.net"}


def test_an_id_no_customer_has_fails_the_row_instead_of_creating_one() -> None:
    planned = one("999", "new@example.com", "Janet")
    assert (planned.action, codes(planned)) == (Action.FAILED, [(2, "id", "id.unknown")])
    assert "There is no customer with id 999" in planned.errors[0].message


def test_an_id_of_another_system_in_our_id_column_fails_the_row_and_points_at_external_id() -> None:
    planned = one("CRM-0042", "new@example.com", "Zoë")
    assert codes(planned) == [(2, "id", "id.invalid")]
    assert "external_id" in planned.errors[0].message


def test_changing_an_email_to_one_another_customer_has_fails() -> None:
    planned = one("1", "raj@example.org", "Jane")
    assert planned.action is Action.FAILED
    assert codes(planned) == [(2, "Email", "email.taken")]
    assert "(id 2)" in planned.errors[0].message


def test_the_same_id_twice_fails_the_later_row() -> None:
    rows = plan(("1", "jane@example.com", "Jane"), ("1", "jane.doe@example.net", "Jane"))
    assert [row.action for row in rows] == [Action.UNCHANGED, Action.FAILED]
    assert "duplicate of row 2" in rows[1].errors[0].message


def test_a_row_already_written_by_this_import_is_not_a_duplicate_of_itself() -> None:
    resumed = Existing(id=1, key="jane@example.com", values=JANE.values, custom=JANE.custom, claimed_by_row=2)
    (planned,) = plan(("", "jane@example.com", "Jane"), stored=(resumed,))
    assert planned.action is Action.UNCHANGED


def test_a_row_matching_a_customer_an_earlier_batch_wrote_is_a_duplicate_of_that_row() -> None:
    written = Existing(id=1, key="jane@example.com", values=JANE.values, custom=JANE.custom, claimed_by_row=3)
    rows = plan(("", "x@example.com", "X"), ("", "y@example.com", "Y"), ("", "z@example.com", "Z"),
                ("", "jane@example.com", "Jane"), stored=(written,))
    assert rows[3].action is Action.FAILED
    assert rows[3].errors[0] == RowError(5, "Email", "email.duplicate_in_file",
                                         "jane@example.com is a duplicate of row 3; only the first is applied.")


@pytest.mark.parametrize(
    ("cells", "action"),
    [
        (("", "jane@example.com", "Jane", "Doe", "10", "Marketing", "gold", "3"), Action.UNCHANGED),
        (("", "jane@example.com", "Jane", "Doe", "", "", "", ""), Action.UNCHANGED),
        (("", "jane@example.com", "Jane", "Doe", "10", "Trial", "", ""), Action.UPDATED),
        (("", "jane@example.com", "", "", "", "", "", "4"), Action.UPDATED),
        (("", "jane@example.com", "", "", "99", "", "", ""), Action.FAILED),
        (("", "new@example.com", "Zoë", "", "", "", "", ""), Action.CREATED),
        (("", "new@example.com", "", "", "", "", "", ""), Action.FAILED),
        (("", "", "Zoë", "", "", "", "", ""), Action.FAILED),
    ],
)
def test_each_row_gets_one_of_four_fates(cells: tuple[str, ...], action: Action) -> None:
    assert one(*cells).action is action
