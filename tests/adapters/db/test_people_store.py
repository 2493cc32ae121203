"""The people store on SQLite and PostgreSQL: failure counts, server-side sessions, token expiry."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from redis import Redis
from sqlalchemy import func, select

from adapters.bootstrap import bootstrap
from adapters.db.accounts import create_admin
from adapters.db.people import web_sign_in_failures
from adapters.passwords import Argon2Hasher
from plugin.services.people import People
from plugin.settings import load_settings
from tests.conftest import reachable_redis_url

HASHER = Argon2Hasher(memory_cost=1024, time_cost=1)
START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_failures_count_per_key_start_again_after_the_window_and_clear(services, engine):
    services.hasher = HASHER
    counter = services.people_store.failures
    window = timedelta(minutes=15)
    for minute in range(3):
        counter.add_failure("address:192.0.2.1", now=START + timedelta(minutes=minute), window=window)
    count, first = counter.failures("address:192.0.2.1", since=START - window)
    assert count == 3 and first.replace(tzinfo=timezone.utc) == START
    counter.add_failure("address:192.0.2.1", now=START + timedelta(minutes=20), window=window)
    assert counter.failures("address:192.0.2.1", since=START + timedelta(minutes=5))[0] == 1  # a new window
    counter.clear("address:192.0.2.1")
    assert counter.failures("address:192.0.2.1", since=START - window) == (0, None)


def test_throttled_sign_in_and_session_rules_hold_on_each_database(services, engine):
    services.hasher = HASHER
    services.people_store.accounts.hasher = HASHER
    create_admin(engine, HASHER, "root@example.com", "root-password-1")
    clock = [START]
    people = People(services, now=lambda: clock[0])
    for _ in range(services.settings.sign_in_failures_per_account):
        assert people.sign_in("root@example.com", "wrong", address="192.0.2.1").account is None
    locked = people.sign_in("root@example.com", "root-password-1", address="192.0.2.7")
    assert locked.account is None and locked.retry_after == services.settings.sign_in_lock_minutes * 60
    clock[0] += timedelta(minutes=services.settings.sign_in_lock_minutes)
    signed = people.sign_in("root@example.com", "root-password-1", address="192.0.2.7")
    assert signed.account is not None and people.session_account(signed.session) == signed.account
    people.sign_out(signed.session)
    assert people.session_account(signed.session) is None


def test_a_token_works_until_it_expires(services, engine):
    services.hasher = HASHER
    create_admin(engine, HASHER, "root@example.com", "root-password-1")
    clock = [START]
    people = People(services, now=lambda: clock[0])
    token, _, expires_at = people.create_token("root@example.com", days=1)
    assert people.token_owner(token, address="192.0.2.1").email == "root@example.com"
    clock[0] = expires_at
    assert people.token_owner(token, address="192.0.2.1").email is None


def test_with_redis_configured_failure_counts_are_shared_through_redis(tmp_path):
    settings = load_settings(environ={}).replace(database_url=f"sqlite:///{tmp_path}/contacts.db",
                                                 redis_url=reachable_redis_url(),
                                                 queue_name="test-" + secrets.token_hex(6))
    first, second = bootstrap(settings, hasher=HASHER), bootstrap(settings, hasher=HASHER)  # two host processes
    try:
        for _ in range(settings.sign_in_failures_per_account):
            first.people.sign_in("root@example.com", "wrong", address="192.0.2.1")
        locked = second.people.sign_in("root@example.com", "anything", address="192.0.2.2")
        assert 890 < locked.retry_after <= 900
        with first.store.engine.connect() as connection:
            assert connection.execute(select(func.count())
                                      .select_from(web_sign_in_failures)).scalar_one() == 0
    finally:
        client = Redis.from_url(settings.redis_url)
        for key in client.scan_iter(f"{settings.queue_name}:*"):
            client.delete(key)
        client.close()
        first.store.engine.dispose()
        second.store.engine.dispose()
