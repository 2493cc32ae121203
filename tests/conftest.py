"""Fixtures shared by every test: real databases (SQLite file, PostgreSQL schema) and services on them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from adapters.bootstrap import bootstrap
from adapters.db.engine import make_engine
from adapters.passwords import Argon2Hasher
from plugin.ports import PasswordHasher
from plugin.services import Services
from plugin.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# Queues on Redis: each test keeps apart by a queue name of its own (settings.queue_name), so one database serves all.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
FAST_HASHES = {"memory_cost": 1024, "time_cost": 1}  # cheap argon2id: the same rules and format, fast tests


def throwaway_postgres_url() -> tuple[str, str]:
    """A URL whose connections use a fresh schema of their own on the PostgreSQL server; and that schema."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", schema


def drop_postgres_schema(schema: str) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def reachable_redis_url() -> str:
    """REDIS_URL, or the test is skipped saying Redis is not there."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"needs Redis at {REDIS_URL} (TEST_REDIS_URL)")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def fast_hasher() -> PasswordHasher:
    """The production Argon2Hasher with cheap parameters."""
    return Argon2Hasher(**FAST_HASHES)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A real, empty database: a SQLite file, or a private schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/contacts.db"
        return
    url, schema = throwaway_postgres_url()
    yield url
    drop_postgres_schema(schema)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(environ={}).replace(database_url=database_url, row_limit=50, batch_size=7)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def services(settings: Settings, engine: Engine) -> Services:
    """Services on a freshly migrated database; batches of 7 rows so every test crosses batch edges."""
    return bootstrap(settings, engine=engine)
