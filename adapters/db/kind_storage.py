"""Where each import kind's records are kept, registered through the plugin hook like the kinds themselves.

A kind is one declaration (plugin/kinds/, hook register_import_kinds) plus one SqlKindStorage (hook
register_kind_storage): its record table (how an import finds and writes its records), its export, when its
imports can be undone its undo table, and what runs around the pipeline: a preparer before each batch is written
(agents: hash passwords) and a finisher after an import is applied (agents and customers: mail invitations).
The built-in kinds register theirs here, exactly as another plugin would.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from plugin.hooks import hookimpl
from plugin.settings import Settings

if TYPE_CHECKING:
    from adapters.db.store import RecordTable
    from adapters.db.undo import UndoTable
    from plugin.options import ImportOptions
    from plugin.ports import PasswordHasher
    from plugin.report import ImportReport
    from plugin.services.imports import Finisher, PreparerFactory
    from plugin.services.people import InvitationMailer


@dataclass(frozen=True, slots=True)
class KindContext:
    """What a kind's preparer and finisher are built with (adapters/bootstrap.py makes one for all kinds).

    `hasher` loads passlib on its first use only; `invitation_sender` is None when smtp_url is not set."""

    settings: Settings
    engine: Engine
    hasher: PasswordHasher
    invitation_sender: InvitationMailer | None = None


@dataclass(frozen=True, slots=True)
class SqlKindStorage:
    """One kind's storage. `table` makes a new record table for each store (a table keeps state for the import
    it writes); `export` streams every record in the import format; `undo` makes its undo table (None: its
    imports cannot be undone); `prepare` builds the step run on each batch before it is written, `finish` the
    step run after an import is applied (never after a dry run), both from the KindContext."""

    kind: str
    table: Callable[[Settings], RecordTable]
    export: Callable[[Engine], tuple[list[str], Iterator[list[object]]]] | None = None
    undo: Callable[[], UndoTable] | None = None
    prepare: Callable[[KindContext], PreparerFactory] | None = None
    finish: Callable[[KindContext], Finisher] | None = None


def _customers(_settings: Settings) -> RecordTable:
    from adapters.db.customers import CustomerTable

    return CustomerTable()


def _leads(_settings: Settings) -> RecordTable:
    from adapters.db.customers import LeadTable

    return LeadTable()


def _agents(settings: Settings) -> RecordTable:
    from adapters.db.agents import AgentTable

    return AgentTable(invitation_hours=settings.invitation_hours)


def _hash_passwords(context: KindContext) -> PreparerFactory:
    from plugin.kinds.agents import hashing_preparer

    return lambda progress: hashing_preparer(context.hasher, progress)


def _invite(invitee: str, *, option: str) -> Callable[[KindContext], Finisher]:
    """The finisher inviting the people an applied import created when its `option` is on
    (adapters/db/invitations.py invite_after_import)."""

    def finisher(context: KindContext) -> Finisher:
        def finish(report: ImportReport, options: ImportOptions) -> None:
            if not options.get(option):
                return
            from adapters.db.invitations import invite_after_import

            invite_after_import(context.engine, context.settings, context.invitation_sender, invitee, report)

        return finish

    return finisher


def _companies(_settings: Settings) -> RecordTable:
    from adapters.db.companies import CompanyTable

    return CompanyTable()


def _on_first_use(module: str, name: str) -> Callable[..., Any]:
    """`module`'s `name`, called with what it is given, its module loaded then: exports and undo tables load
    when one runs, so a command importing customers never loads the agents' modules."""

    def call(*arguments: object) -> Any:
        return getattr(importlib.import_module(module), name)(*arguments)

    return call


class BuiltinStorage:
    """The storage of the kinds shipped with the product, registered like any plugin's."""

    @hookimpl
    def register_kind_storage(self) -> list[SqlKindStorage]:
        customer_undo = _on_first_use("adapters.db.undo", "CustomerUndo")
        return [SqlKindStorage("customers", _customers, _on_first_use("adapters.db.export", "export_customers"),
                               customer_undo,
                               finish=_invite("customer", option="invite")),
                SqlKindStorage("users", _agents, _on_first_use("adapters.db.accounts", "export_agents"),
                               _on_first_use("adapters.db.undo", "AgentUndo"), prepare=_hash_passwords,
                               finish=_invite("agent", option="invitations")),
                SqlKindStorage("companies", _companies, _on_first_use("adapters.db.companies", "export_companies")),
                SqlKindStorage("leads", _leads, _on_first_use("adapters.db.export", "export_leads"), customer_undo)]


def kind_steps(storages: Mapping[str, SqlKindStorage], context: KindContext
               ) -> tuple[dict[str, PreparerFactory], dict[str, Finisher]]:
    """Each kind's preparer and finisher, as its storage declares them."""
    preparers = {name: storage.prepare(context) for name, storage in storages.items() if storage.prepare}
    finishers = {name: storage.finish(context) for name, storage in storages.items() if storage.finish}
    return preparers, finishers


def sql_storages(storages: Mapping[str, object]) -> dict[str, SqlKindStorage]:
    """The registered storages, each checked to be one this adapter can use."""
    found: dict[str, SqlKindStorage] = {}
    for name, storage in storages.items():
        if not isinstance(storage, SqlKindStorage):
            raise TypeError(f"the storage registered for the import kind {name!r} is not an "
                            f"adapters.db.kind_storage.SqlKindStorage: {storage!r}")
        found[name] = storage
    return found
