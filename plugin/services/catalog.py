"""CatalogAdmin: labels, companies and custom fields, added and listed (`labels add`, `fields list`...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from plugin.catalog import KINDS_WITH_CUSTOM_FIELDS, CatalogProblem, check_custom_field, checked_names, company_name
from plugin.companies import company_name_key
from plugin.kinds import CustomField, FieldType
from plugin.ports.catalog import DomainAssignment

if TYPE_CHECKING:
    from plugin.services import Services


class CatalogAdmin:
    """The catalog's use cases; reached as services.catalog. Refusals are CatalogProblem, saying why."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def add_labels(self, names: Sequence[str]) -> dict[str, int]:
        """Create labels (exact, case-sensitive names); existing ones are left as they are. Name → id."""
        cleaned = checked_names(names, what="label")
        with self.services.unit_of_work() as work:
            ids = work.catalog.ensure_labels(cleaned)
            work.commit()
        return ids

    def list_labels(self) -> list[tuple[int, str]]:
        with self.services.unit_of_work() as work:
            return work.catalog.list_labels()

    def add_company(self, name: str) -> int:
        """Create a company and return its id; a company of that name (any case) is refused."""
        cleaned = company_name(name)
        key = company_name_key(cleaned)
        with self.services.unit_of_work() as work:
            existing = work.catalog.company_id(key)
            if existing is not None:
                raise CatalogProblem(f"A company named {cleaned!r} already exists (id {existing}).")
            company_id = work.catalog.add_company(cleaned, key)
            work.commit()
        return company_id

    def list_companies(self) -> list[tuple[int, str]]:
        with self.services.unit_of_work() as work:
            return work.catalog.list_companies()

    def add_custom_field(self, variable: str, field_type: FieldType, choices: Sequence[str] = (), *,
                         applies_to: str = "customers") -> int:
        """Define a custom field of customers' files (or, applies_to="companies", of companies' files)."""
        cleaned = [choice.strip() for choice in choices if choice.strip()]
        check_custom_field(variable, field_type, cleaned, applies_to)
        with self.services.unit_of_work() as work:
            if work.catalog.custom_field_exists(variable):
                raise CatalogProblem(f"A custom field named {variable!r} already exists.")
            field_id = work.catalog.add_custom_field(variable, field_type, cleaned, applies_to)
            work.commit()
        return field_id

    def list_custom_fields(self) -> list[CustomField]:
        """Every custom field, customers' and companies', by variable."""
        with self.services.unit_of_work() as work:
            fields = [custom for kind in KINDS_WITH_CUSTOM_FIELDS for custom in work.catalog.list_custom_fields(kind)]
        return sorted(fields, key=lambda custom: custom.variable)

    def assign_companies_by_domain(self, *, dry_run: bool = False, batch: int = 2000) -> list[DomainAssignment]:
        """Existing customers without a company join the company whose domains include their email's domain (the
        same rule as a new customer's; free-mail domains never match). A transaction per batch; with dry_run,
        nothing is written."""
        assignments: list[DomainAssignment] = []
        last_id: int | None = 0
        while last_id is not None:
            with self.services.unit_of_work() as work:
                joining, last_id = work.companies.assign_by_domain(
                    after_id=last_id, batch=batch, extra_free_mail=self.services.settings.free_mail_domains,
                    dry_run=dry_run)
                work.commit()
            assignments += joining
        return assignments
