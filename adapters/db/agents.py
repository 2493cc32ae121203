"""Agents in the database: their tables and how an import finds and writes them (sign-in and invitations:
adapters/db/accounts.py).

Only hashes are stored: `AgentTable.write` refuses a planned row that still carries a plain password.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (Boolean, Connection, DateTime, ForeignKey, Integer, String, bindparam, delete, or_,
                        select, update)
from sqlalchemy.orm import Mapped, mapped_column

from adapters.db.catalog import ensure_teams
from adapters.db.dialect import insert_for
from adapters.db.models import Base, Team  # teams: agents', and the groups customers belong to
from adapters.db.stale_plans import raise_unless_inserted
from plugin.kinds import Catalog
from plugin.kinds.agents import DEFAULT_ROLE, AgentCatalog, username_from_email
from plugin.plan import Action, Existing, PlannedRow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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
    """A set-password invitation of an agent or a customer (adapters/db/invitations.py). Only the sha256 of the
    link's token is kept; None until a link is issued."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    import_id: Mapped[int | None] = mapped_column(Integer)  # the import that created the agent or customer


agents = Agent.__table__
invitations = Invitation.__table__
# planned values → agents columns
AGENT_COLUMNS = {"email": "email", "first_name": "first_name", "last_name": "last_name", "active": "is_active",
                 "username": "username", "role": "role", "password_hash": "password_hash"}


def display_name(first_name: str | None, last_name: str | None) -> str:
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

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None, *,
             external_ids: Collection[tuple[str, str]] = ()) -> tuple[dict[str, Existing], dict[int, Existing]]:
        """By email key and id (agents have no external ids: `external_ids` is always empty)."""
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
        wanted_teams = {name for row in planned for name in _teams_of(row)}
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
        statement = (insert_for(connection, agents).on_conflict_do_nothing(index_elements=["email_key"])
                     .returning(agents.c.id, agents.c.email_key))
        ids = {key: agent_id for agent_id, key in connection.execute(statement, params)}  # by key: some may be missing
        raise_unless_inserted(rows, ids, "agents")  # someone else created the same email meanwhile
        return {planned.row: ids[planned.key] for planned in rows}

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
                 for row in with_teams for name in _teams_of(row)]
        if links:
            connection.execute(insert_for(connection, AgentTeam.__table__).on_conflict_do_nothing(), links)


# ---- sign-in and accounts


def _teams_of(row: PlannedRow) -> Collection[str]:
    """The team names a planned row asks for (plugin.kinds.agents parsed them into a frozenset)."""
    return cast("Collection[str]", row.values.get("teams", ()))
