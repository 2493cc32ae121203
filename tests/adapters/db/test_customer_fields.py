"""Customers' active flag, account type, creation time and external id against real databases, on SQLite and on
PostgreSQL: Wifox CRM's clients imported, imported again with changed emails, and undone."""

from __future__ import annotations

import io

from sqlalchemy import Engine, select

from adapters.db.catalog import ensure_teams, utc_now
from adapters.db.export import export_customers
from adapters.db.models import contacts
from plugin.report import Status
from plugin.services import Services
from plugin.services.undo import Actor
from tests.catalog import add_company

WIFOX = "ID,First Name,Last Name,Email,Project,Desk,Active,Type,Created\n"
JOHN = "666c2c2f32735479fd3e9a5c,John,Doe,{email},{project},{desk},True,Personal,2024-06-13T15:06:02.802Z\n"
EMMA = "66829b2e43c91e3ce480b6c4,Emma,Smith,{email},{project},{desk},False,Personal,2024-07-01T07:33:52.343Z\n"


def run(services: Services, csv_text: str, **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file("customers", io.BytesIO(csv_text.encode()), file_name="wifox.csv",
                                        actor="tester", options={"external_source": "wifox", **options})


def customers(engine: Engine) -> dict[str, dict[str, object]]:
    headers, rows = export_customers(engine)
    return {str(row[1]).lower(): dict(zip(headers, row, strict=True)) for row in rows}


def wifox_file(engine: Engine, *, john: str = "john.doe@example.com", emma: str = "emma.smith@example.com") -> str:
    """Two Wifox clients in a project (our company Acme, by its id) and a desk (our team Support, by name)."""
    company = add_company(engine, "Acme") if not _has_company(engine) else 1
    return WIFOX + JOHN.format(email=john, project=company, desk="Support") + EMMA.format(
        email=emma, project=company, desk="Support")


def _has_company(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT count(*) FROM companies").scalar_one() > 0


def with_support_team(engine: Engine) -> None:
    with engine.begin() as connection:
        ensure_teams(connection, ["Support"], now=utc_now())


def test_wifox_clients_are_stored_with_their_status_type_creation_time_and_wifox_id(services: Services,
                                                                                      engine: Engine) -> None:
    with_support_team(engine)
    report = run(services, wifox_file(engine))
    assert (report.status, report.created, report.errors) == (Status.SUCCEEDED, 2, [])
    emma = customers(engine)["emma.smith@example.com"]
    assert {name: emma[name] for name in ("active", "type", "created_at", "external_id", "external_source",
                                          "company", "groups")} == {
        "active": "false", "type": "personal", "created_at": "2024-07-01T07:33:52.343Z",
        "external_id": "66829b2e43c91e3ce480b6c4", "external_source": "wifox", "company": "Acme", "groups": "Support"}
    assert run(services, wifox_file(engine)).unchanged == 2  # read back as written: nothing to change


def test_a_new_customer_without_the_columns_is_active_and_created_now(services: Services, engine: Engine) -> None:
    before = utc_now()
    run(services, "email,first_name\nann@example.com,Ann\n")
    ann = customers(engine)["ann@example.com"]
    assert (ann["active"], ann["type"], ann["external_id"]) == ("true", "", "")
    assert str(ann["created_at"]) >= before.strftime("%Y-%m-%dT%H:%M")


def test_a_reimport_by_external_id_updates_the_customer_whose_email_changed(services: Services, engine: Engine) -> None:
    with_support_team(engine)
    run(services, wifox_file(engine))
    report = run(services, wifox_file(engine, emma="emma.jones@example.com"))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    stored = customers(engine)
    assert "emma.smith@example.com" not in stored
    assert (stored["emma.jones@example.com"]["external_id"], len(stored)) == ("66829b2e43c91e3ce480b6c4", 2)


def test_a_reimport_by_external_id_onto_another_customers_email_fails_naming_row_and_column(
        services: Services, engine: Engine) -> None:
    with_support_team(engine)
    run(services, wifox_file(engine))
    report = run(services, wifox_file(engine, emma="john.doe@example.com"))
    assert [(error.row, error.column, error.code) for error in report.errors] == [(3, "Email", "email.taken")]
    assert customers(engine)["emma.smith@example.com"]["external_id"] == "66829b2e43c91e3ce480b6c4"  # kept


def test_an_id_of_ours_no_customer_has_fails_the_row_and_creates_nobody(services: Services, engine: Engine) -> None:
    report = run(services, "id,email,first_name\n424242,zoe@example.com,Zoë\n")
    assert [(error.row, error.column, error.code) for error in report.errors] == [(2, "id", "id.unknown")]
    assert (report.created, customers(engine)) == (0, {})


def test_undo_puts_back_the_status_type_creation_time_and_external_id(services: Services, engine: Engine) -> None:
    run(services, "email,first_name,type,created_at,external_id\n"
                  "ann@example.com,Ann,business,13/06/2024,A-1\n")
    before = customers(engine)["ann@example.com"]
    report = run(services, "email,active,type,created_at,external_id\n"
                           "ann@example.com,inactive,personal,2020-01-02T03:04:05Z,A-2\n", external_source="hubspot")
    changed = customers(engine)["ann@example.com"]
    assert (changed["active"], changed["type"], changed["created_at"], changed["external_id"],
            changed["external_source"]) == ("false", "personal", "2020-01-02T03:04:05Z", "A-2", "hubspot")
    result = services.undo.undo(report.job, Actor("admin@example.com", "admin"))
    assert result.tally.restored == 1
    assert customers(engine)["ann@example.com"] == before
    assert before["created_at"] == "2024-06-13T00:00:00Z" and before["active"] == "true"


def test_an_inactive_customer_stays_inactive_when_a_file_leaves_the_flag_out(services: Services,
                                                                            engine: Engine) -> None:
    assert run(services, "email,first_name,active\nann@example.com,Ann,no\n").created == 1
    assert run(services, "email,first_name\nann@example.com,Annie\n").updated == 1
    with engine.connect() as connection:
        assert connection.execute(select(contacts.c.active)).scalar_one() is False


def test_leads_have_the_customers_new_fields(services: Services, engine: Engine) -> None:
    services.imports.import_file("leads", io.BytesIO(b"email,first_name,active,type,created,external id\n"
                                                     b"lea@example.org,Lea,false,business,2024-07-05,L-9\n"))
    headers, rows = services.imports.export("leads")
    [lea] = [dict(zip(headers, row, strict=True)) for row in rows]
    assert (lea["active"], lea["type"], lea["created_at"], lea["external_id"], lea["external_source"]) == (
        "false", "business", "2024-07-05T00:00:00Z", "L-9", "crm")
