"""INSERT ... ON CONFLICT for the engine's dialect: SQLite and PostgreSQL say it the same way."""

from __future__ import annotations

from sqlalchemy import Connection, Table


def insert_for(connection: Connection, table: Table):  # type: ignore[no-untyped-def]
    """The dialect's insert(), which has on_conflict_do_nothing / on_conflict_do_update. The dialect's module
    loads here, when first needed: a command line run on SQLite never loads PostgreSQL's."""
    from sqlalchemy.dialects import postgresql, sqlite

    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"{connection.dialect.name} is not supported; use SQLite or PostgreSQL")
