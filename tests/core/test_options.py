"""Import options: declared by each kind, read by one reader with the settings as defaults, one message per bad value."""

from __future__ import annotations

from dataclasses import fields

import pytest

from plugin.hooks import BuiltinKinds
from plugin.kinds.agents import AGENTS
from plugin.kinds.companies import COMPANIES
from plugin.kinds.customers import CUSTOMERS
from plugin.kinds.leads import LEADS
from plugin.options import ImportOptions, OptionInvalid, options_fixing, options_of, read_options
from plugin.settings import Settings

KINDS = BuiltinKinds().register_import_kinds()


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_every_declared_option_is_a_typed_field_of_import_options_with_a_label_and_help(kind) -> None:  # type: ignore[no-untyped-def]
    names = {spec.name for spec in fields(ImportOptions)}
    for option in options_of(kind):
        assert option.name in names and option.label and option.help
        assert not option.setting or hasattr(Settings(), option.setting)


def test_the_settings_are_the_defaults_of_what_was_not_given() -> None:
    settings = Settings(create_labels=True, default_labels=("Imported",), default_region="US", row_limit=7,
                        import_side_effects=True, password_min_length=9)
    options = read_options(CUSTOMERS, {"create_labels": False}, settings)
    assert (options.create_labels, options.default_labels, options.region, options.row_limit, options.side_effects,
            options.password_min_length) == (False, ("Imported",), "US", 7, True, 9)


@pytest.mark.parametrize(("raw", "value"), [(True, True), ("yes", True), ("TRUE", True), ("1", True), ("y", True),
                                            (False, False), ("no", False), ("false", False), ("0", False)])
def test_true_or_false_is_read_one_way(raw: object, value: bool) -> None:
    assert read_options(AGENTS, {"create_teams": raw}, Settings()).create_teams is value


@pytest.mark.parametrize(("kind", "given", "name", "message"), [
    (CUSTOMERS, {"region": "XX"}, "region", "'XX' is not a region; use two letters such as GB, US or DE."),
    (CUSTOMERS, {"all_or_nothing": "perhaps"}, "all_or_nothing",
     "'perhaps' is not true or false; use true/false, yes/no, y/n or 1/0."),
    (AGENTS, {"row_limit": "0"}, "row_limit", "'0' is not a whole number of at least 1."),
    (CUSTOMERS, {"defaults": ["first_name"]}, "defaults", 'Give field: value pairs, e.g. {"last_name": "Unknown"}.'),
    (CUSTOMERS, {"create_teams": True}, "create_teams", "An import of customers has no option 'create_teams'"),
    (COMPANIES, {"retry_of": 3}, "retry_of", "An import of companies has no option 'retry_of'"),
])
def test_a_bad_option_is_refused_naming_it_and_saying_why(kind, given, name, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OptionInvalid) as refused:
        read_options(kind, given, Settings())
    assert refused.value.name == name and refused.value.message.startswith(message)
    assert "--" not in refused.value.message  # each surface says where: --region, options.region, the form's label


def test_recorded_options_read_back_as_they_were_with_the_links_a_person_cannot_give() -> None:
    options = read_options(CUSTOMERS, {"create_labels": True, "default_labels": "VIP:Trial", "region": "de"}, Settings())
    again = read_options(CUSTOMERS, {**options.recorded(), "retry_of": 4, "undo_of": 2}, Settings(), is_recorded=True)
    assert again == ImportOptions(**{**options, "retry_of": 4})  # type: ignore[arg-type]
    assert (again.default_labels, again.region) == (("VIP", "Trial"), "DE")
    assert read_options(AGENTS, {"no_invitations": True}, Settings(), is_recorded=True).invitations is False


def test_an_unknown_name_error_points_at_the_option_that_lets_it_through() -> None:
    assert [option.name for option in options_fixing(CUSTOMERS, ["labels.unknown", "email.invalid"])] == ["create_labels"]
    assert [option.name for option in options_fixing(AGENTS, ["teams.unknown"])] == ["create_teams"]


# ---- columns whose empty cells clear, and values for empty cells, checked before a row is read

def _check(options: dict[str, object], defaults: dict[str, str] | None = None,
           headers: tuple[str, ...] = ("email", "first_name", "phone", "plan")) -> None:
    from plugin.kinds import Catalog, CustomField, FieldType
    from plugin.mapping import suggest_mapping
    from plugin.options import check_value_options

    catalog = Catalog(custom_fields={"plan": CustomField(1, "plan", FieldType.CHOICE, ("gold", "silver"))})
    mapping = suggest_mapping(CUSTOMERS, headers, custom_variables=("plan",))
    check_value_options(CUSTOMERS, catalog, mapping, read_options(CUSTOMERS, options, Settings()), defaults or {})


@pytest.mark.parametrize(("given", "names"), [
    ("phone,plan", ("phone", "plan")), (["phone", "plan,mobile"], ("phone", "plan", "mobile")),
    (("phone", " phone "), ("phone",)), ("", ()),
])
def test_the_columns_to_clear_are_read_from_a_list_or_names_separated_by_commas(given: object,
                                                                                names: tuple[str, ...]) -> None:
    assert read_options(CUSTOMERS, {"clear_empty": given}, Settings()).clear_empty == names


def test_empty_keeps_unless_columns_to_clear_are_named() -> None:
    assert read_options(CUSTOMERS, {}, Settings()).clear_empty == ()
    assert "clear_empty" in {option.name for option in options_of(CUSTOMERS)}


@pytest.mark.parametrize(("clear", "defaults", "code"), [
    (["email"], {}, "clear_empty.required"),
    (["first_name"], {}, "clear_empty.required"),
    (["labels"], {}, "clear_empty.not_clearable"),
    (["plans"], {}, "clear_empty.unknown_field"),
    (["mobile"], {}, "clear_empty.no_column"),
    (["plan"], {"plan": "gold"}, "clear_empty.has_default"),
    ([], {"plan": "bronze"}, "defaults.invalid"),
    ([], {"planet": "gold"}, "defaults.unknown_field"),
])
def test_what_cannot_be_cleared_or_defaulted_is_refused_naming_the_option(clear: list[str], defaults: dict[str, str],
                                                                          code: str) -> None:
    from plugin.errors import BadFile

    with pytest.raises(BadFile) as refused:
        _check({"clear_empty": clear}, defaults)
    assert refused.value.code == code
    assert refused.value.message.startswith("“Columns whose empty cells clear" if clear else "“Values for empty cells”")


def test_a_custom_field_and_a_clearable_field_with_a_column_may_be_cleared() -> None:
    _check({"clear_empty": ["phone", "plan", "custom:plan"]})
    _check({}, {"plan": "GOLD", "first_name": "Unknown"})


def test_leads_have_the_customers_options_but_no_invitation_to_the_customer_portal() -> None:
    assert {option.name for option in options_of(CUSTOMERS)} - {option.name for option in options_of(LEADS)} == {"invite"}
    with pytest.raises(OptionInvalid) as refused:
        read_options(LEADS, {"invite": True}, Settings())
    assert "no option 'invite'" in refused.value.message
