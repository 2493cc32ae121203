"""SqlTeamStore: plugin.ports.teams.TeamStore on one connection (one unit of work's transaction)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import cast

from sqlalchemy import Connection, Row, Select, Table, delete, func, select, update

from adapters.db.agents import Agent, AgentTeam, display_name
from adapters.db.catalog import Clock, ensure_teams, utc_now
from adapters.db.dialect import insert_for
from adapters.db.models import Contact, CustomerTeam, Team
from plugin.ports.teams import TeamMember, TeamSummary


def _with_counts() -> Select[tuple[int, str, int, int, str | None, str | None]]:
    """Teams' id and name, how many agents and customers belong to each, and the id another system gives it."""
    agents = select(func.count()).where(AgentTeam.team_id == Team.id).scalar_subquery().label("agents")
    customers = select(func.count()).where(CustomerTeam.team_id == Team.id).scalar_subquery().label("customers")
    return select(Team.id, Team.name, agents, customers, Team.external_id, Team.external_source)


def _summary(row: Row[tuple[int, str, int, int, str | None, str | None]]) -> TeamSummary:
    return TeamSummary(row.id, row.name, row.agents, row.customers, row.external_id, row.external_source)


class SqlTeamStore:
    """Teams with their agents (agent_teams) and their customers (customer_teams, a customer's groups)."""

    def __init__(self, connection: Connection, *, now: Clock = utc_now) -> None:
        self.connection = connection
        self.now = now

    def summary(self, name: str) -> TeamSummary | None:
        row = self.connection.execute(_with_counts().where(Team.name == name)).one_or_none()
        return None if row is None else _summary(row)

    def list_teams(self) -> list[TeamSummary]:
        return [_summary(row) for row in self.connection.execute(_with_counts().order_by(Team.name))]

    def add_teams(self, names: Sequence[str]) -> dict[str, int]:
        return ensure_teams(self.connection, names, now=self.now())

    def rename(self, team_id: int, name: str) -> None:
        self.connection.execute(update(Team).where(Team.id == team_id).values(name=name))

    def remove(self, team_id: int) -> None:
        # The links are deleted here, not left to ON DELETE CASCADE: SQLite enforces it only when asked to.
        self.connection.execute(delete(AgentTeam).where(AgentTeam.team_id == team_id))
        self.connection.execute(delete(CustomerTeam).where(CustomerTeam.team_id == team_id))
        self.connection.execute(delete(Team).where(Team.id == team_id))

    def agent_ids(self, email_keys: Collection[str]) -> Mapping[str, int]:
        if not email_keys:
            return {}
        return dict(self.connection.execute(
            select(Agent.email_key, Agent.id).where(Agent.email_key.in_(list(email_keys)))).all())

    def add_agents(self, team_id: int, agent_ids: Collection[int]) -> int:
        missing = sorted(set(agent_ids) - self._agent_members(team_id, agent_ids))
        if missing:
            links = insert_for(self.connection, cast(Table, AgentTeam.__table__)).on_conflict_do_nothing()
            self.connection.execute(links, [{"agent_id": agent_id, "team_id": team_id} for agent_id in missing])
        return len(missing)

    def remove_agents(self, team_id: int, agent_ids: Collection[int]) -> int:
        members = self._agent_members(team_id, agent_ids)
        if members:
            self.connection.execute(delete(AgentTeam).where(AgentTeam.team_id == team_id,
                                                            AgentTeam.agent_id.in_(sorted(members))))
        return len(members)

    def agents(self, team_id: int, *, limit: int, offset: int) -> list[TeamMember]:
        rows = self.connection.execute(
            select(Agent.id, Agent.email, Agent.first_name, Agent.last_name)
            .join(AgentTeam, AgentTeam.agent_id == Agent.id).where(AgentTeam.team_id == team_id)
            .order_by(Agent.email_key).limit(limit).offset(offset))
        return [TeamMember(row.id, row.email, display_name(row.first_name, row.last_name)) for row in rows]

    def customers(self, team_id: int, *, limit: int, offset: int) -> list[TeamMember]:
        rows = self.connection.execute(
            select(Contact.id, Contact.email, Contact.first_name, Contact.last_name)
            .join(CustomerTeam, CustomerTeam.contact_id == Contact.id).where(CustomerTeam.team_id == team_id)
            .order_by(Contact.email_key).limit(limit).offset(offset))
        return [TeamMember(row.id, row.email, display_name(row.first_name, row.last_name)) for row in rows]

    def _agent_members(self, team_id: int, agent_ids: Collection[int]) -> set[int]:
        if not agent_ids:
            return set()
        return set(self.connection.execute(select(AgentTeam.agent_id).where(
            AgentTeam.team_id == team_id, AgentTeam.agent_id.in_(sorted(set(agent_ids))))).scalars())
