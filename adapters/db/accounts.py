"""Agents' accounts: sign-in, the first admin, set-password invitations and the agents' export.

Only hashes are stored; a password is checked by the PasswordHasher port, never compared here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import groupby
from typing import Protocol

from sqlalchemy import Engine, bindparam, select, update

from adapters.db.agents import (Agent, AgentTeam, Invitation, agents, display_name, invitations,  # noqa: F401
                                set_password_link, token_hash)
from adapters.db.catalog import utc_now
from adapters.db.models import Team
from adapters.db.usernames import allocate_usernames
from adapters.invitations import new_invitation_token
from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.kinds.agents import DEFAULT_PASSWORD_MIN_LENGTH, username_from_email
from plugin.ports import PasswordHasher
from plugin.ports.people import Account, IssuedInvitation, IssuedLink, PendingInvitation

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

class AgentError(ValueError):
    """An agent cannot be created, or an invitation used, as asked; the message says why."""


AgentAccount = Account  # what sign-in knows about an agent; never the password hash


class InvitationSender(Protocol):
    def send(self, to_email: str, name: str, link: str, expires_at: datetime) -> None: ...


def _account(row) -> AgentAccount:  # type: ignore[no-untyped-def]
    return AgentAccount(row.id, row.email, row.first_name, row.last_name, row.role, row.is_active)


_ACCOUNT_COLUMNS = (Agent.id, Agent.email, Agent.first_name, Agent.last_name, Agent.role, Agent.is_active)


def _key_or_none(email: str) -> str | None:
    try:
        return email_key(normalize_email(email))
    except InvalidEmail:
        return None


def authenticate(engine: Engine, hasher: PasswordHasher, email: str, password: str, *,
                 now: Clock = utc_now) -> AgentAccount | None:
    """The agent when email and password match an active agent; None otherwise, whatever the reason.

    An unknown email is checked against a dummy hash, so it takes as long as a wrong password.
    """
    key = _key_or_none(email)
    with engine.connect() as connection:
        row = None if key is None else connection.execute(
            select(*_ACCOUNT_COLUMNS, Agent.password_hash).where(Agent.email_key == key)).one_or_none()
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
        row = connection.execute(select(*_ACCOUNT_COLUMNS).where(Agent.id == agent_id)).one_or_none()
    return None if row is None else _account(row)


def _check_new_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise AgentError(f"The password is shorter than {min_length} characters; choose a longer one.")


def create_admin(engine: Engine, hasher: PasswordHasher, email: str, password: str, *, first_name: str = "Admin",
                 min_length: int = DEFAULT_PASSWORD_MIN_LENGTH, now: Clock = utc_now) -> int:
    """Create an active admin with this password and return its id; the email must be new."""
    try:
        normalized = normalize_email(email)
    except InvalidEmail as error:
        raise AgentError(f"{email.strip()!r} is not a valid email address: {error}") from None
    _check_new_password(password, min_length)
    password_hash = hasher.hash_many([password])[0]
    moment = now()
    with engine.begin() as connection:
        existing = connection.execute(select(Agent.id).where(Agent.email_key == email_key(normalized))).scalar()
        if existing is not None:
            raise AgentError(f"An agent with the email {normalized} already exists (id {existing}).")
        return connection.execute(agents.insert().values(
            email=normalized, email_key=email_key(normalized),
            username=allocate_usernames(connection, agents.c.username, [username_from_email(email_key(normalized))])[0],
            first_name=" ".join(first_name.split()) or None, last_name=None, password_hash=password_hash,
            is_active=True, role="admin", created_at=moment, updated_at=moment,
        ).returning(agents.c.id)).scalar_one()


# ---- invitations


def _pending(now: datetime):  # type: ignore[no-untyped-def]
    return (select(Invitation.id, Invitation.agent_id, Invitation.created_at, Invitation.expires_at,
                   Invitation.sent_at, Invitation.token_hash, Agent.email, Agent.first_name, Agent.last_name)
            .join(Agent, Agent.id == Invitation.agent_id)
            .where(Invitation.used_at.is_(None), Agent.password_hash.is_(None), Agent.is_active.is_(True)))


def create_invitation(engine: Engine, agent_id: int, *, hours: int = 72, now: Clock = utc_now,
                      new_token: Callable[[], tuple[str, str]] = new_invitation_token) -> IssuedInvitation:
    """A new invitation for an agent, with its link's token (only its hash is stored)."""
    moment = now()
    token, digest = new_token()
    with engine.begin() as connection:
        agent = connection.execute(select(Agent.email, Agent.first_name, Agent.last_name)
                                   .where(Agent.id == agent_id)).one_or_none()
        if agent is None:
            raise AgentError(f"There is no agent {agent_id}.")
        expires_at = moment + timedelta(hours=hours)
        invitation_id = connection.execute(invitations.insert().values(
            agent_id=agent_id, token_hash=digest, expires_at=expires_at, created_at=moment,
        ).returning(invitations.c.id)).scalar_one()
    return IssuedInvitation(invitation_id, agent_id, agent.email, display_name(agent.first_name, agent.last_name),
                            token, expires_at)


def issue_invitation_links(engine: Engine, *, hours: int = 72, import_id: int | None = None, unsent_only: bool = False,
                           now: Clock = utc_now, new_token: Callable[[], tuple[str, str]] = new_invitation_token
                           ) -> list[IssuedInvitation]:
    """Fresh links for pending invitations (of one import, or all); earlier links of those stop working."""
    moment = now()
    expires_at = moment + timedelta(hours=hours)
    query = _pending(moment).order_by(Invitation.id)
    if import_id is not None:
        query = query.where(Invitation.import_id == import_id)
    if unsent_only:
        query = query.where(Invitation.sent_at.is_(None))
    issued: list[IssuedInvitation] = []
    params: list[dict[str, object]] = []
    with engine.begin() as connection:
        for row in connection.execute(query).all():
            token, digest = new_token()
            issued.append(IssuedInvitation(row.id, row.agent_id, row.email, display_name(row.first_name, row.last_name),
                                           token, expires_at))
            params.append({"b_id": row.id, "b_hash": digest})
        if params:
            connection.execute(update(invitations).where(invitations.c.id == bindparam("b_id"))
                               .values(token_hash=bindparam("b_hash"), expires_at=expires_at), params)
    return issued


def list_pending_invitations(engine: Engine, *, now: Clock = utc_now) -> list[PendingInvitation]:
    """Invitations whose agent has no password yet, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(_pending(now()).order_by(Invitation.id)).all()
    return [PendingInvitation(row.id, row.email, display_name(row.first_name, row.last_name), row.created_at,
                              row.expires_at, row.sent_at, row.token_hash is not None) for row in rows]


def mail_invitations(engine: Engine, sender: InvitationSender, *, import_id: int, hours: int = 72,
                     link_for: Callable[[str], str] = set_password_link, now: Clock = utc_now) -> int:
    """Mail a fresh link for each invitation an import created and nobody mailed yet; returns how many went out.

    A mail the server refuses is logged (without its link) and stays unsent for `contact-importer invitations`.
    """
    sent: list[int] = []
    for invitation in issue_invitation_links(engine, hours=hours, import_id=import_id, unsent_only=True, now=now):
        try:
            sender.send(invitation.email, invitation.name, link_for(invitation.token), invitation.expires_at)
        except OSError as error:  # smtplib.SMTPException is an OSError, like a refused connection
            logger.warning("invitation %s was not mailed: %s", invitation.invitation_id, type(error).__name__)
            continue
        sent.append(invitation.invitation_id)
    if sent:
        with engine.begin() as connection:
            connection.execute(update(invitations).where(invitations.c.id.in_(sent)).values(sent_at=now()))
    logger.info("import %s: %d invitations mailed", import_id, len(sent))
    return len(sent)


def accept_invitation(engine: Engine, hasher: PasswordHasher, token: str, new_password: str, *,
                      min_length: int = DEFAULT_PASSWORD_MIN_LENGTH, now: Clock = utc_now) -> AgentAccount:
    """Set the agent's password through an invitation link; the link works once, and not after it expires."""
    _check_new_password(new_password, min_length)
    if invitation_expiry(engine, token, now=now) is None:
        raise AgentError(UNUSABLE_LINK)
    account = set_password_by_invitation(engine, token, hasher.hash_many([new_password])[0], now=now)
    if account is None:
        raise AgentError(UNUSABLE_LINK)
    return account


UNUSABLE_LINK = "This invitation link does not work: it was used already, replaced by a newer one, or expired."


def invitation_expiry(engine: Engine, token: str, *, now: Clock = utc_now) -> datetime | None:
    """When the unused, unexpired invitation behind this link's token expires; None when there is none."""
    with engine.connect() as connection:
        return connection.execute(select(Invitation.expires_at).where(
            Invitation.token_hash == token_hash(token), Invitation.used_at.is_(None),
            Invitation.expires_at > now())).scalar_one_or_none()


def set_password_by_invitation(engine: Engine, token: str, password_hash: str, *,
                               now: Clock = utc_now) -> AgentAccount | None:
    """Claim the link (once: of two at the same moment, one wins) and set the agent's password hash; every
    other pending link of the agent stops working. None when the link is used, replaced or expired."""
    moment = now()
    with engine.begin() as connection:
        found = connection.execute(select(Invitation.id, Invitation.agent_id).where(
            Invitation.token_hash == token_hash(token), Invitation.used_at.is_(None),
            Invitation.expires_at > moment)).one_or_none()
        if found is None:
            return None
        claimed = connection.execute(update(invitations).where(invitations.c.id == found.id,
                                                               invitations.c.used_at.is_(None))
                                     .values(used_at=moment)).rowcount
        if claimed != 1:
            return None
        connection.execute(update(invitations).where(invitations.c.agent_id == found.agent_id,
                                                     invitations.c.used_at.is_(None)).values(used_at=moment))
        connection.execute(update(agents).where(agents.c.id == found.agent_id)
                           .values(password_hash=password_hash, updated_at=moment))
        row = connection.execute(select(*_ACCOUNT_COLUMNS).where(Agent.id == found.agent_id)).one()
    return _account(row)


def reissue_invitation(engine: Engine, email: str, *, hours: int, now: Clock = utc_now,
                       new_token: Callable[[], tuple[str, str]] = new_invitation_token) -> IssuedLink | None:
    """A new invitation link for the agent with this email (earlier links stop
    working: they count as used, replaced by this one). None when the agent has a
    password, is inactive or does not exist."""
    key = _key_or_none(email)
    if key is None:
        return None
    moment = now()
    with engine.connect() as connection:
        agent = connection.execute(select(Agent.id).where(Agent.email_key == key, Agent.password_hash.is_(None),
                                                          Agent.is_active.is_(True))).scalar_one_or_none()
    if agent is None:
        return None
    with engine.begin() as connection:
        connection.execute(update(invitations).where(invitations.c.agent_id == agent, invitations.c.used_at.is_(None))
                           .values(used_at=moment))  # replaced
    issued = create_invitation(engine, agent, hours=hours, now=now, new_token=new_token)
    return IssuedLink(issued.email, issued.name, issued.token, issued.expires_at)


# ---- export

AGENT_EXPORT_COLUMNS = ("email", "first_name", "last_name", "active", "username", "role", "teams")


def export_agents(engine: Engine, *, batch: int = 2000) -> tuple[list[str], Iterator[list[object]]]:
    """Headers and rows in the import format; there is no password column, ever."""

    def rows() -> Iterator[list[object]]:
        last_id = 0
        with engine.connect() as connection:
            while True:
                found = connection.execute(
                    select(Agent.id, Agent.email, Agent.first_name, Agent.last_name, Agent.is_active, Agent.username,
                           Agent.role).where(Agent.id > last_id).order_by(Agent.id).limit(batch)).all()
                if not found:
                    return
                ids = [row.id for row in found]
                teams = {agent_id: ":".join(sorted(name for _, name in pairs)) for agent_id, pairs in groupby(
                    connection.execute(select(AgentTeam.agent_id, Team.name).join(Team)
                                       .where(AgentTeam.agent_id.in_(ids)).order_by(AgentTeam.agent_id)),
                    key=lambda pair: pair[0])}
                for row in found:
                    yield [row.email, row.first_name or "", row.last_name or "", "true" if row.is_active else "false",
                           row.username, row.role, teams.get(row.id, "")]
                last_id = ids[-1]

    return list(AGENT_EXPORT_COLUMNS), rows()
