"""API tokens: only a token's SHA-256 is kept; the token itself is shown once, when it is made. A token works
until it is revoked or expires."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, or_, select, update

from adapters.db.catalog import utc_now
from adapters.db.models import metadata
from plugin.ports.people import TokenInfo

Clock = Callable[[], datetime]
TOKEN_PREFIX = "cit_"
DEFAULT_TOKEN_DAYS = 90  # the token_days setting's default, for tokens made without an expiry


# An API token: only its SHA-256 is kept; the token itself is shown once, when it is made.
web_api_tokens = Table(
    "web_api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), unique=True, nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(200), default="", nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),  # None: made before tokens expired
)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, email: str, *, name: str = "", expires_at: datetime | None = None,
                 now: Clock = utc_now) -> str:
    """Make a token for the person with this email; returns the token, which is not stored anywhere.

    Without expires_at it works for DEFAULT_TOKEN_DAYS."""
    moment = now()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(web_api_tokens.insert().values(
            token_hash=_token_hash(token), email=email, name=name, created_at=moment,
            expires_at=expires_at or moment + timedelta(days=DEFAULT_TOKEN_DAYS)))
    return token


def email_for_token(engine: Engine, token: str, *, now: Clock = utc_now) -> str | None:
    """Whose token this is, or None for an unknown, revoked or expired token; records its use."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest, moment = _token_hash(token), now()
    with engine.begin() as connection:
        found = connection.execute(select(web_api_tokens.c.id, web_api_tokens.c.email).where(
            web_api_tokens.c.token_hash == digest, web_api_tokens.c.revoked_at.is_(None),
            or_(web_api_tokens.c.expires_at.is_(None), web_api_tokens.c.expires_at > moment))).one_or_none()
        if found is None:
            return None
        connection.execute(update(web_api_tokens).where(web_api_tokens.c.id == found.id)
                           .values(last_used_at=moment))
        return str(found.email)


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token (never the token itself), oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(web_api_tokens.c.id, web_api_tokens.c.email, web_api_tokens.c.name,
                                         web_api_tokens.c.created_at, web_api_tokens.c.expires_at,
                                         web_api_tokens.c.last_used_at, web_api_tokens.c.revoked_at)
                                  .order_by(web_api_tokens.c.id)).all()
    return [TokenInfo(*row) for row in rows]


def revoke_tokens(engine: Engine, email: str, *, now: Clock = utc_now) -> int:
    with engine.begin() as connection:
        result = connection.execute(update(web_api_tokens)
                                    .where(web_api_tokens.c.email == email, web_api_tokens.c.revoked_at.is_(None))
                                    .values(revoked_at=now()))
        return int(result.rowcount or 0)


def revoke_token(engine: Engine, token_id: int, *, now: Clock = utc_now) -> bool:
    with engine.begin() as connection:
        result = connection.execute(update(web_api_tokens)
                                    .where(web_api_tokens.c.id == token_id, web_api_tokens.c.revoked_at.is_(None))
                                    .values(revoked_at=now()))
        return bool(result.rowcount)


def agent_id_for_email(engine: Engine, email: str) -> int | None:
    """The agent with this email (any case), for API tokens made by email; None when there is none."""
    from adapters.db.agents import (
        agents,  # agents are the standalone host's people; a helpdesk brings its own
    )
    from plugin.emails import InvalidEmail, email_key, normalize_email

    try:
        key = email_key(normalize_email(email))
    except InvalidEmail:
        return None
    with engine.connect() as connection:
        found = connection.execute(select(agents.c.id).where(agents.c.email_key == key)).scalar_one_or_none()
        return None if found is None else int(found)
