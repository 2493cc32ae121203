"""Customers and companies as the admin pages read them: found by email, name, company or label, one customer
with everything about them, and the per-row results of the imports that touched a record."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """What the customers list is searched by; empty parts match everyone."""

    text: str = ""  # in the email or the name
    company: str = ""  # in the company's name
    label: str = ""  # a label's exact name


@dataclass(frozen=True, slots=True)
class CustomerLine:
    """One line of the customers list."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    company: str | None
    labels: tuple[str, ...]
    active: bool = True  # an inactive customer is listed as such, in words
    type: str | None = None  # the account type


@dataclass(frozen=True, slots=True)
class CompanyLine:
    """One line of the companies list."""

    id: int
    name: str
    domains: tuple[str, ...]
    customers: int


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer with everything the customer's page shows."""

    id: int
    email: str
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    username: str | None
    phone: str | None
    mobile: str | None
    company_id: int | None
    company: str | None
    labels: tuple[str, ...]
    groups: tuple[str, ...]
    custom: Mapping[str, str]
    source: str  # import, mail, manual
    source_detail: str | None  # "import 7", or the mail's JSON: mailbox, folder, Message-ID, date
    created_at: datetime  # when they were created: here, or in the system an import brought them from
    updated_at: datetime
    first_import: int | None = None  # the import that created it, when one did
    active: bool = True
    type: str | None = None  # the account type, one of the setting customer_types
    external_id: str | None = None  # their id in the system they came from (external_source)
    external_source: str | None = None


@dataclass(frozen=True, slots=True)
class RecordChange:
    """What one import (not a preview) did to a record: its row there, the action and the changes."""

    job_id: int
    kind: str
    row: int
    action: str
    changes: tuple[Mapping[str, object], ...]
    created_at: datetime
    actor: str
    file_name: str
    operation: str = "import"
    extra: Mapping[str, object] = field(default_factory=dict)


class RecordDirectory(Protocol):
    def find_customers(self, query: CustomerQuery, *, offset: int, limit: int) -> list[CustomerLine]:
        """A page of the customers matching the query, by email."""
        ...

    def find_companies(self, text: str, *, offset: int, limit: int) -> list[CompanyLine]:
        """A page of the companies whose name or a domain contains the text (any case), by name."""
        ...

    def customer(self, customer_id: int) -> Customer | None:
        ...

    def changes_of(self, kind: str, record_id: int, *, offset: int, limit: int) -> list[RecordChange]:
        """A page of the per-row results of the imports (previews left out) that wrote this record, newest first."""
        ...

    def people(self, kind: str, ids: Collection[int]) -> Mapping[int, str]:
        """Customers, agents or companies by id, as people read them (name and email; a company's name)."""
        ...

    def company_names(self, ids: Collection[int]) -> Mapping[int, str]:
        ...
