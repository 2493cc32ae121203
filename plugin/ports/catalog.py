"""The catalog as its use cases keep it: labels, companies and custom fields, by name."""

from __future__ import annotations

from collections.abc import Sequence
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
