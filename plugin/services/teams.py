"""Teams: added, listed, renamed, removed, and given agents (`contact-importer teams ...`).

A team is what agents belong to and, for customers, a group: the client team that serves them. Team names
follow the rule of every name a row refers to (plugin.validate.name_problem): exact, case-sensitive, no ':'.
Imports find teams by name each time they run, so a renamed team is found by its new name.
Each use case that writes is one unit of work: all of it happens, or none of it.
"""

from __future__ import annotations

import dataclasses

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugin.catalog import CatalogProblem, checked_names
from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.ports.teams import TeamMember, TeamStore, TeamSummary

if TYPE_CHECKING:
    from plugin.services import Services


class TeamProblem(CatalogProblem):
    """A team cannot be added, renamed, removed or changed as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class MembersChanged:
    """What `teams members add/remove` did: how many agents changed, and how many already were as asked."""

    team: str
    changed: int
    already: int


@dataclass(frozen=True, slots=True)
class TeamPage:
    """One page of a team's agents and customers, with how many there are in all."""

    team: TeamSummary
    agents: list[TeamMember]
    customers: list[TeamMember]
    limit: int
    page: int

    def as_dict(self) -> dict[str, object]:
        return {**self.team.as_dict(), "page": self.page, "limit": self.limit,
                "agent_members": [agent.as_dict() for agent in self.agents],
                "customer_members": [customer.as_dict() for customer in self.customers]}


class Teams:
    """The teams' use cases; reached as services.teams. Refusals are TeamProblem, saying why."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def add(self, names: Sequence[str]) -> dict[str, int]:
        """Create teams; existing ones are left as they are. Name → id, in the order given."""
        cleaned = checked_names(names, what="team")
        with self.services.unit_of_work() as work:
            ids = work.teams.add_teams(cleaned)
            work.commit()
        return {name: ids[name] for name in cleaned}

    def list_teams(self) -> list[TeamSummary]:
        with self.services.unit_of_work() as work:
            return work.teams.list_teams()

    def summary(self, name: str) -> TeamSummary:
        """The team with how many agents and customers belong to it (what removing it would touch)."""
        with self.services.unit_of_work() as work:
            return _existing(work.teams, name)

    def rename(self, old: str, new: str) -> TeamSummary:
        """Give a team a new name; its agents and customers stay. A name another team has is refused."""
        (cleaned,) = checked_names([new], what="team")
        with self.services.unit_of_work() as work:
            team = _existing(work.teams, old)
            taken = work.teams.summary(cleaned)
            if taken is not None and taken.id != team.id:
                raise TeamProblem(f"A team named {cleaned!r} already exists (id {taken.id}); "
                                  "choose another name.")
            work.teams.rename(team.id, cleaned)
            work.commit()
        return dataclasses.replace(team, name=cleaned)

    def remove(self, name: str) -> TeamSummary:
        """Remove a team and its memberships; its agents and customers stay. The team as it was, with counts."""
        with self.services.unit_of_work() as work:
            team = _existing(work.teams, name)
            work.teams.remove(team.id)
            work.commit()
        return team

    def add_agents(self, name: str, emails: Sequence[str]) -> MembersChanged:
        """Make agents (by email, any case) members of the team; nothing changes when one of them is unknown."""
        with self.services.unit_of_work() as work:
            team = _existing(work.teams, name)
            ids = _agent_ids(work.teams, emails)
            added = work.teams.add_agents(team.id, ids)
            work.commit()
        return MembersChanged(team.name, added, len(ids) - added)

    def remove_agents(self, name: str, emails: Sequence[str]) -> MembersChanged:
        """End agents' membership of the team (the agents stay); nothing changes when one of them is unknown."""
        with self.services.unit_of_work() as work:
            team = _existing(work.teams, name)
            ids = _agent_ids(work.teams, emails)
            removed = work.teams.remove_agents(team.id, ids)
            work.commit()
        return MembersChanged(team.name, removed, len(ids) - removed)

    def show(self, name: str, *, limit: int = 50, page: int = 1) -> TeamPage:
        """A page of the team's agents and of its customers, by email: `limit` of each, pages counted from 1."""
        if limit < 1 or page < 1:
            raise TeamProblem("The limit and the page are whole numbers from 1.")
        with self.services.unit_of_work() as work:
            team = _existing(work.teams, name)
            offset = (page - 1) * limit
            return TeamPage(team, work.teams.agents(team.id, limit=limit, offset=offset),
                            work.teams.customers(team.id, limit=limit, offset=offset), limit, page)


def _existing(teams: TeamStore, name: str) -> TeamSummary:
    found = teams.summary(name.strip())
    if found is None:
        raise TeamProblem(f"There is no team named {name.strip()!r} (names are case-sensitive); "
                          "`contact-importer teams list` shows them.")
    return found


def _agent_ids(teams: TeamStore, emails: Sequence[str]) -> list[int]:
    """The agents' ids, in the order given; TeamProblem naming every email that is no agent's."""
    keys: dict[str, str | None] = {}  # the email as given → its key (None: not an email address)
    for text in emails:
        try:
            keys[text.strip()] = email_key(normalize_email(text))
        except InvalidEmail:
            keys[text.strip()] = None
    found = teams.agent_ids({key for key in keys.values() if key is not None})
    unknown = [text for text, key in keys.items() if key not in found]
    if unknown:
        listed = ", ".join(repr(text) for text in unknown)
        no_agent = "There is no agent with the email" if len(unknown) == 1 else "There are no agents with the emails"
        raise TeamProblem(f"{no_agent} {listed}; nothing was changed.")
    return list(dict.fromkeys(found[key] for key in keys.values() if key is not None))
