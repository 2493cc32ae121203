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

from sqlalchemy import (Boolean, Column, Connection, DateTime, ForeignKey, Integer, String, Table, bindparam,
                        delete, or_, select, update)

from adapters.db.catalog import ensure_teams
from adapters.db.dialect import insert_for
from adapters.db.models import metadata, teams  # teams: agents', and the groups customers belong to
from adapters.db.stale_plans import raise_unless_inserted
from plugin.kinds import Catalog
from plugin.kinds.agents import DEFAULT_ROLE, AgentCatalog, username_from_email
from plugin.plan import Action, Existing, PlannedRow

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


# Someone who works in the helpdesk: signs in, answers tickets.
agents = Table(
    "agents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), unique=True, nullable=False),  # casefolded: uniqueness ignores case
    Column("username", String(100), unique=True, nullable=False),  # lowercase
    Column("first_name", String(200)),
    Column("last_name", String(200)),
    Column("password_hash", String(255)),  # None: invited, no password yet
    Column("is_active", Boolean, default=True, nullable=False),
    Column("role", String(20), default=DEFAULT_ROLE, nullable=False),  # admin, support_admin, agent
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_sign_in_at", DateTime(timezone=True)),
    Column("last_import_id", Integer),
    Column("last_import_row", Integer),
)


agent_teams = Table(
    "agent_teams",
    metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)


# A set-password invitation of an agent or a customer (adapters/db/invitations.py). Only the sha256 of the link's
# token is kept; None until a link is issued.
invitations = Table(
    "invitations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), index=True),
    Column("customer_id", ForeignKey("contacts.id", ondelete="CASCADE"), index=True),
    Column("token_hash", String(64), unique=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("import_id", Integer),  # the import that created the agent or customer
)


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
        usernames = dict(connection.execute(select(agents.c.username, agents.c.email_key)).all())
        return AgentCatalog(
            label_ids=catalog.label_ids, companies=catalog.companies, custom_fields=catalog.custom_fields,
            teams=dict(connection.execute(select(teams.c.name, teams.c.id)).all()),
            usernames=usernames, agent_usernames={key: username for username, key in usernames.items()},
        )

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None, *,
             external_ids: Collection[tuple[str, str]] = ()) -> tuple[dict[str, Existing], dict[int, Existing]]:
        """By email key and id (agents have no external ids: `external_ids` is always empty)."""
        if not keys and not ids:
            return {}, {}
        found = connection.execute(
            select(agents.c.id, agents.c.email_key, agents.c.email, agents.c.first_name, agents.c.last_name,
                   agents.c.is_active, agents.c.username, agents.c.role, agents.c.last_import_id,
                   agents.c.last_import_row)
            .where(or_(agents.c.email_key.in_(list(keys)), agents.c.id.in_(list(ids))))
        ).all()
        team_names: dict[int, set[str]] = defaultdict(set)
        if found:
            for agent_id, name in connection.execute(
                select(agent_teams.c.agent_id, teams.c.name).join(teams, teams.c.id == agent_teams.c.team_id)
                .where(agent_teams.c.agent_id.in_([row.id for row in found]))
            ):
                team_names[agent_id].add(name)
        by_key: dict[str, Existing] = {}
        by_id: dict[int, Existing] = {}
        for row in found:
            existing = Existing(
                id=row.id, key=row.email_key,
                values={"email": row.email, "first_name": row.first_name, "last_name": row.last_name,
                        "active": row.is_active, "username": row.username, "role": row.role,
                        "teams": frozenset(team_names[row.id])},
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
                connection.execute(delete(agent_teams).where(agent_teams.c.agent_id.in_(replaced)))
        links = [{"agent_id": written[row.row], "team_id": catalog.teams[name]}
                 for row in with_teams for name in _teams_of(row)]
        if links:
            connection.execute(insert_for(connection, agent_teams).on_conflict_do_nothing(), links)


# ---- sign-in and accounts


def _teams_of(row: PlannedRow) -> Collection[str]:
    """The team names a planned row asks for (plugin.kinds.agents parsed them into a frozenset)."""
    return cast("Collection[str]", row.values.get("teams", ()))
