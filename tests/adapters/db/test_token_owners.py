"""Whose API tokens a person may make, see and revoke, on SQLite and PostgreSQL (services.people, what the tokens
page calls): an admin anybody's, a support admin only their own; one token is revoked at a time and stops at once."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from adapters.db.accounts import create_admin
from adapters.passwords import Argon2Hasher
from plugin.services.people import People, PeopleError
from plugin.services.undo import Actor

HASHER = Argon2Hasher(memory_cost=1024, time_cost=1)
START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
ADMIN, SUPPORT = Actor("root@example.com", "admin"), Actor("sam@example.com", "support_admin")


@pytest.fixture
def people(services, engine):  # type: ignore[no-untyped-def]
    services.hasher = HASHER
    create_admin(engine, HASHER, ADMIN.name, "root-password-1")
    report = services.imports.import_file("users", io.BytesIO(
        f"email,first_name,role\n{SUPPORT.name},Sam,support_admin\n".encode()), file_name="people.csv", actor="setup")
    assert report.created == 1, report.as_dict()
    clock = [START]
    people = People(services, now=lambda: clock[0])
    people.clock = clock  # type: ignore[attr-defined]
    return people


def owner(people: People, token: str) -> str | None:
    return people.token_owner(token, address="192.0.2.1").email


def test_a_support_admin_makes_sees_and_revokes_only_their_own_tokens(people):
    admins, _, _ = people.create_token(ADMIN.name, name="export", by=ADMIN)
    first, _, _ = people.create_token(SUPPORT.name, name="report", by=SUPPORT)
    second, _, _ = people.create_token(SUPPORT.name, name="sync", by=SUPPORT)
    with pytest.raises(PeopleError) as refused:
        people.create_token(ADMIN.name, name="not mine", by=SUPPORT)
    assert refused.value.code == "token.not_yours"
    seen = people.tokens_seen_by(SUPPORT)
    assert [token.name for token in seen] == ["sync", "report"]  # newest first, their own only
    admin_token_id = next(token.id for token in people.tokens_seen_by(ADMIN) if token.email == ADMIN.name)
    with pytest.raises(PeopleError) as refused:
        people.revoke_token(admin_token_id, by=SUPPORT)
    assert refused.value.code == "token.not_yours" and owner(people, admins) == ADMIN.name

    people.revoke_token(seen[1].id, by=SUPPORT)
    assert owner(people, first) is None and owner(people, second) == SUPPORT.name  # one token, not all of theirs
    with pytest.raises(PeopleError) as again:
        people.revoke_token(seen[1].id, by=SUPPORT)
    assert again.value.code == "token.revoked"
    assert {token.name: token.state(people.now()) for token in people.tokens_seen_by(SUPPORT)} == {
        "sync": "active", "report": "revoked"}


def test_an_admin_makes_and_revokes_anybodys_token(people):
    token, account, _ = people.create_token(SUPPORT.name, name="for Sam", days=1, by=ADMIN)
    assert account.email == SUPPORT.name and owner(people, token) == SUPPORT.name
    (listed,) = [found for found in people.tokens_seen_by(ADMIN) if found.name == "for Sam"]
    people.clock[0] += timedelta(days=2)
    assert listed.state(people.now()) == "expired"
    people.revoke_token(listed.id, by=ADMIN)
    with pytest.raises(PeopleError) as unknown:
        people.revoke_token(999_999, by=ADMIN)
    assert unknown.value.code == "token.unknown"


def test_a_token_works_for_1_to_3650_days_and_its_name_fits(people):
    for days in (0, 3651):
        with pytest.raises(PeopleError, match="1 to 3650 days"):
            people.create_token(ADMIN.name, days=days, by=ADMIN)
    with pytest.raises(PeopleError, match="at most 200 characters"):
        people.create_token(ADMIN.name, name="x" * 201, by=ADMIN)
    assert people.tokens_seen_by(ADMIN) == []  # nothing was made
