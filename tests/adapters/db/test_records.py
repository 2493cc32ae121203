"""Customers and companies as the admin pages read them (services.records), on SQLite and PostgreSQL: found by
email, name, company and label a page at a time; one customer with their origin and what imports did to them."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine

from adapters.bootstrap import bootstrap
from plugin.ports import PasswordHasher
from plugin.ports.records import CustomerQuery
from plugin.report import Status
from plugin.services import Services
from plugin.settings import Settings


@pytest.fixture
def services(settings: Settings, engine: Engine, fast_hasher: PasswordHasher) -> Services:
    services = bootstrap(settings, engine=engine, hasher=fast_hasher)
    for csv_text in ("email,first_name,last_name,company,labels,groups\n"
                     "ann@example.com,Ann,Lee,Acme Ltd,VIP:Trial,Support\n"
                     "bob@example.org,Bob,Stone,Beta 100%,Trial,\n"
                     "cy@example.net,Cy,Young,,,\n",
                     "email,company\nann@example.com,Beta 100%\n"):
        report = services.imports.import_file("customers", io.BytesIO(csv_text.encode()), file_name="c.csv",
                                              actor="tester", options={"create_labels": True, "create_companies": True,
                                                                       "create_groups": True})
        assert report.status is Status.SUCCEEDED, report.as_dict()
    return services


def emails(services: Services, query: CustomerQuery, **paging: int) -> list[str]:
    return [line.email for line in services.records.find_customers(query, **paging).items]


def test_customers_are_found_by_email_name_company_and_label(services):
    assert emails(services, CustomerQuery()) == ["ann@example.com", "bob@example.org", "cy@example.net"]
    assert emails(services, CustomerQuery("LEE")) == ["ann@example.com"]
    assert emails(services, CustomerQuery("bob stone")) == ["bob@example.org"]
    assert emails(services, CustomerQuery(company="100%")) == ["ann@example.com", "bob@example.org"]
    assert emails(services, CustomerQuery(company="0_")) == []  # % and _ are characters, not wildcards
    assert emails(services, CustomerQuery(label="VIP")) == ["ann@example.com"]


def test_pages_know_whether_another_page_follows(services):
    first = services.records.find_customers(CustomerQuery(), page=1, per_page=2)
    last = services.records.find_customers(CustomerQuery(), page=2, per_page=2)
    assert (len(first.items), first.has_next, [line.email for line in last.items], last.has_next) == (
        2, True, ["cy@example.net"], False)
    full = services.records.find_customers(CustomerQuery(), page=1, per_page=3)
    assert (len(full.items), full.has_next) == (3, False)


def test_a_customer_has_their_origin_and_the_changes_of_each_import_newest_first(services):
    ann = services.records.find_customers(CustomerQuery("ann@")).items[0]
    view = services.records.customer(ann.id)
    assert (view.customer.company, view.customer.labels, view.customer.groups) == ("Beta 100%", ("Trial", "VIP"),
                                                                                   ("Support",))
    first, second = sorted({change.change.job_id for change in view.history.items})
    assert (view.origin.job_id, view.origin.text) == (first, f"Imported by import {first}")
    newest = view.history.items[0]
    assert (newest.change.job_id, newest.change.action) == (second, "updated")
    assert [(change.field, change.old, change.new) for change in newest.changes] == [("company", "Acme Ltd", "Beta 100%")]
    assert services.records.customer(10**6) is None


def test_companies_are_found_by_name_with_their_customer_counts(services):
    found = services.records.find_companies("beta")
    assert [(line.name, line.customers) for line in found.items] == [("Beta 100%", 2)]
    assert [line.name for line in services.records.find_companies().items] == ["Acme Ltd", "Beta 100%"]
