"""Agents in the database: their table for the import, sign-in, the first admin, invitations and the export.

Only hashes are stored: `AgentTable.write` refuses a planned row that still carries a plain password.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Protocol

from sqlalchemy import (Boolean, Connection, DateTime, Engine, ForeignKey, Integer, String, bindparam, delete, or_,
                        select, update)
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.catalog import ensure_teams, utc_now
from adapters.db.dialect import insert_for
from adapters.db.models import Base, Team  # teams: agents', and the groups customers belong to
from adapters.db.usernames import allocate_usernames
from adapters.invitations import new_invitation_token
from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.kinds import Catalog
from plugin.kinds.agents import DEFAULT_PASSWORD_MIN_LENGTH, DEFAULT_ROLE, AgentCatalog, username_from_email
from plugin.plan import Action, Existing, PlannedRow
from plugin.ports import PasswordHasher

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SET_PASSWORD_PATH = "/agents/set-password"  # the web sign-in's page; the host puts its address in front


class Agent(Base):
    """Someone who works in the helpdesk: signs in, answers tickets."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)  # casefolded: uniqueness ignores case
    username: Mapped[str] = mapped_column(String(100), unique=True)  # lowercase
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: invited, no password yet
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[str] = mapped_column(String(20), default=DEFAULT_ROLE)  # admin, support_admin, agent
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_import_id: Mapped[int | None] = mapped_column(Integer)
    last_import_row: Mapped[int | None] = mapped_column(Integer)


class AgentTeam(Base):
    __tablename__ = "agent_teams"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)


class Invitation(Base):
    """A set-password invitation. Only the sha256 of the link's token is kept; None until a link is issued."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    import_id: Mapped[int | None] = mapped_column(Integer)  # the import that created the agent


agents = Agent.__table__
invitations = Invitation.__table__
# planned values → agents columns
AGENT_COLUMNS = {"email": "email", "first_name": "first_name", "last_name": "last_name", "active": "is_active",
                 "username": "username", "role": "role", "password_hash": "password_hash"}


class AgentError(ValueError):
    """An agent cannot be created, or an invitation used, as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class AgentAccount:
    """What sign-in knows about an agent; never the password hash."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    role: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A fresh set-password link's token, held only in memory until it is mailed or shown."""

    invitation_id: int
    agent_id: int
    email: str
    name: str
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PendingInvitation:
    """An invitation not used yet, for `contact-importer invitations`."""

    invitation_id: int
    email: str
    name: str
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    has_link: bool


class InvitationSender(Protocol):
    def send(self, to_email: str, name: str, link: str, expires_at: datetime) -> None: ...


def token_hash(token: str) -> str:
    """What is stored for a link's token (the same digest as adapters.invitations.new_invitation_token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def set_password_link(token: str) -> str:
    return f"{SET_PASSWORD_PATH}?token={token}"


def _display_name(first_name: str | None, last_name: str | None) -> str:
    return " ".join(part for part in (first_name, last_name) if part)


# ---- the import's storage


class AgentTable:
    """The users kind's storage: agents with their teams; new agents without a password get an invitation."""

    kind = "users"

    def __init__(self, *, invitation_hours: int = 72) -> None:
        self.invitation_hours = invitation_hours

    def extend_catalog(self, connection: Connection, catalog: Catalog) -> AgentCatalog:
        """Teams and every agent's username, loaded once per import."""
        usernames = dict(connection.execute(select(Agent.username, Agent.email_key)).all())
        return AgentCatalog(
            label_ids=catalog.label_ids, companies=catalog.companies, custom_fields=catalog.custom_fields,
            teams=dict(connection.execute(select(Team.name, Team.id)).all()),
            usernames=usernames, agent_usernames={key: username for username, key in usernames.items()},
        )

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None
             ) -> tuple[dict[str, Existing], dict[int, Existing]]:
        if not keys and not ids:
            return {}, {}
        found = connection.execute(
            select(Agent.id, Agent.email_key, Agent.email, Agent.first_name, Agent.last_name, Agent.is_active,
                   Agent.username, Agent.role, Agent.last_import_id, Agent.last_import_row)
            .where(or_(Agent.email_key.in_(list(keys)), Agent.id.in_(list(ids))))
        ).all()
        teams: dict[int, set[str]] = defaultdict(set)
        if found:
            for agent_id, name in connection.execute(
                select(AgentTeam.agent_id, Team.name).join(Team, Team.id == AgentTeam.team_id)
                .where(AgentTeam.agent_id.in_([row.id for row in found]))
            ):
                teams[agent_id].add(name)
        by_key: dict[str, Existing] = {}
        by_id: dict[int, Existing] = {}
        for row in found:
            existing = Existing(
                id=row.id, key=row.email_key,
                values={"email": row.email, "first_name": row.first_name, "last_name": row.last_name,
                        "active": row.is_active, "username": row.username, "role": row.role,
                        "teams": frozenset(teams[row.id])},
                claimed_by_row=row.last_import_row if job_id is not None and row.last_import_id == job_id else None,
            )
            by_key[row.email_key] = existing
            by_id[row.id] = existing
        return by_key, by_id

    def find_owners(self, connection: Connection, field: str, values: Collection[object]) -> dict[object, str]:
        return {}  # agents' usernames are claimed through their catalog (plugin.kinds.agents.AgentCatalog)

    def write(self, connection: Connection, job_id: int, planned: Sequence[PlannedRow], *,
              options: Mapping[str, object], catalog: Catalog, now: datetime) -> dict[int, int]:
        """Apply a batch; returns row number → agent id for the rows that were written."""
        if any("password" in row.values for row in planned):
            raise ValueError("agents' passwords must be hashed before they are written; no hashing step ran")
        wanted_teams = {name for row in planned for name in row.values.get("teams", ())}  # type: ignore[attr-defined]
        missing = wanted_teams - set(catalog.teams)
        if missing:
            catalog.teams.update(ensure_teams(connection, missing, now=now))
        written: dict[int, int] = {}
        creating = [row for row in planned if row.action is Action.CREATED]
        if creating:
            written.update(self._insert(connection, job_id, creating, now))
            self._invite(connection, job_id, [written[row.row] for row in creating if "password_hash" not in row.values], now)
        for row in planned:
            if row.action in (Action.UPDATED, Action.UNCHANGED) and row.record_id is not None:
                written[row.row] = row.record_id
        self._update(connection, job_id, [row for row in planned if row.action is Action.UPDATED], now)
        unchanged = [{"b_id": row.record_id, "b_row": row.row} for row in planned if row.action is Action.UNCHANGED]
        if unchanged:
            connection.execute(update(agents).where(agents.c.id == bindparam("b_id"))
                               .values(last_import_id=job_id, last_import_row=bindparam("b_row")), unchanged)
        changing = [row for row in planned if row.action in (Action.CREATED, Action.UPDATED)]
        self._write_teams(connection, changing, written, catalog, replace=bool(options.get("replace_teams")))
        return written

    def _insert(self, connection: Connection, job_id: int, rows: Sequence[PlannedRow], now: datetime) -> dict[int, int]:
        params = [{
            "email": row.values["email"], "email_key": row.key,
            "username": row.values.get("username") or username_from_email(str(row.key)),
            "first_name": row.values.get("first_name"), "last_name": row.values.get("last_name"),
            "password_hash": row.values.get("password_hash"), "is_active": row.values.get("active", True),
            "role": row.values.get("role", DEFAULT_ROLE), "created_at": now, "updated_at": now,
            "last_import_id": job_id, "last_import_row": row.row,
        } for row in rows]
        statement = insert_for(connection, agents)
        statement = statement.on_conflict_do_update(  # someone else created the same email meanwhile
            index_elements=["email_key"],
            set_={"updated_at": statement.excluded.updated_at, "last_import_id": statement.excluded.last_import_id,
                  "last_import_row": statement.excluded.last_import_row},
        ).returning(agents.c.id, sort_by_parameter_order=True)
        ids = [row.id for row in connection.execute(statement, params)]
        return {planned.row: agent_id for planned, agent_id in zip(rows, ids, strict=True)}

    def _invite(self, connection: Connection, job_id: int, agent_ids: Sequence[int], now: datetime) -> None:
        if agent_ids:
            expires_at = now + timedelta(hours=self.invitation_hours)
            connection.execute(invitations.insert(), [
                {"agent_id": agent_id, "token_hash": None, "expires_at": expires_at, "created_at": now,
                 "import_id": job_id} for agent_id in agent_ids])

    def _update(self, connection: Connection, job_id: int, rows: Sequence[PlannedRow], now: datetime) -> None:
        groups: dict[tuple[str, ...], list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            names = tuple(name for name in AGENT_COLUMNS if name in row.values)
            params: dict[str, object] = {f"b_{name}": row.values[name] for name in names}
            if "email" in names:
                params["b_email_key"] = row.key
            params.update(b_id=row.record_id, b_row=row.row)
            groups[names].append(params)
        for names, params in groups.items():
            values: dict[str, object] = {AGENT_COLUMNS[name]: bindparam(f"b_{name}") for name in names}
            if "email" in names:
                values["email_key"] = bindparam("b_email_key")
            connection.execute(update(agents).where(agents.c.id == bindparam("b_id"))
                               .values(**values, updated_at=now, last_import_id=job_id,
                                       last_import_row=bindparam("b_row")), params)

    def _write_teams(self, connection: Connection, rows: Sequence[PlannedRow], written: Mapping[int, int],
                     catalog: Catalog, *, replace: bool) -> None:
        with_teams = [row for row in rows if "teams" in row.values]
        if replace:
            replaced = [written[row.row] for row in with_teams if row.action is Action.UPDATED]
            if replaced:
                connection.execute(delete(AgentTeam).where(AgentTeam.agent_id.in_(replaced)))
        links = [{"agent_id": written[row.row], "team_id": catalog.teams[name]}
                 for row in with_teams for name in row.values["teams"]]  # type: ignore[attr-defined]
        if links:
            connection.execute(insert_for(connection, AgentTeam.__table__).on_conflict_do_nothing(), links)


# ---- sign-in and accounts


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
    return IssuedInvitation(invitation_id, agent_id, agent.email, _display_name(agent.first_name, agent.last_name),
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
            issued.append(IssuedInvitation(row.id, row.agent_id, row.email, _display_name(row.first_name, row.last_name),
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
    return [PendingInvitation(row.id, row.email, _display_name(row.first_name, row.last_name), row.created_at,
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
    moment = now()
    with engine.connect() as connection:
        found = connection.execute(
            select(Invitation.id, Invitation.agent_id).where(
                Invitation.token_hash == token_hash(token), Invitation.used_at.is_(None), Invitation.expires_at > moment)
        ).one_or_none()
    if found is None:
        raise AgentError("This invitation link does not work: it was used already, replaced by a newer one, or expired.")
    password_hash = hasher.hash_many([new_password])[0]
    with engine.begin() as connection:
        claimed = connection.execute(update(invitations).where(invitations.c.id == found.id, invitations.c.used_at.is_(None))
                                     .values(used_at=moment)).rowcount
        if claimed != 1:
            raise AgentError("This invitation link does not work: it was used already, replaced by a newer one, or expired.")
        connection.execute(update(invitations).where(invitations.c.agent_id == found.agent_id,
                                                     invitations.c.used_at.is_(None)).values(used_at=moment))
        connection.execute(update(agents).where(agents.c.id == found.agent_id)
                           .values(password_hash=password_hash, updated_at=moment))
        row = connection.execute(select(*_ACCOUNT_COLUMNS).where(Agent.id == found.agent_id)).one()
    return _account(row)


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
