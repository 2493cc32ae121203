"""The database behind one Services: its engine (made and migrated here), the import store with every registered
kind's record table, the units of work with their undo tables, and each kind's export bound to the engine.

The composition root (adapters/bootstrap.py) builds one from the settings and the kinds' registered storage;
nothing outside adapters/db makes or holds an engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from adapters.db.engine import make_engine, upgrade_database
from adapters.db.kind_storage import SqlKindStorage
from adapters.db.store import SqlImportStore
from plugin.settings import Settings

if TYPE_CHECKING:  # the units of work's and the people's tables load when a command first uses them
    from adapters.db.people import SqlPeopleStore
    from adapters.db.unit_of_work import SqlUnitOfWork
    from plugin.ports import PasswordHasher

__all__ = ["Engine", "SqlStorage"]


class SqlStorage:
    """One database's adapters for the registered kinds' storage (adapters/db/kind_storage.py)."""

    def __init__(self, settings: Settings, storages: Mapping[str, SqlKindStorage], *, engine: Engine | None = None,
                 migrate: bool = True) -> None:
        self.engine = engine or make_engine(settings.resolved_database_url)
        if migrate:
            upgrade_database(self.engine)
        self.store = SqlImportStore(self.engine, {name: partial(storage.table, settings)
                                                  for name, storage in storages.items()})
        self.undo_tables = {name: storage.undo for name, storage in storages.items() if storage.undo is not None}
        self.exporters: dict[str, Callable[[], tuple[list[str], Iterator[list[object]]]]] = {
            name: partial(storage.export, self.engine) for name, storage in storages.items()
            if storage.export is not None}

    def unit_of_work(self) -> SqlUnitOfWork:
        from adapters.db.unit_of_work import SqlUnitOfWork

        return SqlUnitOfWork(self.engine, self.undo_tables)

    def close(self) -> None:
        self.engine.dispose()

    def forget_inherited_connections(self) -> None:
        """In a process forked from this one (a worker's child): drop the parent's pooled connections unclosed."""
        self.engine.dispose(close=False)

    def people_store(self, hasher: PasswordHasher) -> SqlPeopleStore:
        from adapters.db.people import SqlPeopleStore

        return SqlPeopleStore(self.engine, hasher)

