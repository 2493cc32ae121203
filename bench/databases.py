"""Throwaway databases for the benches, with the product's schema and the catalog the generated files use."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.generate_customers import CUSTOM_FIELDS, LABELS

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"  # the same server, for psql


def prepare_database(database_url: str, *, companies: int) -> None:
    """The schema by the product's migrations, plus the labels, companies and custom fields the files use."""
    from adapters.bootstrap import bootstrap, settings_from_environment
    from plugin.kinds import FieldType

    services = bootstrap(settings_from_environment(environ={}, database_url=database_url))
    try:
        services.catalog.add_labels(LABELS)
        for number in range(1, companies + 1):
            services.catalog.add_company(f"Bench company {number}")
        for variable, field_type, choices in CUSTOM_FIELDS:
            services.catalog.add_custom_field(variable, FieldType(field_type), choices)
    finally:
        services.close()


def prepared_sqlite_copy(template: Path, path: Path) -> str:
    """A copy of a prepared SQLite file (its log checkpointed into it first): a URL to a fresh database."""
    for leftover in path.parent.glob(f"{path.name}*"):
        leftover.unlink()
    with sqlite3.connect(template) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@contextmanager
def throwaway_schema() -> Iterator[tuple[str, str]]:
    """A URL whose connections use a fresh schema on the PostgreSQL server, and the schema; dropped on leaving
    (as tests/conftest.py does)."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield f"{POSTGRES_ADMIN_URL}?options=-csearch_path%3D{schema}", schema
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file in folder, or a throwaway PostgreSQL schema dropped on leaving."""
    if backend == "sqlite":
        path = folder / "bench.db"
        for leftover in folder.glob("bench.db*"):
            leftover.unlink()
        yield f"sqlite:///{path}"
        return
    with throwaway_schema() as (url, _):
        yield url
