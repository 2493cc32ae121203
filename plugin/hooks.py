"""Extension points. Built-in kinds arrive through the same hook a third-party plugin would use."""

from __future__ import annotations

from collections.abc import Mapping

import pluggy

from plugin.kinds import ImportKind
from plugin.ports.kinds import KindStorage, KindWithoutStorage

PROJECT = "contact_importer"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class ImporterSpecs:
    @hookspec
    def register_import_kinds(self) -> list[ImportKind]:  # type: ignore[empty-body]
        """Return the import kinds this plugin adds; customers and agents arrive this way too."""

    @hookspec
    def register_kind_storage(self) -> list[KindStorage]:  # type: ignore[empty-body]
        """Return where the records of the kinds this plugin adds are kept: one storage for each kind (its record
        table, its export and its undo, see adapters/db/kind_storage.py). The storage adapter registers the
        built-in kinds' storage this way; a plugin that registers a kind registers its storage too."""

    @hookspec
    def records_imported(self, kind: str, job_id: int, created: int, updated: int) -> None:
        """An import was applied: how many records it created and updated, once per import (never for dry runs
        or rejected files). The one place a host reacts to an import: one message, one automation run. The
        records themselves are in the import's per-row results (GET /api/v1/imports/{job_id}/rows), read a page
        at a time: a list of every id would hold a million-row import in memory."""

    @hookspec
    def record_imported(self, kind: str, job_id: int, record_id: int, action: str) -> None:
        """One record an import created or updated. Muted during imports: called only when the admin asks
        (setting import_side_effects, or the import's side_effects option), for welcome mail or automations."""


    @hookspec
    def customer_password_set(self, customer_id: int, email: str) -> None:
        """A customer invited to the customer portal (import option invite) chose a password on the set-password
        page. Only its hash is kept; the host's portal signs customers in with services.people.verify(email,
        password). Called once per link used, after the password is stored."""


class BuiltinKinds:
    """The kinds shipped with the product, registered like any plugin's."""

    @hookimpl
    def register_import_kinds(self) -> list[ImportKind]:
        from plugin.kinds.agents import AGENTS
        from plugin.kinds.companies import COMPANIES
        from plugin.kinds.customers import CUSTOMERS
        from plugin.kinds.leads import LEADS

        return [CUSTOMERS, AGENTS, COMPANIES, LEADS]


def make_plugin_manager(*extra_plugins: object) -> pluggy.PluginManager:
    """A fresh manager with our specs, the built-in kinds, entry-point plugins and any extra ones."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(ImporterSpecs)
    manager.register(BuiltinKinds(), name="builtin-kinds")
    manager.load_setuptools_entrypoints(PROJECT)
    for plugin in extra_plugins:
        manager.register(plugin)
    manager.check_pending()
    return manager


def collect_kinds(manager: pluggy.PluginManager) -> dict[str, ImportKind]:
    """Every registered kind by name; two kinds with one name are an error."""
    kinds: dict[str, ImportKind] = {}
    for batch in manager.hook.register_import_kinds():
        for kind in batch:
            if kind.name in kinds:
                raise ValueError(f"two plugins register an import kind named {kind.name!r}")
            kinds[kind.name] = kind
    return kinds


def collect_storage(manager: pluggy.PluginManager, kinds: Mapping[str, ImportKind]) -> dict[str, KindStorage]:
    """Every registered kind's storage by kind name. A kind without storage (or two storages for one kind, or a
    storage for no kind) is refused here, at start-up, naming the kind: never a KeyError in the middle of an
    import."""
    storages: dict[str, KindStorage] = {}
    for batch in manager.hook.register_kind_storage():
        for storage in batch:
            if storage.kind in storages:
                raise KindWithoutStorage(f"two plugins register storage for the import kind {storage.kind!r}")
            if storage.kind not in kinds:
                raise KindWithoutStorage(f"a plugin registers storage for {storage.kind!r}, but no import kind "
                                         f"has that name (there are: {', '.join(sorted(kinds))})")
            storages[storage.kind] = storage
    missing = sorted(set(kinds) - set(storages))
    if missing:
        raise KindWithoutStorage(
            f"The import kind {missing[0]!r} is registered without storage: the plugin that registers a kind "
            f"registers where its records are kept too (hook register_kind_storage)"
            + (f"; so are {', '.join(repr(name) for name in missing[1:])}" if missing[1:] else "") + ".")
    return storages
