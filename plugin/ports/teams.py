"""Teams as their use cases keep them: what agents belong to, and the groups (client teams) of customers."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from plugin.words import count_of


@dataclass(frozen=True, slots=True)
class TeamSummary:
    """A team and how many belong to it: one line of `teams list`, and what removing it would touch."""

    id: int
    name: str
    agents: int
    customers: int
    external_id: str | None = None  # its id in the system it came from (a Wifox desk's), kept when renamed
    external_source: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.agents or self.customers)

    def members_text(self) -> str:
        """'3 customers and 1 agent'."""
        return f"{count_of(self.customers, 'customers')} and {count_of(self.agents, 'agents')}"

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "agents": self.agents, "customers": self.customers,
                "external_id": self.external_id, "external_source": self.external_source}


@dataclass(frozen=True, slots=True)
class TeamMember:
    """An agent or a customer of a team, as `teams show` lists them."""

    id: int
    email: str
    name: str

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "email": self.email, "name": self.name}


class TeamStore(Protocol):
    def summary(self, name: str) -> TeamSummary | None:
        """The team of exactly that name (case-sensitive) with its counts; None when there is none."""
        ...

    def list_teams(self) -> list[TeamSummary]:
        """Every team with its counts, by name."""
        ...

    def add_teams(self, names: Sequence[str]) -> dict[str, int]:
        """Each team's id, creating the ones missing."""
        ...

    def rename(self, team_id: int, name: str) -> None:
        ...

    def remove(self, team_id: int) -> None:
        """Remove the team and every membership in it (agents' and customers'); never the people."""
        ...

    def agent_ids(self, email_keys: Collection[str]) -> Mapping[str, int]:
        """The agents with these casefolded emails: email key → id (unknown ones are left out)."""
        ...

    def add_agents(self, team_id: int, agent_ids: Collection[int]) -> int:
        """Make the agents members; how many were not members before."""
        ...

    def remove_agents(self, team_id: int, agent_ids: Collection[int]) -> int:
        """End the agents' membership; how many were members."""
        ...

    def agents(self, team_id: int, *, limit: int, offset: int) -> list[TeamMember]:
        """A page of the team's agents, by email."""
        ...

    def customers(self, team_id: int, *, limit: int, offset: int) -> list[TeamMember]:
        """A page of the team's customers (those whose groups include it), by email."""
        ...
