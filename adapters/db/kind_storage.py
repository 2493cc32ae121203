"""Where each import kind's records are kept, registered through the plugin hook like the kinds themselves.

A kind is one declaration (plugin/kinds/, hook register_import_kinds) plus one SqlKindStorage (hook
register_kind_storage): its record table (how an import finds and writes its records), its export and, when its
imports can be undone, its undo table. The built-in kinds register theirs here, exactly as another plugin would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from plugin.hooks import hookimpl
from plugin.settings import Settings

if TYPE_CHECKING:
    from adapters.db.store import RecordTable
    from adapters.db.undo import UndoTable


@dataclass(frozen=True, slots=True)
class SqlKindStorage:
    """One kind's storage. `table` makes a new record table for each store (a table keeps state for the import
    it writes); `export` streams every record in the import format; `undo` makes its undo table (None: its
    imports cannot be undone)."""

    kind: str
    table: Callable[[Settings], RecordTable]
    export: Callable[[Engine], tuple[list[str], Iterator[list[object]]]] | None = None
    undo: Callable[[], UndoTable] | None = None


def _customers(_settings: Settings) -> RecordTable:
    from adapters.db.customers import CustomerTable

    return CustomerTable()


def _leads(_settings: Settings) -> RecordTable:
    from adapters.db.customers import LeadTable

    return LeadTable()


def _agents(settings: Settings) -> RecordTable:
    from adapters.db.agents import AgentTable

    return AgentTable(invitation_hours=settings.invitation_hours)


def _companies(_settings: Settings) -> RecordTable:
    from adapters.db.companies import CompanyTable

    return CompanyTable()


class BuiltinStorage:
    """The storage of the kinds shipped with the product, registered like any plugin's."""

    @hookimpl
    def register_kind_storage(self) -> list[SqlKindStorage]:
        from adapters.db.accounts import export_agents
        from adapters.db.companies import export_companies
        from adapters.db.export import export_customers, export_leads
        from adapters.db.undo import AgentUndo, CustomerUndo

        return [SqlKindStorage("customers", _customers, export_customers, CustomerUndo),
                SqlKindStorage("users", _agents, export_agents, AgentUndo),
                SqlKindStorage("companies", _companies, export_companies),
                SqlKindStorage("leads", _leads, export_leads, CustomerUndo)]


def sql_storages(storages: Mapping[str, object]) -> dict[str, SqlKindStorage]:
    """The registered storages, each checked to be one this adapter can use."""
    found: dict[str, SqlKindStorage] = {}
    for name, storage in storages.items():
        if not isinstance(storage, SqlKindStorage):
            raise TypeError(f"the storage registered for the import kind {name!r} is not an "
                            f"adapters.db.kind_storage.SqlKindStorage: {storage!r}")
        found[name] = storage
    return found
