"""Storage: SQLAlchemy 2 models, Alembic migrations and the batched store the core's ports are built on."""

from adapters.db.engine import make_engine, upgrade_database

__all__ = ["make_engine", "upgrade_database"]
