"""Customers' phones, middle names, usernames, company by name and by domain, and groups, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from sqlalchemy import Engine, select

from adapters.db.agents import agent_teams
from adapters.db.catalog import ensure_teams, utc_now
from tests.catalog import add_company, add_custom_field, add_labels
from adapters.db.export import export_customers
from adapters.db.models import companies, contacts, customer_teams, teams
from plugin.kinds import FieldType
from plugin.plan import Action
from plugin.report import Status, write_csv
from plugin.services import Services
from tests.adapters.db.test_customers_import import count, customers, run
from tests.core.test_mapping import GOOGLE_HEADERS, OUTLOOK_HEADERS


def errors_of(report) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    return [(error.row, error.column, error.code) for error in report.errors]


def import_companies(services: Services, csv_text: str, **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file("companies", io.BytesIO(csv_text.encode()), file_name="companies.csv", actor="tester",
                                **options)  # type: ignore[arg-type]


def fillers(count_: int, domain: str = "example.net") -> str:
    """Rows that push what follows into a later batch (the fixture writes batches of 7)."""
    return "".join(f"filler{number}@{domain},F{number}\n" for number in range(count_))


# ---- phones


def test_phones_are_stored_and_exported_in_e164_read_in_the_imports_region(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name,Business Phone,Mobile Phone\n"
                           "jane@example.com,Jane,020 7946 0958,07700 900123\n"
                           "raj@example.org,Raj,+1 (415) 555-2671,\n")
    assert (report.created, report.failed) == (2, 0)
    found = customers(engine)
    assert (found["jane@example.com"]["phone"], found["jane@example.com"]["mobile"]) == ("+442079460958", "+447700900123")
    assert (found["raj@example.org"]["phone"], found["raj@example.org"]["mobile"]) == ("+14155552671", "")
    run(services, "email,first_name,phone\nann@example.com,Ann,(415) 555-0000\n", options={"region": "US"})
    assert customers(engine)["ann@example.com"]["phone"] == "+14155550000"


def test_an_impossible_phone_fails_its_row_naming_the_value_and_stores_nothing(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name,Tel,Cell\nok@example.com,Ok,,\njane@example.com,Jane,020 7946 0958,12345\n")
    assert errors_of(report) == [(3, "Cell", "phone.invalid")]
    assert "'12345'" in report.errors[0].message
    assert set(customers(engine)) == {"ok@example.com"}


def test_a_changed_phone_updates_and_the_same_number_written_otherwise_is_unchanged(services: Services, engine: Engine) -> None:
    run(services, "email,first_name,phone\njane@example.com,Jane,020 7946 0958\n")
    same = run(services, "email,phone\njane@example.com,+44 (0)20 7946-0958\n")
    changed = run(services, "email,phone\njane@example.com,+44 20 7946 0000\n")
    assert (same.unchanged, changed.updated) == (1, 1)
    assert customers(engine)["jane@example.com"]["phone"] == "+442079460000"


def test_an_export_neutralises_phones_and_negative_numbers_and_reimports_all_unchanged(services: Services, engine: Engine) -> None:
    add_labels(engine, ["Marketing", "-1"])
    add_custom_field(engine, "balance", FieldType.NUMBER)
    add_company(engine, "Acme Ltd")
    with engine.begin() as connection:
        ensure_teams(connection, ["Billing"], now=utc_now())
    run(services, "email,first_name,middle_name,last_name,username,phone,mobile,company,labels,groups,balance\n"
                  "jane@example.com,Jane,Q,Doe,jdoe,+44 20 7946 0958,07700 900123,acme ltd,Marketing,Billing,-3.50\n"
                  "raj@example.org,Raj,,,,,,,-1,,12\n")
    headers, rows = export_customers(engine)
    exported = "".join(write_csv(headers, rows))
    lines = {row[headers.index("email")]: row for row in csv.reader(io.StringIO(exported))}
    jane = dict(zip(headers, lines["jane@example.com"], strict=True))
    assert (jane["phone"], jane["mobile"], jane["balance"]) == ("'+442079460958", "'+447700900123", "'-3.5")
    assert (jane["middle_name"], jane["username"], jane["company"], jane["groups"]) == ("Q", "jdoe", "Acme Ltd", "Billing")
    assert dict(zip(headers, lines["raj@example.org"], strict=True))["labels"] == "'-1"
    report = run(services, exported)
    assert (report.rows, report.unchanged, report.failed) == (2, 2, 0)


def test_the_outlook_and_google_exports_import_without_help(services: Services, engine: Engine) -> None:
    add_company(engine, "Acme Ltd")
    add_labels(engine, ["Friends", "VIP"])
    outlook = dict.fromkeys(OUTLOOK_HEADERS, "")
    outlook.update({"First Name": "Jane", "Middle Name": "Q", "Last Name": "Doe", "E-mail Address": "jane@example.com",
                    "Home Phone": "01632 960000", "Business Phone": "020 7946 0958", "Mobile Phone": "07700 900123",
                    "Company": "ACME LTD"})
    google = dict.fromkeys(GOOGLE_HEADERS, "")
    google.update({"Given Name": "Raj", "Additional Name": "K", "Family Name": "Patel", "E-mail 1 - Value": "raj@example.org",
                   "Phone 1 - Value": "+1 415 555 2671", "Group Membership": "* myContacts ::: Friends ::: VIP"})
    for headers, row in ((OUTLOOK_HEADERS, outlook), (GOOGLE_HEADERS, google)):
        buffer = io.StringIO()
        csv.writer(buffer).writerows([headers, [row[header] for header in headers]])
        report = run(services, buffer.getvalue())
        assert (report.created, report.failed) == (1, 0), report.errors
    found = customers(engine)
    jane, raj = found["jane@example.com"], found["raj@example.org"]
    assert (jane["middle_name"], jane["phone"], jane["mobile"], jane["company"]) == ("Q", "+442079460958", "+447700900123", "Acme Ltd")
    assert (raj["middle_name"], raj["phone"], raj["labels"]) == ("K", "+14155552671", "Friends:VIP")


# ---- usernames and middle names


def test_a_new_customer_gets_a_unique_username_from_the_email(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name,middle_name\njane@example.com,Jane,Quinn\nJane@example.org,Jane,\n"
                           + fillers(8) + "jane+news@example.net,Jane,\n")
    assert report.failed == 0
    found = customers(engine)
    assert [found[email]["username"] for email in ("jane@example.com", "jane@example.org", "jane+news@example.net")] == [
        "jane", "jane2", "jane3"]
    assert found["jane@example.com"]["middle_name"] == "Quinn"


def test_a_given_username_is_kept_and_another_customers_is_a_row_error(services: Services, engine: Engine) -> None:
    run(services, "email,first_name,username\njane@example.com,Jane,JD\n")
    report = run(services, "email,first_name,username\nraj@example.org,Raj,jd\njane@example.com,Jane,jd\n")
    assert errors_of(report) == [(2, "username", "username.taken")]
    assert report.unchanged == 1
    assert customers(engine)["jane@example.com"]["username"] == "jd"


def test_a_generated_username_steps_around_one_given_later_in_the_same_batch(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name,username\njane@example.com,Jane,\nraj@example.org,Raj,jane\n")
    assert report.failed == 0
    found = customers(engine)
    assert (found["jane@example.com"]["username"], found["raj@example.org"]["username"]) == ("jane2", "jane")


# ---- company by name and by domain


def test_a_company_is_named_in_any_case_and_an_unknown_one_needs_create_companies(services: Services, engine: Engine) -> None:
    acme = add_company(engine, "Acme Ltd")
    report = run(services, "email,first_name,company\njane@example.com,Jane,ACME ltd\nraj@example.org,Raj,Initech\n")
    assert errors_of(report) == [(3, "company", "company.unknown")]
    assert customers(engine)["jane@example.com"]["company_id"] == acme
    report = run(services, "email,first_name,company\nraj@example.org,Raj,Initech\n" + fillers(8)
                 + "ann@example.org,Ann,initech\n", options={"create_companies": True})
    assert (report.created, report.failed) == (10, 0)
    with engine.connect() as connection:
        initech = connection.execute(select(companies.c.id)
                                     .where(companies.c.name_key == "initech")).scalar_one()
    found = customers(engine)
    assert found["raj@example.org"]["company_id"] == found["ann@example.org"]["company_id"] == initech


def test_a_new_customer_joins_the_company_owning_their_domain_but_free_mail_and_existing_ones_do_not(
        services: Services, engine: Engine) -> None:
    run(services, "email,first_name\nold@acme.com,Old\n")
    assert import_companies(services, "name,domains\nAcme Ltd,acme.com:acme.co.uk\n").created == 1
    preview = run(services, "email,first_name\njane@ACME.co.uk,Jane\nraj@gmail.com,Raj\nold@acme.com,Old\n", dry_run=True)
    rows = services.history.row_results(preview.job)
    assert {"field": "company_id", "old": None, "new": 1} in rows[0]["changes"]
    assert count(engine, contacts) == 1
    run(services, "email,first_name\njane@ACME.co.uk,Jane\nraj@gmail.com,Raj\nold@acme.com,Old\n")
    found = customers(engine)
    acme = found["jane@acme.co.uk"]["company_id"]
    assert (acme, found["raj@gmail.com"]["company_id"], found["old@acme.com"]["company_id"]) == (1, "", "")


def test_assign_by_domain_places_existing_customers_and_a_dry_run_only_says_who(services: Services, engine: Engine) -> None:
    run(services, "email,first_name\nold@acme.com,Old\nfree@gmail.com,Free\nother@example.org,Other\n")
    import_companies(services, "name,domains\nAcme Ltd,acme.com:gmail.co\n")
    would = services.catalog.assign_companies_by_domain(dry_run=True)
    assert [(item.email, item.company_name) for item in would] == [("old@acme.com", "Acme Ltd")]
    assert customers(engine)["old@acme.com"]["company_id"] == ""
    done = services.catalog.assign_companies_by_domain()
    assert [item.email for item in done] == ["old@acme.com"]
    assert customers(engine)["old@acme.com"]["company"] == "Acme Ltd"
    assert services.catalog.assign_companies_by_domain() == []


def test_the_free_mail_setting_keeps_a_domain_from_placing_anyone(services: Services, engine: Engine) -> None:
    import_companies(services, "name,domains\nAcme Ltd,acme.com\n")
    run(services, "email,first_name\njane@acme.com,Jane\n", options={"free_mail_domains": ("acme.com",)})
    assert customers(engine)["jane@acme.com"]["company_id"] == ""


# ---- groups


def test_groups_link_customers_to_the_agents_teams_and_unknown_ones_need_create_groups(services: Services, engine: Engine) -> None:
    agents = services.imports.import_file("users", io.BytesIO(b"email,first_name,teams\nagent@example.com,Al,Billing\n"),
                                  options={"create_teams": True, "no_invitations": True})
    assert agents.created == 1
    report = run(services, "email,first_name,groups\njane@example.com,Jane,Billing\nraj@example.org,Raj,Billing:VIP\n")
    assert errors_of(report) == [(3, "groups", "groups.unknown")]
    report = run(services, "email,first_name,groups\nraj@example.org,Raj,Billing:VIP\n", options={"create_groups": True})
    assert report.created == 1
    with engine.connect() as connection:
        team_ids = dict(connection.execute(select(teams.c.name, teams.c.id)).all())
        linked = connection.execute(select(contacts.c.email, teams.c.name)
                                    .join(customer_teams, customer_teams.c.contact_id == contacts.c.id)
                                    .join(teams, teams.c.id == customer_teams.c.team_id)
                                    .order_by(contacts.c.email, teams.c.name)).all()
        agents_team_ids = connection.execute(select(agent_teams.c.team_id)).scalars().all()
    assert set(team_ids) == {"Billing", "VIP"}
    assert [tuple(row) for row in linked] == [("jane@example.com", "Billing"), ("raj@example.org", "Billing"),
                                              ("raj@example.org", "VIP")]
    assert agents_team_ids == [team_ids["Billing"]]  # one Billing team, shared


def test_groups_are_added_on_update(services: Services, engine: Engine) -> None:
    with engine.begin() as connection:
        ensure_teams(connection, ["Billing", "Tier 1"], now=utc_now())
    run(services, "email,first_name,groups\njane@example.com,Jane,Billing\n")
    report = run(services, "email,groups\njane@example.com,Tier 1\n")
    assert report.updated == 1
    assert customers(engine)["jane@example.com"]["groups"] == "Billing:Tier 1"


def test_a_dry_run_shows_the_parsed_phone_and_writes_nothing(services: Services, engine: Engine) -> None:
    add_company(engine, "Acme Ltd")
    report = run(services, "email,first_name,company,phone\njane@example.com,Jane,Acme Ltd,020 7946 0958\n", dry_run=True)
    assert (report.status, report.created) == (Status.DRY_RUN, 1)
    (row,) = services.history.row_results(report.job)
    assert row["action"] == str(Action.CREATED)
    assert {"field": "phone", "old": None, "new": "+442079460958"} in row["changes"]
    assert count(engine, contacts) == 0
