"""SqlTeamStore: plugin.ports.teams.TeamStore on one connection (one unit of work's transaction)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import Connection, Row, Select, delete, func, select, update

from adapters.db.agents import agent_teams, agents, display_name
from adapters.db.catalog import Clock, ensure_teams, utc_now
from adapters.db.dialect import insert_for
from adapters.db.models import contacts, customer_teams, teams
from plugin.ports.teams import TeamMember, TeamSummary


def _with_counts() -> Select[tuple[int, str, int, int, str | None, str | None]]:
    """Teams' id and name, how many agents and customers belong to each, and the id another system gives it."""
    agent_count = (select(func.count()).where(agent_teams.c.team_id == teams.c.id)
                   .scalar_subquery().label("agents"))
    customer_count = (select(func.count()).where(customer_teams.c.team_id == teams.c.id)
                      .scalar_subquery().label("customers"))
    return select(teams.c.id, teams.c.name, agent_count, customer_count, teams.c.external_id,
                  teams.c.external_source)


def _summary(row: Row[tuple[int, str, int, int, str | None, str | None]]) -> TeamSummary:
    return TeamSummary(row.id, row.name, row.agents, row.customers, row.external_id, row.external_source)


class SqlTeamStore:
    """Teams with their agents (agent_teams) and their customers (customer_teams, a customer's groups)."""

    def __init__(self, connection: Connection, *, now: Clock = utc_now) -> None:
        self.connection = connection
        self.now = now

    def summary(self, name: str) -> TeamSummary | None:
        row = self.connection.execute(_with_counts().where(teams.c.name == name)).one_or_none()
        return None if row is None else _summary(row)

    def list_teams(self) -> list[TeamSummary]:
        return [_summary(row) for row in self.connection.execute(_with_counts().order_by(teams.c.name))]

    def add_teams(self, names: Sequence[str]) -> dict[str, int]:
        return ensure_teams(self.connection, names, now=self.now())

    def rename(self, team_id: int, name: str) -> None:
        self.connection.execute(update(teams).where(teams.c.id == team_id).values(name=name))

    def remove(self, team_id: int) -> None:
        # The links are deleted here, not left to ON DELETE CASCADE: SQLite enforces it only when asked to.
        self.connection.execute(delete(agent_teams).where(agent_teams.c.team_id == team_id))
        self.connection.execute(delete(customer_teams).where(customer_teams.c.team_id == team_id))
        self.connection.execute(delete(teams).where(teams.c.id == team_id))

    def agent_ids(self, email_keys: Collection[str]) -> Mapping[str, int]:
        if not email_keys:
            return {}
        return dict(self.connection.execute(
            select(agents.c.email_key, agents.c.id).where(agents.c.email_key.in_(list(email_keys)))).all())

    def add_agents(self, team_id: int, agent_ids: Collection[int]) -> int:
        missing = sorted(set(agent_ids) - self._agent_members(team_id, agent_ids))
        if missing:
            links = insert_for(self.connection, agent_teams).on_conflict_do_nothing()
            self.connection.execute(links, [{"agent_id": agent_id, "team_id": team_id} for agent_id in missing])
        return len(missing)

    def remove_agents(self, team_id: int, agent_ids: Collection[int]) -> int:
        members = self._agent_members(team_id, agent_ids)
        if members:
            self.connection.execute(delete(agent_teams).where(agent_teams.c.team_id == team_id,
                                                              agent_teams.c.agent_id.in_(sorted(members))))
        return len(members)

    def agents(self, team_id: int, *, limit: int, offset: int) -> list[TeamMember]:
        rows = self.connection.execute(
            select(agents.c.id, agents.c.email, agents.c.first_name, agents.c.last_name)
            .join(agent_teams, agent_teams.c.agent_id == agents.c.id).where(agent_teams.c.team_id == team_id)
            .order_by(agents.c.email_key).limit(limit).offset(offset))
        return [TeamMember(row.id, row.email, display_name(row.first_name, row.last_name)) for row in rows]

    def customers(self, team_id: int, *, limit: int, offset: int) -> list[TeamMember]:
        rows = self.connection.execute(
            select(contacts.c.id, contacts.c.email, contacts.c.first_name, contacts.c.last_name)
            .join(customer_teams, customer_teams.c.contact_id == contacts.c.id)
            .where(customer_teams.c.team_id == team_id)
            .order_by(contacts.c.email_key).limit(limit).offset(offset))
        return [TeamMember(row.id, row.email, display_name(row.first_name, row.last_name)) for row in rows]

    def _agent_members(self, team_id: int, agent_ids: Collection[int]) -> set[int]:
        if not agent_ids:
            return set()
        return set(self.connection.execute(select(agent_teams.c.agent_id).where(
            agent_teams.c.team_id == team_id, agent_teams.c.agent_id.in_(sorted(set(agent_ids))))).scalars())
