"""Alembic environment: runs migrations on the engine handed over in config.attributes."""

from alembic import context

from adapters.db import (
    agents,  # noqa: F401  (its tables join models.metadata)
    import_queue,  # noqa: F401  (its tables join models.metadata)
    mailboxes,  # noqa: F401  (its tables join models.metadata)
    notices,  # noqa: F401  (its tables join models.metadata)
    notifications,  # noqa: F401  (its tables join models.metadata)
    people,  # noqa: F401  (its tables join models.metadata)
    saved_mappings,  # noqa: F401  (its tables join models.metadata)
    tokens,  # noqa: F401  (its tables join models.metadata)
    uploads,  # noqa: F401  (its tables join models.metadata)
)
from adapters.db.models import metadata

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    context.run_migrations()
