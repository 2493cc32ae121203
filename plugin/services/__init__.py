"""The use cases, grouped by what they serve: the only way in for the CLI, the web pages, the API, the worker
and the IMAP poller. An adapter parses its input, calls one use case and renders the answer.

`Services` is the composition the adapters are handed (adapters/bootstrap.py builds it); each group of use
cases is one of its attributes: `services.imports.import_file(...)`, `services.history.list_jobs(...)`.
A use case that reads or writes more than the import pipeline's batches opens one unit of work
(`services.unit_of_work()`), which is its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # each group of use cases loads when first used: a customers import needs one or two of them
    from plugin.kinds import ImportKind
    from plugin.ports import ImportStore, PasswordHasher
    from plugin.ports.unit_of_work import UnitOfWork
    from plugin.ports.kinds import Exporter
    from plugin.ports.notices import NoticeSender
    from plugin.ports.people import PeopleStore
    from plugin.services.capture import Capture
    from plugin.services.catalog import CatalogAdmin
    from plugin.services.history import History
    from plugin.services.imports import Finisher, Imports, PreparerFactory
    from plugin.services.notices import Notices
    from plugin.services.people import InvitationMailer, People
    from plugin.services.queued_imports import QueuedImports
    from plugin.services.records import Records
    from plugin.services.teams import Teams
    from plugin.services.undo import Undo
    from plugin.services.uploads import Uploads
    from plugin.settings import Settings

KIND_ALIASES = {"agents": "users", "customer": "customers", "user": "users", "agent": "users", "company": "companies"}


class UnknownKind(LookupError):
    """No import kind has that name."""


@dataclass
class Services:
    """The importer's use cases over one database and one set of settings."""

    settings: Settings
    store: ImportStore  # the import pipeline's batches
    kinds: Mapping[str, ImportKind]
    unit_of_work: Callable[[], UnitOfWork]  # a new transaction for one use case
    preparers: dict[str, PreparerFactory] = field(default_factory=dict)
    finishers: dict[str, Finisher] = field(default_factory=dict)
    hasher: PasswordHasher | None = None
    notice_senders: dict[str, NoticeSender] = field(default_factory=dict)  # by channel: webhook, email
    hooks: Any = None  # the plugin manager's hook relay: records_imported, record_imported
    close: Callable[[], None] = lambda: None  # let go of the database's connections (end of a command, a test)
    forget_inherited_connections: Callable[[], None] = lambda: None  # in a forked process: never reuse the parent's
    make_people_store: Callable[[], PeopleStore | None] = lambda: None  # the people_store, made on first use
    invitation_mailer: InvitationMailer | None = None  # set when smtp_url is
    exporters: Mapping[str, Exporter] = field(default_factory=dict)  # by kind name, from the kinds' storage

    @cached_property
    def people_store(self) -> PeopleStore | None:
        """Accounts, sessions, sign-in failures and API tokens: a command that signs no one in never loads them."""
        return self.make_people_store()

    def kind(self, name: str) -> ImportKind:
        found = self.kinds.get(name) or self.kinds.get(KIND_ALIASES.get(name, ""))
        if found is None:
            raise UnknownKind(f"There is no import kind {name!r}; there are: {', '.join(sorted(self.kinds))}.")
        return found

    @cached_property
    def imports(self) -> Imports:
        from plugin.services.imports import Imports

        return Imports(self)

    @cached_property
    def history(self) -> History:
        from plugin.services.history import History

        return History(self)

    @cached_property
    def catalog(self) -> CatalogAdmin:
        from plugin.services.catalog import CatalogAdmin

        return CatalogAdmin(self)

    @cached_property
    def undo(self) -> Undo:
        from plugin.services.undo import Undo

        return Undo(self)

    @cached_property
    def teams(self) -> Teams:
        from plugin.services.teams import Teams

        return Teams(self)

    @cached_property
    def capture(self) -> Capture:
        from plugin.services.capture import Capture

        return Capture(self)

    @cached_property
    def people(self) -> People:
        from plugin.services.people import People

        return People(self)

    @cached_property
    def notices(self) -> Notices:
        from plugin.services.notices import Notices

        return Notices(self)

    @cached_property
    def records(self) -> Records:
        from plugin.services.records import Records

        return Records(self)

    @cached_property
    def uploads(self) -> Uploads:
        from plugin.services.uploads import Uploads

        return Uploads(self)

    @cached_property
    def queued_imports(self) -> QueuedImports:
        from plugin.services.queued_imports import QueuedImports

        return QueuedImports(self)
