"""plugin.ports.people on SQLAlchemy: server-side sessions, sign-in failure counts, and the accounts and tokens
of adapters/db/accounts.py, adapters/db/invitations.py and adapters/db/tokens.py behind one PeopleStore."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import (Column, DateTime, Engine, ForeignKey, Integer, String, Table, case, delete, select,
                        update)
from sqlalchemy.exc import IntegrityError

from adapters.db import accounts, invitations, tokens
from adapters.db.agents import agents
from adapters.db.models import metadata
from plugin.ports import PasswordHasher
from plugin.ports.people import (Account, FailureCounter, InvitedPerson, IssuedInvitation, IssuedLink,
                                  PendingInvitation, StoredSession, TokenInfo)


# A signed-in browser: the cookie carries the token, only its SHA-256 is kept here.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), index=True, nullable=False),
    Column("role", String(20), nullable=False),  # the agent's role at sign-in: another role ends the session
    Column("password_stamp", String(64), nullable=False),  # of the password hash at sign-in: a new one ends it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
)


# Failed attempts counted per key ("account:<email>", "address:<ip>") since the first of them.
web_sign_in_failures = Table(
    "web_sign_in_failures",
    metadata,
    Column("key", String(400), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_failure_at", DateTime(timezone=True), nullable=False),
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _stamp(password_hash: str | None) -> str:
    return _digest(password_hash or "")


class SqlAccounts:
    def __init__(self, engine: Engine, hasher: PasswordHasher) -> None:
        self.engine, self.hasher = engine, hasher

    def authenticate(self, email: str, password: str) -> Account | None:
        return accounts.authenticate(self.engine, self.hasher, email, password)

    def by_id(self, agent_id: int) -> Account | None:
        return accounts.get_agent(self.engine, agent_id)

    def by_email(self, email: str) -> Account | None:
        agent_id = tokens.agent_id_for_email(self.engine, email)
        return None if agent_id is None else accounts.get_agent(self.engine, agent_id)

    def invitation_expiry(self, token: str) -> datetime | None:
        return invitations.invitation_expiry(self.engine, token)

    def accept_invitation(self, token: str, password_hash: str) -> InvitedPerson | None:
        return invitations.set_password_by_invitation(self.engine, token, password_hash)

    def customer_password_hash(self, email: str) -> str | None:
        return invitations.customer_password_hash(self.engine, email)

    def create_admin(self, email: str, password: str, *, first_name: str, min_length: int) -> int:
        return accounts.create_admin(self.engine, self.hasher, email, password, first_name=first_name,
                                     min_length=min_length)

    def issue_invitation_links(self, *, hours: int) -> list[IssuedInvitation]:
        return invitations.issue_invitation_links(self.engine, hours=hours)

    def pending_invitations(self) -> list[PendingInvitation]:
        return invitations.list_pending_invitations(self.engine)

    def reissue_invitation(self, email: str, *, hours: int) -> IssuedLink | None:
        return invitations.reissue_invitation(self.engine, email, hours=hours)


class SqlFailureCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def failures(self, key: str, *, since: datetime) -> tuple[int, datetime | None]:
        with self.engine.connect() as connection:
            found = connection.execute(select(web_sign_in_failures.c.failures,
                                              web_sign_in_failures.c.first_failure_at).where(
                web_sign_in_failures.c.key == key, web_sign_in_failures.c.first_failure_at >= since)).one_or_none()
        return (0, None) if found is None else (int(found.failures), found.first_failure_at)

    def add_failure(self, key: str, *, now: datetime, window: timedelta) -> None:
        """One UPDATE (a count older than window starts again), or the first INSERT; a racing INSERT updates."""
        is_old = web_sign_in_failures.c.first_failure_at < now - window
        counted = update(web_sign_in_failures).where(web_sign_in_failures.c.key == key).values(
            failures=case((is_old, 1), else_=web_sign_in_failures.c.failures + 1),
            first_failure_at=case((is_old, now), else_=web_sign_in_failures.c.first_failure_at))
        for _ in range(3):
            with self.engine.begin() as connection:
                if connection.execute(counted).rowcount == 1:
                    return
            try:
                with self.engine.begin() as connection:
                    connection.execute(web_sign_in_failures.insert().values(key=key, failures=1,
                                                                            first_failure_at=now))
                return
            except IntegrityError:  # another process counted the first failure meanwhile
                continue

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(web_sign_in_failures).where(web_sign_in_failures.c.key == key))

    def forget_older_than(self, moment: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(web_sign_in_failures)
                               .where(web_sign_in_failures.c.first_failure_at < moment))


class SqlSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, agent_id: int, *, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            agent = connection.execute(select(agents.c.role, agents.c.password_hash)
                                       .where(agents.c.id == agent_id)).one()
            connection.execute(web_sessions.insert().values(
                token_hash=_digest(token), agent_id=agent_id, role=agent.role, password_stamp=_stamp(agent.password_hash),
                created_at=now, last_seen_at=now))
        return token

    def find(self, token: str) -> StoredSession | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(web_sessions.c.role.label("role_at_start"), web_sessions.c.password_stamp,
                       web_sessions.c.created_at, web_sessions.c.last_seen_at, web_sessions.c.ended_at, agents.c.id,
                       agents.c.email, agents.c.first_name, agents.c.last_name, agents.c.role, agents.c.is_active,
                       agents.c.password_hash)
                .join(agents, agents.c.id == web_sessions.c.agent_id)
                .where(web_sessions.c.token_hash == _digest(token))
            ).one_or_none()
        if row is None:
            return None
        account = Account(row.id, row.email, row.first_name, row.last_name, row.role, row.is_active)
        return StoredSession(account, row.role_at_start, row.password_stamp == _stamp(row.password_hash),
                             row.created_at, row.last_seen_at, row.ended_at)

    def touch(self, token: str, *, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(web_sessions).where(web_sessions.c.token_hash == _digest(token))
                               .values(last_seen_at=now))

    def end(self, token: str, *, now: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(web_sessions).where(web_sessions.c.token_hash == _digest(token),
                                                          web_sessions.c.ended_at.is_(None)).values(ended_at=now))


    def forget_older_than(self, moment: datetime) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(web_sessions).where(web_sessions.c.created_at < moment))


class SqlTokens:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, email: str, *, name: str, expires_at: datetime | None, now: datetime) -> str:
        return tokens.create_token(self.engine, email, name=name, expires_at=expires_at, now=lambda: now)

    def owner(self, token: str, *, now: datetime) -> str | None:
        return tokens.email_for_token(self.engine, token, now=lambda: now)

    def list(self) -> list[TokenInfo]:
        return tokens.list_tokens(self.engine)

    def revoke(self, email: str, *, now: datetime) -> int:
        return tokens.revoke_tokens(self.engine, email, now=lambda: now)

    def revoke_one(self, token_id: int, *, now: datetime) -> bool:
        return tokens.revoke_token(self.engine, token_id, now=lambda: now)


class SqlPeopleStore:
    """plugin.ports.people.PeopleStore over one engine."""

    def __init__(self, engine: Engine, hasher: PasswordHasher) -> None:
        self.accounts = SqlAccounts(engine, hasher)
        self.failures: FailureCounter = SqlFailureCounter(engine)  # Redis's when redis_url is set (bootstrap)
        self.sessions = SqlSessions(engine)
        self.tokens = SqlTokens(engine)
