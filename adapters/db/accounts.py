"""Agents' accounts: sign-in, the first admin and the agents' export (invitations: adapters/db/invitations.py).

Only hashes are stored; a password is checked by the PasswordHasher port, never compared here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import groupby

from sqlalchemy import Engine, select, update

from adapters.db.agents import agent_teams, agents
from adapters.db.catalog import utc_now
from adapters.db.models import teams
from adapters.db.usernames import allocate_usernames
from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.kinds.agents import DEFAULT_PASSWORD_MIN_LENGTH, username_from_email
from plugin.ports import PasswordHasher
from plugin.ports.people import Account


Clock = Callable[[], datetime]

class AgentError(ValueError):
    """An agent cannot be created, or an invitation used, as asked; the message says why."""


AgentAccount = Account  # what sign-in knows about an agent; never the password hash


def _account(row) -> AgentAccount:  # type: ignore[no-untyped-def]
    return AgentAccount(row.id, row.email, row.first_name, row.last_name, row.role, row.is_active)


_ACCOUNT_COLUMNS = (agents.c.id, agents.c.email, agents.c.first_name, agents.c.last_name, agents.c.role,
                    agents.c.is_active)


def key_or_none(email: str) -> str | None:
    try:
        return email_key(normalize_email(email))
    except InvalidEmail:
        return None


def authenticate(engine: Engine, hasher: PasswordHasher, email: str, password: str, *,
                 now: Clock = utc_now) -> AgentAccount | None:
    """The agent when email and password match an active agent; None otherwise, whatever the reason.

    An unknown email is checked against a dummy hash, so it takes as long as a wrong password.
    """
    key = key_or_none(email)
    with engine.connect() as connection:
        row = None if key is None else connection.execute(
            select(*_ACCOUNT_COLUMNS, agents.c.password_hash).where(agents.c.email_key == key)).one_or_none()
    stored = row.password_hash if row is not None else None
    is_match = hasher.verify(password, stored)
    if row is None or not is_match or not row.is_active:
        return None
    changes: dict[str, object] = {"last_sign_in_at": now()}
    if hasher.needs_rehash(str(stored)):
        changes["password_hash"] = hasher.hash_many([password])[0]
    with engine.begin() as connection:
        connection.execute(update(agents).where(agents.c.id == row.id).values(**changes))
    return _account(row)


def get_agent(engine: Engine, agent_id: int) -> AgentAccount | None:
    with engine.connect() as connection:
        row = connection.execute(select(*_ACCOUNT_COLUMNS).where(agents.c.id == agent_id)).one_or_none()
    return None if row is None else _account(row)


def check_new_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise AgentError(f"The password is shorter than {min_length} characters; choose a longer one.")


def create_admin(engine: Engine, hasher: PasswordHasher, email: str, password: str, *, first_name: str = "Admin",
                 min_length: int = DEFAULT_PASSWORD_MIN_LENGTH, now: Clock = utc_now) -> int:
    """Create an active admin with this password and return its id; the email must be new."""
    try:
        normalized = normalize_email(email)
    except InvalidEmail as error:
        raise AgentError(f"{email.strip()!r} is not a valid email address: {error}") from None
    check_new_password(password, min_length)
    password_hash = hasher.hash_many([password])[0]
    moment = now()
    with engine.begin() as connection:
        existing = connection.execute(select(agents.c.id)
                                      .where(agents.c.email_key == email_key(normalized))).scalar()
        if existing is not None:
            raise AgentError(f"An agent with the email {normalized} already exists (id {existing}).")
        return connection.execute(agents.insert().values(
            email=normalized, email_key=email_key(normalized),
            username=allocate_usernames(connection, agents.c.username, [username_from_email(email_key(normalized))])[0],
            first_name=" ".join(first_name.split()) or None, last_name=None, password_hash=password_hash,
            is_active=True, role="admin", created_at=moment, updated_at=moment,
        ).returning(agents.c.id)).scalar_one()


# ---- export

AGENT_EXPORT_COLUMNS = ("email", "first_name", "last_name", "active", "username", "role", "teams")


def export_agents(engine: Engine, *, batch: int = 2000) -> tuple[list[str], Iterator[list[object]]]:
    """Headers and rows in the import format; there is no password column, ever."""

    def rows() -> Iterator[list[object]]:
        last_id = 0
        with engine.connect() as connection:
            while True:
                found = connection.execute(
                    select(agents.c.id, agents.c.email, agents.c.first_name, agents.c.last_name,
                           agents.c.is_active, agents.c.username, agents.c.role)
                    .where(agents.c.id > last_id).order_by(agents.c.id).limit(batch)).all()
                if not found:
                    return
                ids = [row.id for row in found]
                team_names = {agent_id: ":".join(sorted(name for _, name in pairs)) for agent_id, pairs in groupby(
                    connection.execute(select(agent_teams.c.agent_id, teams.c.name).join(teams)
                                       .where(agent_teams.c.agent_id.in_(ids)).order_by(agent_teams.c.agent_id)),
                    key=lambda pair: pair[0])}
                for row in found:
                    yield [row.email, row.first_name or "", row.last_name or "", "true" if row.is_active else "false",
                           row.username, row.role, team_names.get(row.id, "")]
                last_id = ids[-1]

    return list(AGENT_EXPORT_COLUMNS), rows()
