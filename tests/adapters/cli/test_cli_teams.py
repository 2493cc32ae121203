"""The teams commands, driven through click's CliRunner on a real SQLite file; `teams remove`'s question on a
real terminal (a pseudo-terminal) with the real command."""

from __future__ import annotations

import json
import os
import select
import subprocess
import time

import pytest

from tests.adapters.cli.test_cli import Cli, ok, run  # noqa: F401  (run is the fixture)
from tests.processes import CONTACT_IMPORTER

AGENTS = b"email,first_name,last_name,teams\nann@example.com,Ann,Lee,Billing\nbob@example.com,Bob,Roe,Billing:Sales\n"
CUSTOMERS = b"email,first_name,last_name,groups\njane@example.com,Jane,Doe,Billing\nraj@example.org,Raj,Patel,Billing\n"

NO_EXTERNAL_ID = {"external_id": None, "external_source": None}  # a team made here, not brought from elsewhere


@pytest.fixture
def with_people(run: Cli) -> None:  # noqa: F811
    """Billing: agents ann and bob, customers jane and raj; Sales: agent bob."""
    ok(run("import", "users", run.file("agents.csv", AGENTS), "--create-teams", "--no-invitations"))
    ok(run.import_(CUSTOMERS))


def listed(run: Cli) -> list[dict[str, object]]:  # noqa: F811
    return json.loads(ok(run("teams", "list", "--json")))


@pytest.mark.usefixtures("with_people")
def test_teams_add_prints_each_teams_id_and_list_shows_the_counts(run: Cli) -> None:  # noqa: F811
    assert ok(run("teams", "add", "Support", "Sales")) == "3\tSupport\n2\tSales\n"
    assert ok(run("teams", "list")).splitlines() == [
        "1\tBilling\t2 agents\t2 customers", "2\tSales\t1 agent\t0 customers", "3\tSupport\t0 agents\t0 customers"]
    assert listed(run) == [{"id": 1, "name": "Billing", "agents": 2, "customers": 2, **NO_EXTERNAL_ID},
                           {"id": 2, "name": "Sales", "agents": 1, "customers": 0, **NO_EXTERNAL_ID},
                           {"id": 3, "name": "Support", "agents": 0, "customers": 0, **NO_EXTERNAL_ID}]


def test_a_team_name_with_a_colon_is_refused_with_the_label_names_rule(run: Cli) -> None:  # noqa: F811
    result = run("teams", "add", "North", "North:South")
    assert result.exit_code == 1
    assert result.stderr == "Error: 'North:South' cannot be a team name: it must not be empty or contain ':'.\n"
    assert listed(run) == []


@pytest.mark.usefixtures("with_people")
def test_rename_keeps_the_members_and_refuses_another_teams_name(run: Cli) -> None:  # noqa: F811
    assert ok(run("teams", "rename", "Billing", "Accounts")) == "Renamed team 1 to 'Accounts'.\n"
    assert listed(run)[0] == {"id": 1, "name": "Accounts", "agents": 2, "customers": 2, **NO_EXTERNAL_ID}
    refused = run("teams", "rename", "Accounts", "Sales")
    assert refused.exit_code == 1
    assert refused.stderr == "Error: A team named 'Sales' already exists (id 2); choose another name.\n"
    unknown = run("teams", "rename", "billing", "Other")
    assert unknown.exit_code == 1 and "There is no team named 'billing' (names are case-sensitive)" in unknown.stderr


@pytest.mark.usefixtures("with_people")
def test_an_import_finds_a_renamed_group_by_its_new_name(run: Cli) -> None:  # noqa: F811
    ok(run("teams", "rename", "Billing", "Accounts"))
    old = run.import_(b"email,first_name,groups\nnew@example.com,New,Billing\n")
    assert old.exit_code == 1 and "[groups.unknown]" in old.stdout
    ok(run.import_(b"email,first_name,groups\nnew@example.com,New,Accounts\n"))
    assert run.customers()["new@example.com"]["groups"] == "Accounts"
    assert run.customers()["jane@example.com"]["groups"] == "Accounts"


@pytest.mark.usefixtures("with_people")
def test_remove_without_a_terminal_and_without_yes_refuses_saying_how_many_and_to_add_yes(run: Cli) -> None:  # noqa: F811
    result = run("teams", "remove", "Billing")
    assert result.exit_code == 1
    assert result.stderr == ("Error: 2 customers and 2 agents belong to team 'Billing'; add --yes to remove it and "
                             "their membership without being asked.\n")
    assert listed(run)[0]["name"] == "Billing"


@pytest.mark.usefixtures("with_people")
def test_remove_with_yes_ends_the_membership_and_keeps_the_people(run: Cli) -> None:  # noqa: F811
    assert ok(run("teams", "remove", "Billing", "--yes")) == (
        "Removed team 'Billing'; 2 customers and 2 agents are no longer in it.\n")
    assert listed(run) == [{"id": 2, "name": "Sales", "agents": 1, "customers": 0, **NO_EXTERNAL_ID}]
    assert {email: row["groups"] for email, row in run.customers().items()} == {
        "jane@example.com": "", "raj@example.org": ""}
    assert ok(run("export", "users")).count("@example.com") == 2


def test_remove_of_a_team_nobody_belongs_to_does_not_ask(run: Cli) -> None:  # noqa: F811
    ok(run("teams", "add", "Empty"))
    assert ok(run("teams", "remove", "Empty")) == "Removed team 'Empty'; 0 customers and 0 agents are no longer in it.\n"
    missing = run("teams", "remove", "Empty")
    assert missing.exit_code == 1 and "There is no team named 'Empty'" in missing.stderr


@pytest.mark.usefixtures("with_people")
def test_members_add_and_remove_take_agents_by_email_in_any_case(run: Cli) -> None:  # noqa: F811
    assert ok(run("teams", "members", "add", "Sales", "ANN@example.COM", "bob@example.com")) == (
        "1 agent added to team 'Sales' (1 agent already in it).\n")
    assert listed(run)[1]["agents"] == 2
    assert ok(run("teams", "members", "remove", "Billing", "Bob@Example.com")) == "1 agent removed from team 'Billing'.\n"
    assert [team["agents"] for team in listed(run)] == [1, 2]


@pytest.mark.usefixtures("with_people")
def test_an_unknown_agent_is_named_and_nothing_changes(run: Cli) -> None:  # noqa: F811
    ok(run("teams", "add", "Support"))
    result = run("teams", "members", "add", "Support", "ann@example.com", "nobody@example.com")
    assert result.exit_code == 1
    assert result.stderr == "Error: There is no agent with the email 'nobody@example.com'; nothing was changed.\n"
    assert listed(run)[2] == {"id": 3, "name": "Support", "agents": 0, "customers": 0, **NO_EXTERNAL_ID}
    result = run("teams", "members", "remove", "Billing", "ann@example.com", "jane@example.com")
    assert result.exit_code == 1 and "'jane@example.com'" in result.stderr  # a customer is no agent
    assert listed(run)[0]["agents"] == 2


@pytest.mark.usefixtures("with_people")
def test_show_lists_agents_and_customers_with_limit_and_pages_and_as_json(run: Cli) -> None:  # noqa: F811
    assert ok(run("teams", "show", "Billing")).splitlines() == [
        "Team 1\tBilling", "agents: 1-2 of 2", "  1\tann@example.com\tAnn Lee", "  2\tbob@example.com\tBob Roe",
        "customers: 1-2 of 2", "  1\tjane@example.com\tJane Doe", "  2\traj@example.org\tRaj Patel"]
    assert ok(run("teams", "show", "Billing", "--limit", "1")).splitlines() == [
        "Team 1\tBilling", "agents: 1-1 of 2; --page 2 for more", "  1\tann@example.com\tAnn Lee",
        "customers: 1-1 of 2; --page 2 for more", "  1\tjane@example.com\tJane Doe"]
    shown = json.loads(ok(run("teams", "show", "Billing", "--limit", "1", "--page", "2", "--json")))
    assert shown == {"id": 1, "name": "Billing", "agents": 2, "customers": 2, **NO_EXTERNAL_ID, "page": 2, "limit": 1,
                     "agent_members": [{"id": 2, "email": "bob@example.com", "name": "Bob Roe"}],
                     "customer_members": [{"id": 2, "email": "raj@example.org", "name": "Raj Patel"}]}
    assert run("teams", "show", "Billing", "--limit", "0").exit_code == 2


# ---- the question, on a real terminal


def remove_on_a_terminal(run: Cli, answer: bytes) -> tuple[int, str]:  # noqa: F811
    """`teams remove Billing` in a process whose stdin, stdout and stderr are a pseudo-terminal; answer its question."""
    main, secondary = os.openpty()
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTACT_IMPORTER_")}
    process = subprocess.Popen([CONTACT_IMPORTER, "--database-url", run.url, "teams", "remove", "Billing"],
                               stdin=secondary, stdout=secondary, stderr=secondary, env=env, start_new_session=True)
    os.close(secondary)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the terminal closed: the process ended
                    break
                seen += chunk
                if b"[y/N]" in chunk:
                    os.write(main, answer + b"\n")
        status = process.wait(timeout=30)
        while select.select([main], [], [], 0.2)[0]:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
    return status, seen.decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.usefixtures("with_people")
def test_remove_on_a_terminal_asks_first_saying_how_many_customers_and_agents(run: Cli) -> None:  # noqa: F811
    status, output = remove_on_a_terminal(run, b"n")
    assert ("2 customers and 2 agents belong to team 'Billing'. Remove the team and their membership "
            "(the people stay)? [y/N]") in output
    assert status == 1 and "Aborted!" in output
    assert listed(run)[0] == {"id": 1, "name": "Billing", "agents": 2, "customers": 2, **NO_EXTERNAL_ID}
    status, output = remove_on_a_terminal(run, b"y")
    assert status == 0 and "Removed team 'Billing'; 2 customers and 2 agents are no longer in it." in output
    assert [team["name"] for team in listed(run)] == ["Sales"]
    assert set(run.customers()) == {"jane@example.com", "raj@example.org"}
