"""The command line for companies, company by domain and phone regions, on a real SQLite file."""

from __future__ import annotations

import csv
import io

from tests.adapters.cli.test_cli import Cli, ok, run  # noqa: F401  (run is the fixture)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_companies_are_imported_exported_and_place_customers_by_domain(run: Cli) -> None:  # noqa: F811
    ok(run("fields", "add", "industry", "--type", "choice", "--choices", "retail,banking", "--for", "companies"))
    assert ok(run("template", "companies")).splitlines()[0] == "name,domains,external_id,external_source,industry"
    companies = run.file("companies.csv", b"name,domains,industry\nAcme Ltd,acme.com:acme.co.uk,retail\n")
    preview = run("import", "companies", companies, "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert "Would import 1 company: 1 created" in preview.stdout and "row 2: created" in preview.stdout
    assert ok(run("export", "companies")).splitlines() == ["id,name,domains,external_id,external_source,industry"]
    ok(run("import", "companies", companies))
    assert rows_of(ok(run("export", "companies"))) == [
        {"id": "1", "name": "Acme Ltd", "domains": "acme.co.uk:acme.com", "external_id": "",
         "external_source": "", "industry": "retail"}]
    ok(run.import_(b"email,first_name\nnew@acme.com,New\n"))
    assert run.customers()["new@acme.com"]["company"] == "Acme Ltd"


def test_assign_by_domain_prints_who_would_join_and_then_does_it(run: Cli) -> None:  # noqa: F811
    ok(run.import_(b"email,first_name\nold@acme.com,Old\nfree@gmail.com,Free\n"))
    ok(run("import", "companies", run.file("companies.csv", b"name,domains\nAcme Ltd,acme.com\n")))
    dry = run("companies", "assign-by-domain", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == "1\told@acme.com\t1\tAcme Ltd\n"
    assert "1 customer would join a company" in dry.stderr
    assert run.customers()["old@acme.com"]["company"] == ""
    ok(run("companies", "assign-by-domain"))
    assert run.customers()["old@acme.com"]["company"] == "Acme Ltd"


def test_region_reads_numbers_without_a_prefix_and_an_unknown_region_is_a_usage_error(run: Cli) -> None:  # noqa: F811
    data = b"email,first_name,phone\njane@example.com,Jane,(415) 555-2671\n"
    bad = run.import_(data, "--region", "XX")
    assert bad.exit_code == 2 and "'XX' is not a region" in bad.output
    ok(run.import_(data, "--region", "us"))
    assert run.customers()["jane@example.com"]["phone"] == "'+14155552671"  # the export's text marker


def test_create_companies_and_create_groups_are_import_options(run: Cli) -> None:  # noqa: F811
    data = b"email,first_name,company,groups\njane@example.com,Jane,Initech,Billing\n"
    failed = run.import_(data)
    assert failed.exit_code == 1 and "[company.unknown]" in failed.stdout and "[groups.unknown]" in failed.stdout
    ok(run.import_(data, "--create-companies", "--create-groups"))
    jane = run.customers()["jane@example.com"]
    assert (jane["company"], jane["groups"], jane["username"]) == ("Initech", "Billing", "jane")
