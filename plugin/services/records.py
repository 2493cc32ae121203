"""Customers and companies for the admin pages: search them, and one customer with where they came from and what
the imports did to them. Reached as services.records."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugin.display import Names
from plugin.ports.records import CompanyLine, Customer, CustomerLine, CustomerQuery, RecordChange
from plugin.services.shown import Page, ShownChange, names_for, shown_changes

if TYPE_CHECKING:
    from plugin.services import Services

PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from: an import (its number) or mail (its mailbox), in words and with a link target."""

    text: str  # "Imported by import 7", "Captured from mail to mailbox support (folder INBOX)"
    job_id: int | None = None
    mailbox: str | None = None


@dataclass(frozen=True, slots=True)
class ShownRecordChange:
    """What one import did to a record, as people read it."""

    change: RecordChange
    changes: tuple[ShownChange, ...]


@dataclass(frozen=True, slots=True)
class CustomerView:
    """The customer's page: the customer, where they came from, and a page of what imports did to them."""

    customer: Customer
    origin: Origin
    history: Page[ShownRecordChange]


class Records:
    """The customers' and companies' use cases; reached as services.records."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def find_customers(self, query: CustomerQuery, *, page: int = 1, per_page: int = PER_PAGE) -> Page[CustomerLine]:
        number = max(page, 1)
        with self.services.unit_of_work() as work:
            found = work.records.find_customers(query, offset=(number - 1) * per_page, limit=per_page + 1)
        return Page.cut(found, number, per_page)

    def find_companies(self, text: str = "", *, page: int = 1, per_page: int = PER_PAGE) -> Page[CompanyLine]:
        number = max(page, 1)
        with self.services.unit_of_work() as work:
            found = work.records.find_companies(text, offset=(number - 1) * per_page, limit=per_page + 1)
        return Page.cut(found, number, per_page)

    def labels(self) -> list[str]:
        """Every label's name, for the customers search's choice of label."""
        with self.services.unit_of_work() as work:
            return [name for _, name in work.catalog.list_labels()]

    def customer(self, customer_id: int, *, page: int = 1, per_page: int = PER_PAGE) -> CustomerView | None:
        """The customer's page, or None when there is no such customer."""
        number = max(page, 1)
        secrets = self.services.kinds["customers"].secret_names if "customers" in self.services.kinds else frozenset()
        with self.services.unit_of_work() as work:
            customer = work.records.customer(customer_id)
            if customer is None:
                return None
            changes = work.records.changes_of("customers", customer_id, offset=(number - 1) * per_page,
                                              limit=per_page + 1)
            names = names_for(work, "customers", (), [change for found in changes for change in found.changes])
        shown = [ShownRecordChange(found, shown_changes(found.changes, names, secrets)) for found in changes]
        return CustomerView(customer, origin_of(customer), Page.cut(shown, number, per_page))

    def names(self, kind: str, record_ids: Iterable[int], changes: Iterable[Mapping[str, object]] = ()) -> Names:
        """The names a page needs for these records (email and name; a company's name) and the ids in changes."""
        with self.services.unit_of_work() as work:
            return names_for(work, kind, list(record_ids), list(changes))


def origin_of(customer: Customer) -> Origin:
    """'Imported by import 7' or 'Captured from mail to mailbox support'; from the customer's source."""
    if customer.source == "mail":
        try:
            detail = json.loads(customer.source_detail or "{}")
        except ValueError:
            detail = {}
        mailbox = str(detail.get("mailbox") or "") if isinstance(detail, dict) else ""
        folder = str(detail.get("folder") or "") if isinstance(detail, dict) else ""
        where = f"mailbox {mailbox}" + (f" (folder {folder})" if folder else "") if mailbox else "a mailbox"
        return Origin(f"Captured from mail to {where}", mailbox=mailbox or None)
    job_id = customer.first_import
    if job_id is None and customer.source_detail and customer.source_detail.startswith("import "):
        number = customer.source_detail.removeprefix("import ").strip()
        job_id = int(number) if number.isdigit() else None
    if customer.source == "import" and job_id is not None:
        return Origin(f"Imported by import {job_id}", job_id=job_id)
    return Origin("Added in the helpdesk" if customer.source == "manual" else f"Source: {customer.source}")
