"""Engines for a database URL, the schema brought up to date by Alembic, and bulk statements at the driver level."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Column, Connection, Engine, String, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:  # Alembic loads only when the schema is behind (upgrade_database)
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Pages the SQLite write-ahead log may hold before a commit copies them into the database file (SQLite's own
# default is 1,000, about 4 MB). An import commits a batch at a time; at the default, a 100,000-row import
# spent more time checkpointing (copying and syncing) than inserting. About 40 MB of log at most.
SQLITE_WAL_CHECKPOINT_PAGES = 10_000
# What every connection to a SQLite file is set to (the benches' references use the same)
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", f"wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_PAGES}",
                  "foreign_keys=ON")
# How long a SQLite writer waits for another's lock ("database is locked") before giving up: SQLite has one
# writer at a time, so two workers' batches and a mail poll queue up behind each other for a moment.
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def _prepare_sqlite_folder(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite files get WAL, a busy timeout and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite_folder(url)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> None:
    """Create or migrate the schema to the newest revision; cheap when it is already current.

    Current is told by a plain query of the revision the database records against the newest one the
    migration files name: loading Alembic takes a command longer than the rest of its start.
    """
    heads = migration_heads()
    if heads is not None and len(heads) == 1 and recorded_revision(engine) in heads:
        return
    # Alembic says at INFO, as it loads, which of its own plugins it set up: a dozen lines before the migrations
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        command.upgrade(config, "head")


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.*?)\s*$", re.MULTILINE)
_REVISION_VALUE = re.compile(r"None|'([^'\\]+)'|\"([^\"\\]+)\"")


def migration_heads() -> set[str] | None:
    """The revisions in migrations/versions that no other revision follows, read from each file's
    `revision = '...'` and `down_revision = '...'` lines; None when a file says it otherwise (a merge of
    several revisions, say), and Alembic then decides."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        fields = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        revision = _revision_named(fields.get("revision", ""))
        down_revision = _revision_named(fields.get("down_revision", ""))
        if not revision or down_revision is None:
            return None
        revisions.add(revision)
        if down_revision:
            followed.add(down_revision)
    return revisions - followed


def _revision_named(value: str) -> str | None:
    """'abc' or "abc" → abc; None → "" (no revision); anything else → None (not read here)."""
    match = _REVISION_VALUE.fullmatch(value)
    if match is None:
        return None
    return match.group(1) or match.group(2) or ""


def recorded_revision(engine: Engine) -> str | None:
    """The revision the database's alembic_version table records; None without one (a new database)."""
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


# ---- transactions that another writer can make fail for a moment

T = TypeVar("T")
TRANSACTION_ATTEMPTS = 5
_RETRYABLE_SQLSTATES = {"40P01": "deadlock detected", "40001": "serialization failure"}
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")  # and their extended codes, e.g. SQLITE_BUSY_SNAPSHOT


def _driver_error(error: BaseException) -> BaseException:
    """The driver's own exception: SQLAlchemy wraps it, while the bulk helpers here raise it as it is."""
    return error.orig if isinstance(error, DBAPIError) and error.orig is not None else error


def retryable_failure(error: BaseException) -> str | None:
    """Why running the same transaction again can succeed: a deadlock or a serialization failure (PostgreSQL),
    or a SQLite lock held past the busy timeout; None for every other error."""
    cause = _driver_error(error)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return _RETRYABLE_SQLSTATES[sqlstate]
    if str(getattr(cause, "sqlite_errorname", "")).startswith(_SQLITE_BUSY):
        return "database is locked"
    return None


def is_unique_violation(error: BaseException) -> bool:
    """A row another transaction committed first holds a unique value this one writes."""
    cause = _driver_error(error)
    return (getattr(cause, "sqlstate", None) == "23505"
            or str(getattr(cause, "sqlite_errorname", "")) in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"))


def in_transaction_with_retries(engine: Engine, work: Callable[[Connection], T], *, what: str,
                                attempts: int = TRANSACTION_ATTEMPTS, is_unique_violation_retried: bool = False) -> T:
    """work(connection) in one transaction, run again (after a short random pause) when it failed only because
    of another writer: a deadlock, a serialization failure, a SQLite lock held too long, and, with
    is_unique_violation_retried (for work that picks its unique values by reading first, e.g. usernames), a
    value another writer stored meanwhile. At most `attempts` times; each retry is logged. Any other error,
    or the last attempt's, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as connection:
                return work(connection)
        except Exception as error:
            reason = retryable_failure(error)
            if reason is None and is_unique_violation_retried and is_unique_violation(error):
                reason = "a unique value was taken meanwhile"
            if reason is None or attempt == attempts:
                raise
            logger.warning("%s: %s; trying again (attempt %d of %d)", what, reason, attempt + 1, attempts)
            time.sleep(random.uniform(0.01, 0.05 * 2 ** attempt))  # apart, so the two do not meet again
    raise AssertionError("unreachable")


# ---- bulk statements at the driver level
#
# An import writes thousands of rows a batch. Through SQLAlchemy's compiled statements every parameter of every
# row is processed in Python and long multi-row INSERTs are rendered (and, by psycopg, parsed) again and again,
# which took longer than the database's own work. So batch writes and lookups are raw SQL run by the driver,
# with values already in their stored form (stored_value): SQLite runs a one-row statement through executemany,
# whose loop is in C; PostgreSQL runs one statement a batch over unnest() of one array per column, sent in
# binary (%b: psycopg's text form of an array escapes every element with a regular expression).


def stored_value(connection: Connection, column: Column, value: object) -> object:
    """The value as SQLAlchemy would bind it for the column (SQLite keeps datetimes as text in its own format)."""
    process = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return value if process is None else process(value)


def insert_many(connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[object]], *,
                on_conflict: str = "", returning: Sequence[str] = ()) -> list[tuple]:
    """INSERT rows (tuples in the order of columns) in one go; `on_conflict` is SQL both dialects understand.

    Returns the `returning` columns of the rows written, in no particular order.
    """
    if not rows:
        return []
    into = f"INSERT INTO {table.name} ({_names(connection, columns)})"
    tail = f" {on_conflict}" + (f" RETURNING {', '.join(returning)}" if returning else "")
    if is_postgresql(connection):
        sql = f"{into} SELECT * FROM {_unnest(connection, table, columns)}{tail}"
        if returning:
            return fetch_all(connection, sql, _by_column(rows))
        connection.exec_driver_sql(sql, tuple(_by_column(rows)))
        return []
    if returning and "DO UPDATE" not in on_conflict.upper():
        return _insert_returning_by_rowid(connection, table, into, on_conflict, rows, returning)
    if returning:
        return _insert_returning_on_sqlite(connection, into, tail, rows)
    connection.exec_driver_sql(f"{into} VALUES ({', '.join('?' * len(columns))}){tail}", list(rows))
    return []


def update_many(connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[object]], *,
                key: str = "id") -> None:
    """UPDATE table SET columns WHERE key matches, one row each; a row is the columns' values, then the key's."""
    if not rows:
        return
    if is_postgresql(connection):
        assignments = ", ".join(f"{name} = batch.{name}" for name in _quoted(connection, columns))
        by_column = _by_column(rows)
        connection.exec_driver_sql(  # "key = ANY": found by the key's index, not by hashing the whole table
            f"UPDATE {table.name} SET {assignments} FROM {_unnest(connection, table, (*columns, key))} "
            f"AS batch({_names(connection, (*columns, key))}) "
            f"WHERE {table.name}.{key} = batch.{key} AND {table.name}.{key} = ANY(%b)", (*by_column, by_column[-1]))
        return
    assignments = ", ".join(f"{name} = ?" for name in _quoted(connection, columns))
    connection.exec_driver_sql(f"UPDATE {table.name} SET {assignments} WHERE {key} = ?", list(rows))


def any_of(connection: Connection, values: Collection[object]) -> tuple[str, object]:
    """For `column <tail>`, true when the column is one of values: the tail and its one parameter.

    One parameter, not one a value: the statement's text stays the same from batch to batch.
    """
    if is_postgresql(connection):
        return "= ANY(%b)", list(values)
    return "IN (SELECT value FROM json_each(?))", json.dumps(list(values))


def each_match(connection: Connection, select: str, column: str, values: Collection[object]) -> Iterator[tuple]:
    """The rows of `select` (SELECT ... FROM ..., without WHERE) whose `column` is one of values."""
    tail, parameter = any_of(connection, values)
    return each_row(connection, f"{select} WHERE {column} {tail}", (parameter,))


def each_by_unique_key(connection: Connection, select: str, column: str, values: Collection[object]
                       ) -> Iterator[tuple]:
    """Like each_match, for a column with a unique index: PostgreSQL looks each value up in that index.

    Asked `column = ANY(...)`, PostgreSQL reads the whole table instead while the table has no statistics, as
    after a big import until autovacuum (if on) analyzes it; a LATERAL subquery per value, kept as it is by
    OFFSET 0, is planned as one index lookup per value whatever the statistics say.
    """
    if not is_postgresql(connection):
        return each_match(connection, select, column, values)
    return each_row(connection, f"SELECT found.* FROM unnest(%b) AS wanted(value) CROSS JOIN LATERAL "
                                f"({select} WHERE {column} = wanted.value OFFSET 0) AS found", (list(values),))


def fetch_all(connection: Connection, sql: str, parameters: Sequence[object]) -> list[tuple]:
    """A raw statement's rows as the driver's plain tuples, without SQLAlchemy's Result and Row objects."""
    return list(each_row(connection, sql, parameters))


def each_row(connection: Connection, sql: str, parameters: Sequence[object]) -> Iterator[tuple]:
    """A raw statement's rows one at a time. sqlite3 makes each row when asked for it, so each is freed when
    done with, not kept with thousands of others, which would set off the garbage collector (whose passes over
    a big heap cost more than the query); psycopg has all the rows already and converts them fastest at once."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, parameters)
        yield from cursor.fetchall() if is_postgresql(connection) else cursor
    finally:
        cursor.close()


def is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _quoted(connection: Connection, names: Sequence[str]) -> list[str]:
    return [connection.dialect.identifier_preparer.quote(name) for name in names]  # "row" is a keyword to PostgreSQL


def _names(connection: Connection, names: Sequence[str]) -> str:
    return ", ".join(_quoted(connection, names))


SQLITE_MAX_VARIABLES = 32_766  # SQLite's default limit of parameters in one statement


def _insert_returning_by_rowid(connection: Connection, table: Table, into: str, on_conflict: str,
                               rows: Sequence[Sequence[object]], returning: Sequence[str]) -> list[tuple]:
    """An INSERT that adds rows or skips them (no DO UPDATE), then the rows it added, found by their rowids.

    SQLite gives a new row of a rowid table the highest rowid plus one, and only one connection writes at a time:
    the rows added are those above the highest rowid before. A writer that committed between that read and
    this INSERT makes the INSERT fail (in WAL mode a stale snapshot may not write), and the batch is retried.
    One prepared statement run by executemany: a multi-row VALUES of a thousand rows took SQLite longer to
    compile than to run (13 µs a new customer against 9).
    """
    (highest,) = fetch_all(connection, f"SELECT coalesce(max(rowid), 0) FROM {table.name}", ())[0]
    connection.exec_driver_sql(f"{into} VALUES ({', '.join('?' * len(rows[0]))}) {on_conflict}", list(rows))
    return fetch_all(connection, f"SELECT {', '.join(returning)} FROM {table.name} WHERE rowid > ?", (highest,))


def _insert_returning_on_sqlite(connection: Connection, into: str, tail: str, rows: Sequence[Sequence[object]]
                                ) -> list[tuple]:
    """executemany drops what RETURNING gives, so: multi-row VALUES, as many rows a statement as SQLite allows.
    For an upsert (DO UPDATE), whose RETURNING includes rows it changed rather than added."""
    width = len(rows[0])
    one_row = f"({', '.join('?' * width)})"
    found: list[tuple] = []
    for start in range(0, len(rows), SQLITE_MAX_VARIABLES // width):
        chunk = rows[start:start + SQLITE_MAX_VARIABLES // width]
        found += fetch_all(connection, f"{into} VALUES {', '.join([one_row] * len(chunk))}{tail}",
                           [value for row in chunk for value in row])
    return found


def _unnest(connection: Connection, table: Table, columns: Sequence[str]) -> str:
    """unnest() of one binary array parameter per column, typed like the column."""
    return f"unnest({', '.join(f'%b::{_array_type(connection, table.c[name])}' for name in columns)})"


def _array_type(connection: Connection, column: Column) -> str:
    # TEXT, not VARCHAR(n): a cast to VARCHAR(n) would cut an overlong value short; storing it fails instead
    element = "TEXT" if isinstance(column.type, String) else column.type.compile(dialect=connection.dialect)
    return f"{element}[]"


def _by_column(rows: Sequence[Sequence[object]]) -> list[list[object]]:
    return [list(values) for values in zip(*rows)]
