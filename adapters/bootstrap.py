"""The one composition root: Settings → Services with real adapters; tests pass their own settings."""

from __future__ import annotations

import os
from collections.abc import Mapping

from sqlalchemy import Engine

from adapters.db.engine import make_engine, upgrade_database
from adapters.db.store import SqlImportStore
from plugin.hooks import collect_kinds, make_plugin_manager
from plugin.services import Services
from plugin.settings import Settings, load_settings


def settings_from_environment(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Manifest defaults, then CONTACT_IMPORTER_* variables, then per-run overrides (command options)."""
    return load_settings(environ=os.environ if environ is None else environ).replace(**overrides)


def bootstrap(settings: Settings, *, engine: Engine | None = None, migrate: bool = True, plugins: tuple[object, ...] = ()) -> Services:
    """Build the services: engine, schema, store, kinds (through the plugin manager) and preparers."""
    engine = engine or make_engine(settings.resolved_database_url)
    if migrate:
        upgrade_database(engine)
    store = SqlImportStore(engine)
    kinds = collect_kinds(make_plugin_manager(*plugins))
    services = Services(settings=settings, store=store, kinds=kinds)
    _add_agents(services, store)
    return services


def _add_agents(services: Services, store: SqlImportStore) -> None:
    """Agents need a password hasher and their own table; both arrive with the agents adapter."""
    try:
        from adapters.db.agents import AgentTable
        from adapters.passwords import Argon2Hasher
        from plugin.kinds.agents import hashing_preparer
    except ImportError:
        return
    store.add_table(AgentTable())
    hasher = Argon2Hasher()
    services.preparers["users"] = lambda progress: hashing_preparer(hasher, progress)
