"""Leads: a kind of its own, registered through the hook as a declaration plus its storage. A lead is a contact
marked as a lead; importing the same email as a customer later turns it into a customer, one record, history kept."""

from __future__ import annotations

import io

from plugin.report import Status
from plugin.services import Services

LEADS_FILE = b"Email,First Name,Last Name\nann@example.com,Ann,Lee\nbob@example.com,Bob,Stone\n"


def emails(services: Services, kind: str) -> list[str]:
    headers, rows = services.imports.export(kind)
    return [row[headers.index("email")] for row in rows]  # type: ignore[misc]


def test_leads_import_and_export_apart_from_customers(services: Services) -> None:
    report = services.imports.import_file("leads", io.BytesIO(LEADS_FILE), file_name="leads.csv")
    assert (report.status, report.created) == (Status.SUCCEEDED, 2)
    assert emails(services, "leads") == ["ann@example.com", "bob@example.com"]
    assert emails(services, "customers") == []
    headers, _ = services.imports.export("leads")
    assert headers == services.imports.export("customers")[0]  # the customers' fields


def test_the_leads_template_has_the_customers_fields(services: Services) -> None:
    assert next(iter(services.imports.template("leads"))) == next(iter(services.imports.template("customers")))


def test_a_later_customers_import_of_a_leads_email_makes_the_lead_a_customer_with_its_history(
        services: Services) -> None:
    leads = services.imports.import_file("leads", io.BytesIO(LEADS_FILE), file_name="leads.csv")
    customers = services.imports.import_file(
        "customers", io.BytesIO(b"email,first_name,last_name\nANN@example.com,Ann,Lee-Park\n"), file_name="c.csv")
    assert (customers.created, customers.updated) == (0, 1)
    assert emails(services, "leads") == ["bob@example.com"]
    assert emails(services, "customers") == ["ann@example.com"]
    _headers, rows = services.imports.export("customers")
    customer_id = next(rows)[0]
    view = services.records.customer(customer_id)  # type: ignore[arg-type]
    assert view is not None
    assert [change.change.job_id for change in view.history.items] == [customers.job, leads.job]


def test_a_leads_import_of_a_customers_email_leaves_them_a_customer(services: Services) -> None:
    services.imports.import_file("customers", io.BytesIO(b"email,first_name\nann@example.com,Ann\n"), file_name="c.csv")
    report = services.imports.import_file("leads", io.BytesIO(LEADS_FILE), file_name="leads.csv")
    assert (report.created, report.updated) == (1, 1)
    assert emails(services, "customers") == ["ann@example.com"]
    assert emails(services, "leads") == ["bob@example.com"]
