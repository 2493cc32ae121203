"""The one composition root: Settings → Services with real adapters; tests pass their own settings."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from adapters.db.kind_storage import BuiltinStorage, KindContext, kind_steps, sql_storages
from adapters.db.storage import SqlStorage
from adapters.notices import notice_senders
from plugin.hooks import collect_kinds, collect_storage, make_plugin_manager
from plugin.ports import PasswordHasher
from plugin.services import Services
from plugin.settings import Settings, load_settings

if TYPE_CHECKING:  # the hasher (passlib, argon2) and the mail sender load when they are needed
    from adapters.db.people import SqlPeopleStore
    from adapters.db.storage import Engine
    from adapters.invitations import SmtpInvitationSender


def settings_from_environment(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Manifest defaults, then CONTACT_IMPORTER_* variables, then per-run overrides (command options)."""
    return load_settings(environ=os.environ if environ is None else environ).replace(**overrides)


def freeze_startup_heap() -> None:
    """Hide every object alive now (modules, SQLAlchemy's metadata and caches) from the garbage collector.

    For processes that import big files (the CLI, workers): each full collection walks every tracked object,
    and during an import those are mostly start-up objects that live as long as the process. Frozen, they are
    still freed by reference counting; only the cycle collector stops visiting them. Measured on a 100,000-row
    customers import: about 8 µs a row less (bench/bench_customers.py calls this too). Not for a host app that
    mounts the blueprint: its heap is its own.
    """
    gc.freeze()


def bootstrap(settings: Settings, *, engine: Engine | None = None, migrate: bool = True, plugins: tuple[object, ...] = (),
              hasher: PasswordHasher | None = None) -> Services:
    """Build the services: the kinds and their storage (both through the plugin manager), the database behind
    them (adapters/db/storage.py: engine, schema, store), each kind's preparer and finisher as its storage
    declares them (adapters/db/kind_storage.py), and the people store (made when first used: with it, the
    accounts' and sessions' tables and, when redis_url is set, the Redis client).

    A kind registered without storage is refused here, naming it (plugin.ports.kinds.KindWithoutStorage).

    `hasher` replaces the production Argon2Hasher (tests pass one with cheap parameters), which is made on
    first use: a command that never hashes or checks a password never loads passlib. A bad smtp_url fails here.
    """
    manager = make_plugin_manager(BuiltinStorage(), *plugins)
    kinds = collect_kinds(manager)
    storages = sql_storages(collect_storage(manager, kinds))
    storage = SqlStorage(settings, storages, engine=engine, migrate=migrate)
    hasher = hasher or Argon2OnFirstUse()
    sender = _invitation_sender(settings)
    preparers, finishers = kind_steps(storages, KindContext(settings, storage.engine, hasher, sender))
    return Services(settings=settings, store=storage.store, kinds=kinds, unit_of_work=storage.unit_of_work,
                    preparers=preparers, finishers=finishers, hasher=hasher, invitation_mailer=sender,
                    make_people_store=lambda: _people_store(storage, hasher, settings), hooks=manager.hook,
                    close=storage.close, notice_senders=notice_senders(settings), exporters=storage.exporters,
                    forget_inherited_connections=storage.forget_inherited_connections)


def _invitation_sender(settings: Settings) -> SmtpInvitationSender | None:
    """The SMTP sender of invitations when smtp_url is set; made at start, so a bad smtp_url fails there."""
    if not settings.smtp_url:
        return None
    from adapters.invitations import SmtpInvitationSender

    return SmtpInvitationSender(settings.smtp_url, sender=settings.mail_from, loop_header=settings.loop_header)


def _people_store(storage: SqlStorage, hasher: PasswordHasher, settings: Settings) -> SqlPeopleStore:
    """Accounts, sessions and tokens in the database; sign-in failures counted in Redis when redis_url is set."""
    people_store = storage.people_store(hasher)
    if settings.redis_url:  # failure counts where every host process looks anyway, without database writes
        from redis import Redis

        from adapters.redis_failures import RedisFailureCounter

        people_store.failures = RedisFailureCounter(
            Redis.from_url(settings.redis_url), prefix=settings.queue_name,
            window=timedelta(minutes=settings.sign_in_lock_minutes))
    return people_store


class Argon2OnFirstUse:
    """The production Argon2Hasher (adapters/passwords.py), built when a password is first hashed or checked."""

    def __init__(self) -> None:
        self._hasher: PasswordHasher | None = None

    def _built(self) -> PasswordHasher:
        if self._hasher is None:
            from adapters.passwords import Argon2Hasher

            self._hasher = Argon2Hasher()
        return self._hasher

    def hash_many(self, passwords: Sequence[str], *, on_progress: Callable[[int], None] | None = None) -> list[str]:
        return self._built().hash_many(passwords, on_progress=on_progress)

    def verify(self, password: str, stored_hash: str | None) -> bool:
        return self._built().verify(password, stored_hash)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._built().needs_rehash(stored_hash)
