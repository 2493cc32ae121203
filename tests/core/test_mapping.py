"""Headers → fields: exact names, aliases, fuzzy guesses, --map overrides, and the columns left out."""

from __future__ import annotations

import pytest

from plugin.errors import BadFile
from plugin.kinds.customers import CUSTOMERS
from plugin.mapping import (MatchedBy, check_chosen_mapping, normalize_header, parse_overrides, require_key_column,
                            suggest_mapping)

# Outlook's "Export to a file → Comma Separated Values" header row.
OUTLOOK_HEADERS = (
    "First Name,Middle Name,Last Name,Title,Suffix,Nickname,Given Yomi,Surname Yomi,E-mail Address,"
    "E-mail 2 Address,E-mail 3 Address,Home Phone,Home Phone 2,Business Phone,Business Phone 2,Mobile Phone,"
    "Car Phone,Other Phone,Primary Phone,Pager,Business Fax,Home Fax,Other Fax,Company Main Phone,Callback,"
    "Radio Phone,Telex,TTY/TDD Phone,IMAddress,Job Title,Department,Company,Office Location,Manager's Name,"
    "Assistant's Name,Assistant's Phone,Company Yomi,Business Street,Business City,Business State,"
    "Business Postal Code,Business Country/Region,Home Street,Home City,Home State,Home Postal Code,"
    "Home Country/Region,Other Street,Other City,Other State,Other Postal Code,Other Country/Region,"
    "Personal Web Page,Spouse,Schools,Hobby,Location,Web Page,Birthday,Anniversary,Notes"
).split(",")

# Google Contacts' "Export → Google CSV" header row.
GOOGLE_HEADERS = (
    "Name,Given Name,Additional Name,Family Name,Yomi Name,Given Name Yomi,Additional Name Yomi,"
    "Family Name Yomi,Name Prefix,Name Suffix,Initials,Nickname,Short Name,Maiden Name,Birthday,Gender,"
    "Location,Billing Information,Directory Server,Mileage,Occupation,Hobby,Sensitivity,Priority,Subject,Notes,"
    "Language,Photo,Group Membership,E-mail 1 - Type,E-mail 1 - Value,E-mail 2 - Type,E-mail 2 - Value,"
    "Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,Address 1 - Type,Address 1 - Formatted,"
    "Address 1 - Street,Address 1 - City,Address 1 - PO Box,Address 1 - Region,Address 1 - Postal Code,"
    "Address 1 - Country,Address 1 - Extended Address,Organization 1 - Type,Organization 1 - Name,"
    "Organization 1 - Yomi Name,Organization 1 - Title,Organization 1 - Department,Organization 1 - Symbol,"
    "Organization 1 - Location,Organization 1 - Job Description,Website 1 - Type,Website 1 - Value"
).split(",")


def targets_of(mapping) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {column.header: column.target for column in mapping.columns if column.target}


@pytest.mark.parametrize(
    ("header", "normalized"),
    [
        ("E-mail Address", "emailaddress"),
        ("First_Name", "firstname"),
        ("  first name  ", "firstname"),
        ("FIRST-NAME", "firstname"),
        ("\ufeffemail", "email"),
        ("e.mail", "email"),
    ],
)
def test_headers_are_compared_ignoring_case_spaces_dashes_underscores_and_dots(header: str, normalized: str) -> None:
    assert normalize_header(header) == normalized


@pytest.mark.parametrize(
    ("header", "field", "matched_by"),
    [
        ("email", "email", MatchedBy.EXACT),
        ("EMAIL", "email", MatchedBy.EXACT),
        ("first_name", "first_name", MatchedBy.EXACT),
        ("First Name", "first_name", MatchedBy.EXACT),
        ("first-name", "first_name", MatchedBy.EXACT),
        ("FirstName", "first_name", MatchedBy.EXACT),
        ("firstName", "first_name", MatchedBy.EXACT),
        ("Given Name", "first_name", MatchedBy.ALIAS),
        ("Last Name", "last_name", MatchedBy.EXACT),
        ("Surname", "last_name", MatchedBy.ALIAS),
        ("Family Name", "last_name", MatchedBy.ALIAS),
        ("E-mail Address", "email", MatchedBy.ALIAS),
        ("E-mail 1 - Value", "email", MatchedBy.ALIAS),
        ("Email Address", "email", MatchedBy.ALIAS),
        ("Company ID", "company_id", MatchedBy.EXACT),
        ("Labels", "labels", MatchedBy.EXACT),
        ("Tags", "labels", MatchedBy.ALIAS),
        ("labels_id", "labels_id", MatchedBy.EXACT),
        ("Label IDs", "labels_id", MatchedBy.ALIAS),
        ("E-mail Adress", "email", MatchedBy.FUZZY),  # one letter short of an alias
        ("Last Nme", "last_name", MatchedBy.FUZZY),
    ],
)
def test_a_header_finds_its_field(header: str, field: str, matched_by: MatchedBy) -> None:
    mapping = suggest_mapping(CUSTOMERS, [header])
    (column,) = mapping.columns
    assert (column.target, column.matched_by) == (field, matched_by)


def test_a_fuzzy_match_says_what_it_guessed_and_how_sure_it_is() -> None:
    (column,) = suggest_mapping(CUSTOMERS, ["E-mail Adress"]).columns
    assert column.note == "looks like email"
    assert 90 <= column.confidence < 100


def test_a_weak_resemblance_is_applied_only_when_a_person_confirms_suggestions() -> None:
    assert suggest_mapping(CUSTOMERS, ["Emial"]).columns[0].target is None
    assert suggest_mapping(CUSTOMERS, ["Emial"], fuzzy_cutoff=75).columns[0].target == "email"


def test_a_company_column_holds_the_companys_name_not_its_id() -> None:
    assert suggest_mapping(CUSTOMERS, ["Company"]).columns[0].target == "company"
    assert suggest_mapping(CUSTOMERS, ["Company ID"]).columns[0].target == "company_id"


def test_a_custom_field_column_is_headed_by_its_variable_name() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["email", "Plan", "renewal-date"], custom_variables=("plan", "renewal_date"))
    assert targets_of(mapping) == {"email": "email", "Plan": "custom:plan", "renewal-date": "custom:renewal_date"}


OUTLOOK_TARGETS = {"E-mail Address": "email", "First Name": "first_name", "Middle Name": "middle_name",
                   "Last Name": "last_name", "Business Phone": "phone", "Mobile Phone": "mobile", "Company": "company"}
GOOGLE_TARGETS = {"E-mail 1 - Value": "email", "Given Name": "first_name", "Additional Name": "middle_name",
                  "Family Name": "last_name", "Phone 1 - Value": "phone", "Organization 1 - Name": "company",
                  "Group Membership": "labels"}


def test_an_outlook_export_maps_email_names_phones_and_company_and_nothing_else() -> None:
    mapping = suggest_mapping(CUSTOMERS, OUTLOOK_HEADERS)
    assert len(OUTLOOK_HEADERS) > 40
    assert targets_of(mapping) == OUTLOOK_TARGETS
    assert all(column.matched_by in (MatchedBy.EXACT, MatchedBy.ALIAS) for column in mapping.columns if column.target)


def test_a_google_contacts_export_maps_email_names_phone_company_and_groups_and_nothing_else() -> None:
    mapping = suggest_mapping(CUSTOMERS, GOOGLE_HEADERS)
    assert len(GOOGLE_HEADERS) > 40
    assert targets_of(mapping) == GOOGLE_TARGETS
    assert all(column.matched_by in (MatchedBy.EXACT, MatchedBy.ALIAS) for column in mapping.columns if column.target)


def test_the_first_phone_column_of_an_outlook_export_wins_and_the_next_one_says_so() -> None:
    mapping = suggest_mapping(CUSTOMERS, OUTLOOK_HEADERS)
    notes = {column.header: column.note for column in mapping.ignored}
    assert notes["Primary Phone"] == "phone is already taken by 'Business Phone'"
    assert notes["Home Phone"] == "matches no field"


@pytest.mark.parametrize(("headers", "targets"), [(OUTLOOK_HEADERS, OUTLOOK_TARGETS), (GOOGLE_HEADERS, GOOGLE_TARGETS)],
                         ids=["outlook", "google"])
def test_every_column_of_an_export_is_either_mapped_or_listed_as_ignored_with_a_reason(
        headers: list[str], targets: dict[str, str]) -> None:
    mapping = suggest_mapping(CUSTOMERS, headers)
    assert [column.header for column in mapping.columns] == headers
    assert len(mapping.ignored) == len(headers) - len(targets)
    assert all(column.note for column in mapping.ignored)


@pytest.mark.parametrize(
    ("header", "field"),
    [("Phone", "phone"), ("Telephone", "phone"), ("Tel.", "phone"), ("Primary Phone", "phone"),
     ("Business Phone", "phone"), ("Phone 1 - Value", "phone"), ("Mobile", "mobile"), ("Mobile Phone", "mobile"),
     ("Mobile Number", "mobile"), ("Cell", "mobile"), ("middleName", "middle_name"), ("Middle Name", "middle_name"),
     ("Additional Name", "middle_name"), ("Group Membership", "labels"), ("Groups", "groups"),
     ("Client Teams", "groups"), ("Company Name", "company"), ("User Name", "username")],
)
def test_the_new_customer_columns_find_their_fields(header: str, field: str) -> None:
    (column,) = suggest_mapping(CUSTOMERS, [header]).columns
    assert column.target == field


def test_a_second_column_for_a_taken_field_is_ignored_naming_the_column_that_took_it() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["E-mail Address", "email", "Notes"])
    assert targets_of(mapping) == {"email": "email"}
    assert {column.header: column.note for column in mapping.ignored} == {
        "E-mail Address": "email is already taken by 'email'",
        "Notes": "matches no field",
    }


def test_a_map_override_wins_over_the_automatic_match() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["email", "Work Mail"], chosen={"Work Mail": "email"})
    assert targets_of(mapping) == {"Work Mail": "email"}
    assert mapping.columns[1].matched_by is MatchedBy.CHOSEN


def test_a_map_override_matches_headers_and_fields_loosely() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["email", "Vorname"], chosen={"vorname": "First Name"})
    assert targets_of(mapping) == {"email": "email", "Vorname": "first_name"}


def test_a_map_override_can_name_a_custom_field() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["email", "Tier"], custom_variables=("plan",), chosen={"Tier": "custom:plan"})
    assert targets_of(mapping) == {"email": "email", "Tier": "custom:plan"}


def test_an_empty_map_override_ignores_the_column() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["email", "First Name"], chosen=parse_overrides(["First Name="]))
    assert targets_of(mapping) == {"email": "email"}
    (ignored,) = mapping.ignored
    assert (ignored.header, ignored.matched_by, ignored.note) == ("First Name", MatchedBy.CHOSEN, "ignored as asked")


@pytest.mark.parametrize(
    ("chosen", "code"),
    [
        ({"Phone": "first_name"}, "mapping.unknown_column"),
        ({"email": "favourite_colour"}, "mapping.unknown_field"),
        ({"email": "email", "Mail": "email"}, "mapping.twice"),
    ],
)
def test_a_map_override_that_cannot_apply_rejects_the_file(chosen: dict[str, str], code: str) -> None:
    with pytest.raises(BadFile) as rejected:
        suggest_mapping(CUSTOMERS, ["email", "Mail"], chosen=chosen)
    assert rejected.value.code == code


def test_an_unknown_field_message_lists_the_fields() -> None:
    with pytest.raises(BadFile, match=r"There is no field 'favourite_colour' to map to; fields are: email, first_name"):
        suggest_mapping(CUSTOMERS, ["email"], chosen={"email": "favourite_colour"})


@pytest.mark.parametrize(
    ("pairs", "parsed"),
    [
        (["Work Mail=email"], {"Work Mail": "email"}),
        ([" Vorname = first_name "], {"Vorname": "first_name"}),
        (["Notes="], {"Notes": ""}),
        (["a=b=email"], {"a=b": "email"}),  # the last '=' separates: headers may hold one
    ],
)
def test_map_options_are_parsed_into_header_field_pairs(pairs: list[str], parsed: dict[str, str]) -> None:
    assert parse_overrides(pairs) == parsed


@pytest.mark.parametrize("pair", ["email", "=email", " =email"])
def test_a_map_option_without_a_header_is_refused(pair: str) -> None:
    with pytest.raises(BadFile) as rejected:
        parse_overrides([pair])
    assert rejected.value.code == "mapping.invalid"


def test_a_file_without_an_email_column_is_rejected() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["First Name", "Last Name", "Phone"])
    with pytest.raises(BadFile) as rejected:
        require_key_column(CUSTOMERS, mapping)
    assert rejected.value.code == "file.no_email_column"
    assert "First Name, Last Name, Phone" in rejected.value.message


def test_a_file_whose_email_column_was_ignored_on_purpose_is_rejected() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["email", "First Name"], chosen={"email": ""})
    with pytest.raises(BadFile) as rejected:
        require_key_column(CUSTOMERS, mapping)
    assert rejected.value.code == "file.no_email_column"


def test_a_file_with_an_email_alias_column_is_accepted() -> None:
    require_key_column(CUSTOMERS, suggest_mapping(CUSTOMERS, ["E-mail Address"]))


# ---- fuzzy matches are checked against the column's values; one mapping check for every surface

GOOGLE_ROW = {"Given Name": "Ann", "Family Name": "Lee", "E-mail 1 - Value": "ann@example.com",
              "Organization 1 - Name": "Acme", "Organization 1 - Title": "Sales Manager"}


def google_samples() -> list[tuple[str, ...]]:
    return [tuple(GOOGLE_ROW.get(header, "") for header in GOOGLE_HEADERS)]


def test_a_fuzzy_match_never_maps_a_column_to_an_id_field_whose_values_it_does_not_hold() -> None:
    # "Organization 1 - Title" looks 81 % like the alias "organization id" of company_id
    mapping = suggest_mapping(CUSTOMERS, GOOGLE_HEADERS, samples=google_samples(), fuzzy_cutoff=75)
    assert targets_of(mapping).get("Organization 1 - Title") is None
    assert "company_id" not in targets_of(mapping).values()


def test_a_fuzzy_match_of_a_typed_field_is_made_when_the_values_parse_as_its_type() -> None:
    mapping = suggest_mapping(CUSTOMERS, ["email", "Organization Title"], samples=[("a@example.com", "12")],
                              fuzzy_cutoff=75)
    assert targets_of(mapping)["Organization Title"] == "company_id"


def test_the_mapping_check_lists_every_problem_in_the_words_the_import_refuses_with() -> None:
    headers = ["Given Name", "Famly Name", "Notes"]
    problems = check_chosen_mapping(CUSTOMERS, headers, {"Given Name": "first_name", "Famly Name": "first_name",
                                                         "Notes": "favourite_colour"})
    assert [problem.code for problem in problems] == ["mapping.twice", "mapping.unknown_field", "file.no_email_column"]
    for problem in problems[:2]:
        with pytest.raises(BadFile) as refused:
            suggest_mapping(CUSTOMERS, headers, chosen={"Given Name": "first_name", "Famly Name": "first_name",
                                                        "Notes": "favourite_colour"})
        assert refused.value.message == problems[0].message
    assert check_chosen_mapping(CUSTOMERS, ["email", "Given Name"], {"email": "email", "Given Name": ""}) == []
