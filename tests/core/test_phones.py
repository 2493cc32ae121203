"""Phone numbers: parsed into E.164 in the import's region, impossible ones refused naming the value, each text parsed once."""

from __future__ import annotations

import pytest

from plugin.kinds import Catalog
from plugin.kinds.customers import CUSTOMERS
from plugin.mapping import suggest_mapping
from plugin.phones import InvalidPhone, _phone_verdict, is_known_region, normalize_phone
from plugin.read import SourceRow
from plugin.report import neutralize_cell
from plugin.validate import RowValidator


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("+44 7700 900123", "GB", "+447700900123"),
        ("+447700900123", "US", "+447700900123"),  # an international number ignores the region
        ("07700 900123", "GB", "+447700900123"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(020) 7946-0958", "gb", "+442079460958"),  # any case of region
        ("00 44 7700 900123", "GB", "+447700900123"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "GB", "+14155552671"),
        ("030 1234567", "DE", "+49301234567"),
        ("  +44  7700   900123  ", "GB", "+447700900123"),
    ],
)
def test_a_phone_number_is_stored_in_e164_read_in_the_region_when_it_has_no_prefix(text: str, region: str, e164: str) -> None:
    assert normalize_phone(text, region) == e164


@pytest.mark.parametrize(
    ("text", "region", "message"),
    [
        ("123", "GB", "'123' is not a possible phone number (numbers without a +country prefix are read as GB numbers)."),
        ("call me", "GB", "'call me' is not a phone number."),
        ("+999 123", "GB", "'+999 123' is not a phone number."),
        ("+44 7700 900123 / 020 7946 0958", "GB", "'+44 7700 900123 / 020 7946 0958' is not a phone number."),
        ("+44 20 7946 0958 ext. 12", "GB", ("'+44 20 7946 0958 ext. 12' has an extension, which a stored number "
                                            "(E.164) cannot keep; put the extension in another column.")),
    ],
)
def test_an_impossible_number_is_refused_naming_the_value(text: str, region: str, message: str) -> None:
    with pytest.raises(InvalidPhone) as refused:
        normalize_phone(text, region)
    assert str(refused.value) == message


@pytest.mark.parametrize(("region", "is_known"), [("GB", True), ("us", True), ("DE", True), ("ZZ", False), ("UK", False), ("", False)])
def test_regions_are_two_letter_codes_phonenumbers_knows(region: str, is_known: bool) -> None:
    assert is_known_region(region) is is_known


def validate(csv_rows: list[tuple[str, ...]], headers: tuple[str, ...] = ("email", "first_name", "phone", "mobile"),
             **options: object):  # type: ignore[no-untyped-def]
    validator = RowValidator(CUSTOMERS, suggest_mapping(CUSTOMERS, headers), Catalog(), options, {})
    return [validator.validate(SourceRow(number, cells)) for number, cells in enumerate(csv_rows, start=2)]


def test_a_customer_rows_phones_are_stored_in_e164_in_the_imports_region() -> None:
    (gb,) = validate([("jane@example.com", "Jane", "020 7946 0958", "07700 900123")], region="GB")
    (us,) = validate([("raj@example.com", "Raj", "(415) 555-2671", "")], region="US")
    assert (gb.values["phone"], gb.values["mobile"], gb.errors) == ("+442079460958", "+447700900123", [])
    assert us.values["phone"] == "+14155552671"


def test_an_impossible_phone_is_a_row_error_naming_the_column_and_the_value_and_nothing_is_kept() -> None:
    (record,) = validate([("jane@example.com", "Jane", "12", "not a number")], headers=("email", "first_name", "Tel", "Cell"))
    assert [(error.row, error.column, error.code) for error in record.errors] == [(2, "Tel", "phone.invalid"),
                                                                                   (2, "Cell", "phone.invalid")]
    assert "'12'" in record.errors[0].message and "'not a number'" in record.errors[1].message
    assert "phone" not in record.values and "mobile" not in record.values


def test_a_phone_cell_starting_with_plus_is_a_number_not_a_formula() -> None:
    (record,) = validate([("jane@example.com", "Jane", "+44 7700 900123", "")])
    assert (record.errors, record.values["phone"]) == ([], "+447700900123")


def test_an_exported_phone_is_neutralised_for_spreadsheets_and_reads_back_as_the_same_number() -> None:
    exported = neutralize_cell("+447700900123")
    assert exported == "'+447700900123"
    (record,) = validate([("jane@example.com", "Jane", exported, "")])
    assert (record.errors, record.values["phone"]) == ([], "+447700900123")


def test_each_distinct_number_is_parsed_once_however_many_rows_repeat_it() -> None:
    _phone_verdict.cache_clear()
    validate([(f"person{number}@example.com", "P", "020 7946 0958", "+44 7700 900123") for number in range(500)])
    info = _phone_verdict.cache_info()
    assert (info.misses, info.hits) == (2, 998)
