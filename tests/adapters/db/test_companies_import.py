"""The companies import through the one pipeline, on SQLite and PostgreSQL: names, domains, ids, custom fields."""

from __future__ import annotations

import io

from sqlalchemy import Engine, func, select

from tests.catalog import add_company, add_custom_field, list_custom_fields
from adapters.db.companies import export_companies
from adapters.db.export import export_customers
from adapters.db.models import companies, company_domains
from plugin.kinds import FieldType
from plugin.report import Status, write_csv
from plugin.services import Services


def run(services: Services, csv_text: str, **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file("companies", io.BytesIO(csv_text.encode()), file_name="companies.csv", actor="tester",
                                **options)  # type: ignore[arg-type]


def exported_companies(engine: Engine) -> dict[str, dict[str, object]]:
    headers, rows = export_companies(engine)
    return {str(row[1]): dict(zip(headers, row, strict=True)) for row in rows}


def errors_of(report) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    return [(error.row, error.column, error.code) for error in report.errors]


def test_companies_are_created_with_their_domains(services: Services, engine: Engine) -> None:
    report = run(services, "name,domains\nAcme Ltd,Acme.com:acme.co.uk\nGlobex GmbH,globex.de\nInitech,\n")
    assert (report.status, report.created, report.failed) == (Status.SUCCEEDED, 3, 0)
    found = exported_companies(engine)
    assert {name: row["domains"] for name, row in found.items()} == {
        "Acme Ltd": "acme.co.uk:acme.com", "Globex GmbH": "globex.de", "Initech": ""}


def test_a_name_in_another_case_updates_the_company_and_domains_are_added(services: Services, engine: Engine) -> None:
    company = add_company(engine, "Acme Ltd")
    report = run(services, "Company,Domain\nACME LTD,acme.com\n")
    assert (report.created, report.updated) == (0, 1)
    again = run(services, "Company,Domain\nacme ltd,acme.io\n")
    assert again.updated == 1
    assert exported_companies(engine)["Acme Ltd"] == {"id": company, "name": "Acme Ltd", "domains": "acme.com:acme.io",
                                                      "external_id": "", "external_source": ""}
    assert run(services, "name,domains\nAcme Ltd,acme.io:acme.com\n").unchanged == 1


def test_a_domain_of_another_company_or_of_free_mail_fails_the_row(services: Services, engine: Engine) -> None:
    run(services, "name,domains\nAcme Ltd,acme.com\n")
    report = run(services, "name,domains\nGlobex,globex.de:ACME.com\nHooli,gmail.com\nInitech,initech.com\n"
                           "Umbrella,initech.com\nBad,not a domain\n")
    assert errors_of(report) == [(2, "domains", "domains.taken"), (3, "domains", "domains.free_mail"),
                                 (5, "domains", "domains.taken"), (6, "domains", "domains.invalid")]
    assert "Acme Ltd" in report.errors[0].message
    with engine.connect() as connection:
        owners = dict(connection.execute(select(company_domains.c.domain, companies.c.name).join(companies))
                      .all())
    assert owners == {"acme.com": "Acme Ltd", "initech.com": "Initech"}


def test_the_same_name_twice_in_a_file_applies_the_first(services: Services, engine: Engine) -> None:
    fillers = "".join(f"Filler {number},\n" for number in range(8))  # the twin lands in a later batch of 7
    report = run(services, f"name,domains\nAcme Ltd,acme.com\n{fillers}ACME Ltd,acme.io\n")
    assert errors_of(report) == [(11, "name", "name.duplicate_in_file")]
    assert exported_companies(engine)["Acme Ltd"]["domains"] == "acme.com"


def test_an_id_column_is_the_key_so_an_export_can_rename_companies(services: Services, engine: Engine) -> None:
    company = add_company(engine, "Acme")
    report = run(services, f"id,name,domains\n{company},Acme Group,acme.com\n")
    assert (report.created, report.updated) == (0, 1)
    assert list(exported_companies(engine)) == ["Acme Group"]
    customers_report = services.imports.import_file("customers", io.BytesIO(b"email,first_name,company\njane@example.com,Jane,acme group\n"))
    assert customers_report.created == 1


def test_companies_have_custom_fields_of_their_own(services: Services, engine: Engine) -> None:
    add_custom_field(engine, "industry", FieldType.CHOICE, ["retail", "banking"], applies_to="companies")
    add_custom_field(engine, "plan", FieldType.TEXT)  # a customers' field: not a column of companies' files
    report = run(services, "name,industry,plan\nAcme Ltd,Retail,gold\n")
    assert (report.created, report.ignored_columns) == (1, ["plan"])
    assert exported_companies(engine)["Acme Ltd"]["industry"] == "retail"
    assert "industry" not in export_customers(engine)[0]
    assert [(custom.variable, custom.applies_to) for custom in list_custom_fields(engine)] == [
        ("industry", "companies"), ("plan", "customers")]
    bad = run(services, "name,industry\nGlobex,mining\n")
    assert errors_of(bad) == [(2, "industry", "custom.not_a_choice")]


def test_a_dry_run_previews_and_writes_nothing(services: Services, engine: Engine) -> None:
    report = run(services, "name,domains\nAcme Ltd,acme.com\n", dry_run=True)
    assert (report.status, report.created) == (Status.DRY_RUN, 1)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(companies)).scalar_one() == 0


def test_more_rows_than_the_limit_reject_the_file_and_a_file_without_names_too(services: Services, engine: Engine) -> None:
    rows = "".join(f"Company {number},\n" for number in range(51))  # the fixture's row limit is 50
    assert run(services, "name,domains\n" + rows).error_code == "file.too_many_rows"
    assert run(services, "domains\nacme.com\n").error_code == "file.no_name_column"


def test_an_exported_file_reimports_unchanged(services: Services, engine: Engine) -> None:
    add_custom_field(engine, "employees", FieldType.NUMBER, applies_to="companies")
    run(services, "name,domains,employees\nAcme Ltd,acme.com:acme.co.uk,-1\nGlobex,,12\n")
    headers, rows = export_companies(engine)
    exported = "".join(write_csv(headers, rows))
    assert "'-1" in exported
    report = run(services, exported)
    assert (report.rows, report.unchanged, report.failed) == (2, 2, 0)
