"""The catalog as its use cases keep it: labels, companies and custom fields, by name."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from plugin.kinds import CustomField, FieldType


class CatalogStore(Protocol):
    def ensure_labels(self, names: Sequence[str]) -> dict[str, int]:
        """Each label's id, creating the ones missing."""
        ...

    def list_labels(self) -> list[tuple[int, str]]:
        """(id, name) of every label, by name."""
        ...

    def company_id(self, name_key: str) -> int | None:
        """The company whose casefolded name is `name_key`."""
        ...

    def add_company(self, name: str, name_key: str) -> int:
        ...

    def list_companies(self) -> list[tuple[int, str]]:
        """(id, name) of every company, by id."""
        ...

    def custom_field_exists(self, variable: str) -> bool:
        ...

    def add_custom_field(self, variable: str, field_type: FieldType, choices: Sequence[str], applies_to: str) -> int:
        ...

    def list_custom_fields(self, applies_to: str) -> list[CustomField]:
        ...


@dataclass(frozen=True, slots=True)
class DomainAssignment:
    """A customer without a company who joins (or, in a dry run, would join) the company owning their domain."""

    contact_id: int
    email: str
    company_id: int
    company_name: str


class CompanyDomains(Protocol):
    def assign_by_domain(self, *, after_id: int, batch: int, extra_free_mail: Collection[str],
                         dry_run: bool) -> tuple[list[DomainAssignment], int | None]:
        """One batch: customers without a company (ids above after_id) join the company owning their email's
        domain (with dry_run, nothing is written). Returns them and the last id looked at; None when done."""
        ...
