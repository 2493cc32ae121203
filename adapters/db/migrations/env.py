"""Alembic environment: runs migrations on the engine handed over in config.attributes."""

from alembic import context

from adapters.db import (
    agents,  # noqa: F401  (its tables join Base.metadata)
    import_queue,  # noqa: F401  (its tables join Base.metadata)
    mailboxes,  # noqa: F401  (its tables join Base.metadata)
    notices,  # noqa: F401  (its tables join Base.metadata)
    notifications,  # noqa: F401  (its tables join Base.metadata)
    people,  # noqa: F401  (its tables join Base.metadata)
    saved_mappings,  # noqa: F401  (its tables join Base.metadata)
    tokens,  # noqa: F401  (its tables join Base.metadata)
    uploads,  # noqa: F401  (its tables join Base.metadata)
)
from adapters.db.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
