"""The people store on SQLite and PostgreSQL: failure counts, server-side sessions, token expiry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from adapters.db.accounts import create_admin
from adapters.passwords import Argon2Hasher
from plugin.services.people import People

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
