"""Catalog set-up for tests that hold only an engine: through the catalog's use cases, like the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from sqlalchemy import Engine

from adapters.db.unit_of_work import SqlUnitOfWork
from plugin.kinds import CustomField, FieldType
from plugin.services.catalog import CatalogAdmin


def catalog_of(engine: Engine) -> CatalogAdmin:
    return CatalogAdmin(SimpleNamespace(unit_of_work=lambda: SqlUnitOfWork(engine)))  # type: ignore[arg-type]


def add_labels(engine: Engine, names: Sequence[str]) -> dict[str, int]:
    return catalog_of(engine).add_labels(names)


def add_company(engine: Engine, name: str) -> int:
    return catalog_of(engine).add_company(name)


def add_custom_field(engine: Engine, variable: str, field_type: FieldType, choices: Sequence[str] = (), *,
                     applies_to: str = "customers") -> int:
    return catalog_of(engine).add_custom_field(variable, field_type, choices, applies_to=applies_to)


def list_custom_fields(engine: Engine) -> list[CustomField]:
    return catalog_of(engine).list_custom_fields()
