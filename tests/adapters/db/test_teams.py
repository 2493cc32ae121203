"""Teams as their use cases keep them (services.teams), on SQLite and PostgreSQL: added, listed, renamed,
removed, given agents, shown; and imports finding them by name."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, func, select

from adapters.bootstrap import bootstrap
from adapters.db.agents import agent_teams, agents
from adapters.db.models import contacts, customer_teams, teams
from plugin.ports import PasswordHasher
from plugin.ports.teams import TeamSummary
from plugin.report import Status
from plugin.services import Services
from plugin.services.teams import TeamProblem
from plugin.settings import Settings
from plugin.validate import NAME_MAX

NO_EXTERNAL_ID = {"external_id": None, "external_source": None}  # a team made here, not brought from elsewhere


@pytest.fixture
def services(settings: Settings, engine: Engine, fast_hasher: PasswordHasher) -> Services:
    return bootstrap(settings, engine=engine, hasher=fast_hasher)


def import_(services: Services, kind: str, csv_text: str, **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file(kind, io.BytesIO(csv_text.encode()), file_name=f"{kind}.csv", actor="tester",
                                        options=options)


def with_people(services: Services) -> None:
    """Billing: agents ann and bob, customers jane and raj; Sales: agent bob, customer raj; Empty: nobody."""
    report = import_(services, "users", "email,first_name,teams\nann@example.com,Ann,Billing\n"
                                        "bob@example.com,Bob,Billing:Sales\ncid@example.com,Cid,\n",
                     create_teams=True, no_invitations=True)
    assert (report.status, report.created) == (Status.SUCCEEDED, 3)
    report = import_(services, "customers", "email,first_name,last_name,groups\njane@example.com,Jane,Doe,Billing\n"
                                            "raj@example.org,Raj,Patel,Billing:Sales\nzoe@example.net,Zoe,,\n")
    assert (report.status, report.created) == (Status.SUCCEEDED, 3)
    services.teams.add(["Empty"])


def memberships(engine: Engine) -> set[tuple[str, str]]:
    """(team, email) of every agent's and customer's membership."""
    with engine.connect() as connection:
        agent_rows = connection.execute(select(teams.c.name, agents.c.email)
                                        .join(agent_teams, agent_teams.c.team_id == teams.c.id)
                                    .join(agents, agents.c.id == agent_teams.c.agent_id)).all()
        customers = connection.execute(select(teams.c.name, contacts.c.email)
                                       .join(customer_teams, customer_teams.c.team_id == teams.c.id)
                                       .join(contacts, contacts.c.id == customer_teams.c.contact_id)).all()
    return {tuple(row) for row in [*agent_rows, *customers]}  # type: ignore[misc]


def people(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (connection.execute(select(func.count()).select_from(agents)).scalar_one(),
                connection.execute(select(func.count()).select_from(contacts)).scalar_one())


def counts(services: Services) -> dict[str, tuple[int, int]]:
    return {team.name: (team.agents, team.customers) for team in services.teams.list_teams()}


# ---- add and list


def test_add_creates_teams_and_leaves_existing_ones_as_they_are(services: Services) -> None:
    first = services.teams.add(["Billing", " Sales "])
    assert list(first) == ["Billing", "Sales"]
    again = services.teams.add(["Sales", "Support"])
    assert again["Sales"] == first["Sales"]
    assert [(team.name, team.id) for team in services.teams.list_teams()] == [
        ("Billing", first["Billing"]), ("Sales", first["Sales"]), ("Support", again["Support"])]


def test_list_counts_each_teams_agents_and_customers(services: Services) -> None:
    with_people(services)
    assert counts(services) == {"Billing": (2, 2), "Empty": (0, 0), "Sales": (1, 1)}


def test_team_names_are_case_sensitive(services: Services) -> None:
    services.teams.add(["Billing", "billing"])
    assert [team.name for team in services.teams.list_teams()] == ["Billing", "billing"]
    with pytest.raises(TeamProblem, match="There is no team named 'BILLING'"):
        services.teams.remove("BILLING")


@pytest.mark.parametrize(("name", "message"), [
    ("North:South", "cannot be a team name: it must not be empty or contain ':'"),
    ("  ", "cannot be a team name: it must not be empty"),
    ("=HYPERLINK(1)", "a spreadsheet would run it as a formula"),
    ("x" * (NAME_MAX + 1), f"A team name is at most {NAME_MAX} characters"),
])
def test_a_name_that_cannot_be_a_label_name_cannot_be_a_team_name_and_nothing_is_added(
        services: Services, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        services.teams.add(["Billing", name])
    assert services.teams.list_teams() == []
    services.teams.add(["Billing"])
    with pytest.raises(ValueError, match=message):
        services.teams.rename("Billing", name)
    assert [team.name for team in services.teams.list_teams()] == ["Billing"]


# ---- rename


def test_rename_keeps_the_teams_agents_and_customers(services: Services, engine: Engine) -> None:
    with_people(services)
    before = services.teams.summary("Billing")
    renamed = services.teams.rename("Billing", "Accounts")
    assert renamed == TeamSummary(before.id, "Accounts", 2, 2)
    assert {email for team, email in memberships(engine) if team == "Accounts"} == {
        "ann@example.com", "bob@example.com", "jane@example.com", "raj@example.org"}
    assert "Billing" not in counts(services)


def test_a_rename_to_another_teams_name_is_refused_and_changes_nothing(services: Services) -> None:
    with_people(services)
    with pytest.raises(TeamProblem, match="A team named 'Sales' already exists"):
        services.teams.rename("Billing", "Sales")
    assert counts(services) == {"Billing": (2, 2), "Empty": (0, 0), "Sales": (1, 1)}
    with pytest.raises(TeamProblem, match="There is no team named 'Nobody'"):
        services.teams.rename("Nobody", "Somebody")


def test_an_import_finds_a_renamed_team_by_its_new_name_and_not_by_its_old_one(services: Services,
                                                                                engine: Engine) -> None:
    with_people(services)
    services.teams.rename("Billing", "Accounts")
    services.teams.rename("Sales", "Sales North")
    report = import_(services, "customers", "email,first_name,groups\nnew@example.com,New,Accounts:Sales North\n"
                                            "old@example.com,Old,Billing\n")
    assert (report.created, [(error.row, error.code) for error in report.errors]) == (1, [(3, "groups.unknown")])
    report = import_(services, "users", "email,first_name,teams\ndan@example.com,Dan,Accounts\n"
                                        "eve@example.com,Eve,Sales\n", no_invitations=True)
    assert (report.created, [(error.row, error.code) for error in report.errors]) == (1, [(3, "teams.unknown")])
    assert {("Accounts", "new@example.com"), ("Sales North", "new@example.com"),
            ("Accounts", "dan@example.com")} <= memberships(engine)
    assert counts(services) == {"Accounts": (3, 3), "Empty": (0, 0), "Sales North": (1, 2)}


def test_an_import_with_create_groups_after_a_rename_makes_a_new_team_of_the_old_name(services: Services) -> None:
    with_people(services)
    billing = services.teams.rename("Billing", "Accounts")
    report = import_(services, "customers", "email,first_name,groups\nold@example.com,Old,Billing\n", create_groups=True)
    assert report.created == 1
    assert services.teams.summary("Billing").id != billing.id
    assert counts(services)["Accounts"] == (2, 2) and counts(services)["Billing"] == (0, 1)


# ---- remove


def test_remove_ends_everyones_membership_and_keeps_the_people(services: Services, engine: Engine) -> None:
    with_people(services)
    assert services.teams.summary("Billing").members_text() == "2 customers and 2 agents"
    removed = services.teams.remove("Billing")
    assert (removed.name, removed.agents, removed.customers) == ("Billing", 2, 2)
    assert people(engine) == (3, 3)
    assert memberships(engine) == {("Sales", "bob@example.com"), ("Sales", "raj@example.org")}
    assert counts(services) == {"Empty": (0, 0), "Sales": (1, 1)}
    with pytest.raises(TeamProblem, match="There is no team named 'Billing'"):
        services.teams.remove("Billing")


def test_the_summary_counts_what_removing_would_touch(services: Services) -> None:
    with_people(services)
    assert services.teams.summary("Sales").members_text() == "1 customer and 1 agent"
    assert services.teams.summary("Empty").is_empty


# ---- members


def test_members_add_takes_agents_by_email_in_any_case(services: Services, engine: Engine) -> None:
    with_people(services)
    added = services.teams.add_agents("Sales", ["ANN@Example.com", "cid@EXAMPLE.COM", "bob@example.com", "ann@example.com"])
    assert (added.team, added.changed, added.already) == ("Sales", 2, 1)
    assert {email for team, email in memberships(engine) if team == "Sales"} == {
        "ann@example.com", "bob@example.com", "cid@example.com", "raj@example.org"}


def test_members_remove_ends_membership_and_keeps_the_agent(services: Services, engine: Engine) -> None:
    with_people(services)
    removed = services.teams.remove_agents("Billing", ["Bob@Example.com", "cid@example.com"])
    assert (removed.changed, removed.already) == (1, 1)
    assert {email for team, email in memberships(engine) if team == "Billing"} == {
        "ann@example.com", "jane@example.com", "raj@example.org"}
    assert ("Sales", "bob@example.com") in memberships(engine)
    assert people(engine) == (3, 3)


@pytest.mark.parametrize("change", ["add_agents", "remove_agents"])
def test_an_unknown_agent_is_an_error_naming_it_and_nothing_changes(services: Services, engine: Engine,
                                                                    change: str) -> None:
    with_people(services)
    before = memberships(engine)
    with pytest.raises(TeamProblem, match=r"There is no agent with the email 'nobody@example\.com'; nothing was changed"):
        getattr(services.teams, change)("Empty" if change == "add_agents" else "Billing",
                                        ["ann@example.com", "nobody@example.com"])
    with pytest.raises(TeamProblem, match="There are no agents with the emails 'jane@example.com', 'not an email'"):
        getattr(services.teams, change)("Billing", ["jane@example.com", "bob@example.com", "not an email"])
    assert memberships(engine) == before
    with pytest.raises(TeamProblem, match="There is no team named 'Nobody'"):
        getattr(services.teams, change)("Nobody", ["ann@example.com"])


# ---- show


def test_show_lists_the_teams_agents_and_customers_by_email_a_page_at_a_time(services: Services) -> None:
    with_people(services)
    shown = services.teams.show("Billing")
    assert [agent.email for agent in shown.agents] == ["ann@example.com", "bob@example.com"]
    assert [(customer.email, customer.name) for customer in shown.customers] == [
        ("jane@example.com", "Jane Doe"), ("raj@example.org", "Raj Patel")]
    second = services.teams.show("Billing", limit=1, page=2)
    assert ([agent.email for agent in second.agents], [customer.email for customer in second.customers]) == (
        ["bob@example.com"], ["raj@example.org"])
    assert services.teams.show("Billing", limit=1, page=3).agents == []
    assert (second.team.agents, second.team.customers) == (2, 2)
    assert services.teams.show("Empty").as_dict() == {"id": services.teams.summary("Empty").id, "name": "Empty",
                                                      "agents": 0, "customers": 0, **NO_EXTERNAL_ID, "page": 1,
                                                      "limit": 50, "agent_members": [], "customer_members": []}
