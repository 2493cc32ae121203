"""Wifox's projects and desks against real databases, on SQLite and on PostgreSQL: imported with the create options
they become one company and one team holding their Wifox ids, which keep matching after an admin renames them."""

from __future__ import annotations

import io

from sqlalchemy import Engine, Table, select

from adapters.db.companies import export_companies
from adapters.db.export import export_customers
from adapters.db.models import companies, teams
from plugin.report import Status
from plugin.services import Services

PROJECT, DESK = "66524609caa3558dd8f8da65", "67a346ad8092c651c919337e"
WIFOX = f"""ID,First Name,Last Name,Email,Project,Desk,Active,Type,Created
666c2c2f32735479fd3e9a5c,John,Doe,john.doe@example.com,{PROJECT},{DESK},True,Personal,2024-06-13T15:06:02.802Z
66829b2e43c91e3ce480b6c4,Emma,Smith,emma.smith@example.com,{PROJECT},{DESK},False,Personal,2024-07-01T07:33:52.343Z
668787f6def210c1fcfa2c92,Michael,Brown,michael.brown@example.com,{PROJECT},{DESK},True,Personal,2024-07-05T05:29:59.572Z
"""


def run(services: Services, csv_text: str, kind: str = "customers", **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file(kind, io.BytesIO(csv_text.encode()), file_name="wifox.csv", actor="tester",
                                        options=options)


def stored(engine: Engine, table: Table) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(table.c.id, table.c.name, table.c.external_source,
                   table.c.external_id).order_by(table.c.id))]


def customers(engine: Engine) -> dict[str, tuple[object, object]]:
    headers, rows = export_customers(engine)
    return {str(row[1]): (row[headers.index("company")], row[headers.index("groups")]) for row in rows}


def test_repeated_wifox_ids_make_one_company_and_one_team_that_keep_matching_after_a_rename(
        services: Services, engine: Engine) -> None:
    report = run(services, WIFOX, external_source="wifox", create_companies=True, create_groups=True)
    assert (report.status, report.created, report.errors) == (Status.SUCCEEDED, 3, [])
    [(company_id, _, *company_external)] = stored(engine, companies)
    [(team_id, _, *team_external)] = stored(engine, teams)
    assert (company_external, team_external) == (["wifox", PROJECT], ["wifox", DESK])

    renamed = run(services, f"id,name\n{company_id},Acme\n", "companies")  # an export of companies, renamed
    assert renamed.updated == 1
    assert services.teams.rename(DESK, "Support EU").external_id == DESK

    again = run(services, WIFOX, external_source="wifox", create_companies=True, create_groups=True)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 3, 0)
    assert stored(engine, companies) == [(company_id, "Acme", "wifox", PROJECT)]
    assert stored(engine, teams) == [(team_id, "Support EU", "wifox", DESK)]
    assert set(customers(engine).values()) == {("Acme", "Support EU")}


def test_without_the_create_options_each_row_fails_naming_the_project_and_desk_columns(
        services: Services, engine: Engine) -> None:
    report = run(services, WIFOX, external_source="wifox")
    assert (report.created, report.failed) == (0, 3)
    assert sorted((error.row, error.column, error.code) for error in report.errors) == [
        (row, column, code) for row in (2, 3, 4) for column, code in (("Desk", "groups.unknown"),
                                                                       ("Project", "company.unknown"))]
    assert stored(engine, companies) == [] and stored(engine, teams) == []


def test_a_company_named_by_name_is_created_without_an_external_id(services: Services, engine: Engine) -> None:
    report = run(services, "email,first_name,company,groups\nann@example.com,Ann,Initech,Billing\n",
                 create_companies=True, create_groups=True)
    assert report.created == 1
    assert [row[1:] for row in stored(engine, companies)] == [("Initech", None, None)]
    assert [row[1:] for row in stored(engine, teams)] == [("Billing", None, None)]


def test_a_companies_file_with_wifox_ids_renames_the_company_holding_that_id(services: Services, engine: Engine) -> None:
    assert run(services, f"name,external_id\nAcme,{PROJECT}\n", "companies", external_source="wifox").created == 1
    renamed = run(services, f"name,external_id\nAcme Europe,{PROJECT}\n", "companies", external_source="wifox")
    assert (renamed.created, renamed.updated) == (0, 1)
    [(company_id, *company)] = stored(engine, companies)
    assert company == ["Acme Europe", "wifox", PROJECT]
    report = run(services, WIFOX, external_source="wifox", create_groups=True)  # the project is known: no option
    assert (report.created, report.failed) == (3, 0)
    assert {company for company, _ in customers(engine).values()} == {"Acme Europe"}


def test_an_exported_companies_file_imports_back_unchanged(services: Services, engine: Engine) -> None:
    run(services, WIFOX, external_source="wifox", create_companies=True, create_groups=True)
    run(services, "name\nInitech\n", "companies")
    headers, rows = export_companies(engine)
    exported = "\n".join(",".join(str(cell) for cell in row) for row in [headers, *rows]) + "\n"
    report = run(services, exported, "companies")
    assert (report.unchanged, report.created, report.updated, report.failed) == (2, 0, 0, 0)


def test_a_companies_file_gives_a_company_it_matches_by_name_its_wifox_id(services: Services, engine: Engine) -> None:
    run(services, "name\nAcme\n", "companies")
    assert run(services, f"name,external_id\nACME,{PROJECT}\n", "companies", external_source="wifox").updated == 1
    assert [row[1:] for row in stored(engine, companies)] == [("Acme", "wifox", PROJECT)]
    assert run(services, f"name,external_id\nAcme,{PROJECT}\n", "companies", external_source="hubspot").updated == 1
    assert [row[1:] for row in stored(engine, companies)] == [("Acme", "hubspot", PROJECT)]
