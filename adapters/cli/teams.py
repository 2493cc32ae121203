"""teams: the teams agents belong to, which are also the groups (client teams) customers belong to."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import ParamSpec, TypeVar

import click

from adapters.cli.context import services_of
from plugin.catalog import CatalogProblem
from plugin.ports.teams import TeamMember
from plugin.words import count_of
from plugin.services.teams import MembersChanged, TeamPage

P = ParamSpec("P")
R = TypeVar("R")


def _refusals_as_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A refusal (a TeamProblem, a name that cannot be a team's) ends the command with its message, exit status 1."""
    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CatalogProblem as problem:
            raise click.ClickException(str(problem)) from problem
    return run


@click.group("teams")
def teams_group() -> None:
    """Teams: what agents belong to, and the groups (client teams) that serve customers."""


@teams_group.command("add")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
@_refusals_as_errors
def teams_add_command(context: click.Context, names: tuple[str, ...]) -> None:
    """Create teams (exact, case-sensitive names, no ':'); existing ones are left as they are."""
    for name, team_id in services_of(context).teams.add(names).items():
        click.echo(f"{team_id}\t{name}")


@teams_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def teams_list_command(context: click.Context, as_json: bool) -> None:
    """List teams: id, name, how many agents and how many customers belong to each."""
    teams = services_of(context).teams.list_teams()
    if as_json:
        click.echo(json.dumps([team.as_dict() for team in teams]))
        return
    for team in teams:
        click.echo(f"{team.id}\t{team.name}\t{count_of(team.agents, 'agents')}\t{count_of(team.customers, 'customers')}")


@teams_group.command("rename")
@click.argument("old")
@click.argument("new")
@click.pass_context
@_refusals_as_errors
def teams_rename_command(context: click.Context, old: str, new: str) -> None:
    """Rename a team; its agents and customers stay in it, and imports find it by its new name."""
    team = services_of(context).teams.rename(old, new)
    click.echo(f"Renamed team {team.id} to {team.name!r}.")


@teams_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask first, even when agents or customers belong to the team.")
@click.pass_context
@_refusals_as_errors
def teams_remove_command(context: click.Context, name: str, yes: bool) -> None:
    """Remove a team: its agents and customers stay, without it. Asks first when anyone belongs to it."""
    teams = services_of(context).teams
    team = teams.summary(name)
    if not team.is_empty and not yes:
        affected = f"{team.members_text()} belong to team {team.name!r}"
        if not sys.stdin.isatty():
            raise click.ClickException(f"{affected}; add --yes to remove it and their membership "
                                       "without being asked.")
        click.confirm(f"{affected}. Remove the team and their membership (the people stay)?", abort=True,
                      err=True)
    removed = teams.remove(name)
    click.echo(f"Removed team {removed.name!r}; {removed.members_text()} are no longer in it.")


@teams_group.command("show")
@click.argument("name")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1),
              help="How many agents and how many customers per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(min=1), help="Which page.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
@_refusals_as_errors
def teams_show_command(context: click.Context, name: str, limit: int, page: int, as_json: bool) -> None:
    """A team's agents and customers, by email, a page at a time."""
    shown = services_of(context).teams.show(name, limit=limit, page=page)
    if as_json:
        click.echo(json.dumps(shown.as_dict()))
        return
    click.echo(f"Team {shown.team.id}\t{shown.team.name}")
    _echo_members("agents", shown.team.agents, shown.agents, shown)
    _echo_members("customers", shown.team.customers, shown.customers, shown)


def _echo_members(what: str, total: int, members: Sequence[TeamMember], shown: TeamPage) -> None:
    first = (shown.page - 1) * shown.limit + 1
    if not members:
        click.echo(f"{what}: {total:,}" + (f" (none on page {shown.page})" if total else ""))
        return
    last = first + len(members) - 1
    more = f"; --page {shown.page + 1} for more" if last < total else ""
    click.echo(f"{what}: {first:,}-{last:,} of {total:,}{more}")
    for member in members:
        click.echo(f"  {member.id}\t{member.email}\t{member.name}")


@teams_group.group("members")
def members_group() -> None:
    """The agents of a team, by email (any case)."""


@members_group.command("add")
@click.argument("team")
@click.argument("emails", nargs=-1, required=True)
@click.pass_context
@_refusals_as_errors
def members_add_command(context: click.Context, team: str, emails: tuple[str, ...]) -> None:
    """Make agents members of TEAM; nothing changes when one of the emails is no agent's."""
    _echo_changed(services_of(context).teams.add_agents(team, emails), "added to", "in")


@members_group.command("remove")
@click.argument("team")
@click.argument("emails", nargs=-1, required=True)
@click.pass_context
@_refusals_as_errors
def members_remove_command(context: click.Context, team: str, emails: tuple[str, ...]) -> None:
    """Take agents out of TEAM (the agents stay); nothing changes when one of the emails is no agent's."""
    _echo_changed(services_of(context).teams.remove_agents(team, emails), "removed from", "out of")


def _echo_changed(changed: MembersChanged, verb: str, already: str) -> None:
    also = f" ({count_of(changed.already, 'agents')} already {already} it)." if changed.already else "."
    click.echo(f"{count_of(changed.changed, 'agents')} {verb} team {changed.team!r}{also}")


COMMANDS = (teams_group,)
