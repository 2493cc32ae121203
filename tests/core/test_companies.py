"""Companies and customers' new columns in the core: domains, company by domain, company names, groups, Google's groups, usernames."""

from __future__ import annotations

import pytest

from plugin.companies import company_for_email, company_name_key, parse_domains
from plugin.kinds import Catalog, CellProblem
from plugin.kinds.companies import COMPANIES, CompanyCatalog
from plugin.kinds.customers import CUSTOMERS
from plugin.mapping import suggest_mapping
from plugin.plan import Action, Change, Existing, PlannedRow, plan_row
from plugin.read import SourceRow
from plugin.validate import RowValidator

DOMAINS = {"acme.com": 10, "acme.co.uk": 10, "globex.de": 20}


def catalog() -> Catalog:
    return Catalog(label_ids={"VIP": 1, "Friends": 2}, companies={10: "Acme Ltd", 20: "Globex GmbH"},
                   company_keys={"acme ltd": 10, "globex gmbh": 20}, company_domains=dict(DOMAINS),
                   teams={"Billing": 1, "Tier 1": 2})


@pytest.mark.parametrize(
    ("email", "company"),
    [
        ("jane@acme.com", 10),
        ("Jane@ACME.co.uk", 10),
        ("raj@globex.de", 20),
        ("zoe@sales.acme.com", None),  # a subdomain is another domain
        ("zoe@example.org", None),
        ("zoe@gmail.com", None),
    ],
)
def test_an_address_belongs_to_the_company_owning_its_domain(email: str, company: int | None) -> None:
    assert company_for_email(email, DOMAINS) == company


@pytest.mark.parametrize("domain", ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com",
                                    "gmx.de", "web.de", "proton.me", "yandex.ru", "qq.com"])
def test_a_free_mail_domain_never_makes_a_customer_a_companys_even_when_a_company_lists_it(domain: str) -> None:
    assert company_for_email(f"someone@{domain}", {domain: 10}) is None


def test_the_free_mail_setting_adds_domains_to_the_shipped_list() -> None:
    assert company_for_email("jane@acme.com", DOMAINS, extra_free_mail=("acme.com",)) is None
    assert company_for_email("jane@acme.co.uk", DOMAINS, extra_free_mail=("acme.com",)) == 10


@pytest.mark.parametrize(
    ("cell", "domains"),
    [
        ("acme.com", ("acme.com",)),
        ("Acme.COM:acme.co.uk", ("acme.com", "acme.co.uk")),
        (" acme.com : acme.com. ", ("acme.com",)),
        ("bücher.de", ("xn--bcher-kva.de",)),
    ],
)
def test_domains_are_split_on_colons_lowercased_and_stored_in_idna(cell: str, domains: tuple[str, ...]) -> None:
    assert parse_domains(cell) == domains


@pytest.mark.parametrize("cell", ["localhost", "acme..com", "-acme.com", "jane@acme.com", "acme.com:not a domain"])
def test_a_domain_no_address_could_use_is_a_cell_problem(cell: str) -> None:
    with pytest.raises(CellProblem) as problem:
        parse_domains(cell)
    assert problem.value.code == "domains.invalid"


def test_a_company_name_key_ignores_case_and_extra_spaces() -> None:
    assert company_name_key("  ACME   Ltd ") == company_name_key("acme ltd") == "acme ltd"


# ---- the companies import's checks


def validate_companies(rows: list[tuple[str, ...]], headers: tuple[str, ...] = ("name", "domains"),
                       **options: object):  # type: ignore[no-untyped-def]
    base = catalog()
    company_catalog = CompanyCatalog(companies=base.companies, company_keys=base.company_keys,
                                     company_domains=base.company_domains,
                                     domain_claims={domain: f"id:{company}" for domain, company in DOMAINS.items()})
    validator = RowValidator(COMPANIES, suggest_mapping(COMPANIES, headers), company_catalog, options, {})
    return [validator.validate(SourceRow(number, cells)) for number, cells in enumerate(rows, start=2)]


def codes(record) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    return [(error.row, error.column, error.code) for error in record.errors]


def test_a_company_keeps_its_own_domains_on_re_import_whatever_the_case_of_its_name() -> None:
    (record,) = validate_companies([("ACME LTD", "acme.com:acme.io")])
    assert (record.key, record.values["domains"], record.errors) == ("acme ltd", frozenset({"acme.com", "acme.io"}), [])


def test_a_domain_another_company_owns_is_a_row_error_naming_the_owner() -> None:
    (record,) = validate_companies([("Initech", "initech.com:globex.de")], headers=("Company", "Domain"))
    assert codes(record) == [(2, "Domain", "domains.taken")]
    assert "globex.de already belongs to the company Globex GmbH (id 20)" in record.errors[0].message


def test_a_domain_claimed_by_an_earlier_row_of_the_file_is_a_row_error() -> None:
    first, second = validate_companies([("Initech", "initech.com"), ("Hooli", "hooli.com:initech.com")])
    assert (codes(first), codes(second)) == ([], [(3, "domains", "domains.taken")])
    assert "initech.com already belongs to the company initech (earlier in this file)" in second.errors[0].message


def test_a_free_mail_domain_cannot_be_a_companys() -> None:
    (record,) = validate_companies([("Initech", "initech.com:gmail.com")])
    assert codes(record) == [(2, "domains", "domains.free_mail")]


def test_renaming_a_company_by_its_id_keeps_its_domains_its_own() -> None:
    (record,) = validate_companies([("10", "Acme Group", "acme.com")], headers=("id", "name", "domains"))
    assert (record.errors, record.values["id"]) == ([], 10)


# ---- customers: company by name, company by domain, groups, Google's groups, usernames


HEADERS = ("email", "first_name", "company", "company_id", "labels", "groups", "username")


def plan_customers(rows: list[tuple[str, ...]], *, stored: tuple[Existing, ...] = (),
                   owners: dict[str, dict[object, str]] | None = None, **options: object) -> list[PlannedRow]:
    mapping = suggest_mapping(CUSTOMERS, HEADERS)
    rows_catalog = catalog()
    validator = RowValidator(CUSTOMERS, mapping, rows_catalog, options, {})
    headers = {column.target: column.header for column in mapping.columns if column.target}
    claims: dict[str, int] = {}
    return [plan_row(CUSTOMERS, validator.validate(SourceRow(number, cells)), by_key={e.key: e for e in stored},
                     by_id={e.id: e for e in stored}, claims=claims, options=options, headers=headers,
                     catalog=rows_catalog, owners=owners)
            for number, cells in enumerate(rows, start=2)]


def customer(email: str, *, company: str = "", company_id: str = "", labels: str = "", groups: str = "",
             username: str = "") -> tuple[str, ...]:
    return (email, "Jane", company, company_id, labels, groups, username)


def test_a_new_customer_without_a_company_joins_the_company_of_their_domain_and_the_preview_shows_it() -> None:
    (planned,) = plan_customers([customer("jane@Acme.com")])
    assert planned.action is Action.CREATED
    assert planned.values["company_id"] == 10
    assert Change("company_id", None, 10) in planned.changes


@pytest.mark.parametrize(
    ("row", "company_id"),
    [
        (customer("jane@gmail.com"), None),  # free mail: nobody's
        (customer("jane@example.org"), None),  # no company owns it
        (customer("jane@acme.com", company="Globex GmbH"), 20),  # the file's company wins
        (customer("jane@acme.com", company_id="20"), 20),
    ],
)
def test_company_by_domain_never_overrides_the_file_or_matches_free_mail(row: tuple[str, ...], company_id: int | None) -> None:
    (planned,) = plan_customers([row])
    assert planned.values.get("company_id") == company_id


def test_an_existing_customer_is_never_moved_to_a_company_by_domain() -> None:
    stored = Existing(1, "jane@acme.com", {"email": "jane@acme.com", "first_name": "Jane", "company_id": None})
    (planned,) = plan_customers([customer("jane@acme.com")], stored=(stored,))
    assert (planned.action, planned.values) == (Action.UNCHANGED, {})


def test_a_company_name_matches_any_case_and_becomes_its_id() -> None:
    (planned,) = plan_customers([customer("jane@example.org", company="  acme LTD ")])
    assert (planned.action, planned.values["company_id"]) == (Action.CREATED, 10)
    assert "company" not in planned.values


def test_an_unknown_company_name_is_a_row_error_unless_companies_may_be_created() -> None:
    (failed,) = plan_customers([customer("jane@acme.com", company="Initech")])
    assert [(error.column, error.code) for error in failed.errors] == [("company", "company.unknown")]
    (created,) = plan_customers([customer("jane@acme.com", company="Initech")], create_companies=True)
    assert (created.action, created.values["company"]) == (Action.CREATED, "Initech")
    assert "company_id" not in created.values  # the named company, not the domain's


def test_a_company_name_and_a_company_id_that_disagree_are_a_row_error() -> None:
    (planned,) = plan_customers([customer("jane@example.org", company="Acme Ltd", company_id="20")])
    assert [error.code for error in planned.errors] == ["company.mismatch"]


def test_groups_are_exact_team_names_and_unknown_ones_fail_unless_they_may_be_created() -> None:
    (known,) = plan_customers([customer("jane@example.org", groups="Billing:Tier 1")])
    assert known.values["groups"] == frozenset({"Billing", "Tier 1"})
    (unknown,) = plan_customers([customer("jane@example.org", groups="billing")])
    assert [error.code for error in unknown.errors] == ["groups.unknown"]
    assert "did you mean 'Billing'?" in unknown.errors[0].message
    (created,) = plan_customers([customer("jane@example.org", groups="Escalations")], create_groups=True)
    assert created.values["groups"] == frozenset({"Escalations"})


@pytest.mark.parametrize(
    ("cell", "labels"),
    [
        ("* myContacts ::: Friends ::: VIP", frozenset({"Friends", "VIP"})),
        ("* myContacts ::: * starred ::: VIP", frozenset({"VIP"})),
        ("VIP ::: * myContacts", frozenset({"VIP"})),
    ],
)
def test_googles_group_membership_becomes_labels_without_the_system_groups(cell: str, labels: frozenset[str]) -> None:
    (planned,) = plan_customers([customer("jane@example.org", labels=cell)])
    assert (planned.action, planned.values["labels"]) == (Action.CREATED, labels)


def test_googles_system_groups_alone_give_no_labels() -> None:
    (planned,) = plan_customers([customer("jane@example.org", labels="* myContacts ::: * starred")])
    assert (planned.action, "labels" in planned.values) == (Action.CREATED, False)


def test_a_username_another_customer_holds_is_a_row_error() -> None:
    (planned,) = plan_customers([customer("jane@example.org", username="Raj")], owners={"username": {"raj": "raj@example.org"}})
    assert [(error.column, error.code) for error in planned.errors] == [("username", "username.taken")]


def test_a_customer_keeps_their_own_username() -> None:
    stored = Existing(1, "jane@example.org", {"email": "jane@example.org", "first_name": "Jane", "username": "jane"})
    (planned,) = plan_customers([customer("jane@example.org", username="jane")], stored=(stored,),
                                owners={"username": {"jane": "jane@example.org"}})
    assert planned.action is Action.UNCHANGED


def test_the_same_username_twice_in_a_file_fails_the_second_row() -> None:
    first, second = plan_customers([customer("jane@example.org", username="jd"), customer("john@example.org", username="JD")])
    assert (first.action, [(error.row, error.code) for error in second.errors]) == (
        Action.CREATED, [(3, "username.duplicate_in_file")])
