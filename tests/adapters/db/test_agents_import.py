"""The agents import against real databases: every rule of issue 3, on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import statistics
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, Row, func, inspect, select, text, update

from adapters.bootstrap import bootstrap
from adapters.cli import cli
from adapters.db.agents import agent_teams, agents, invitations, teams
from adapters.db.accounts import AgentError, authenticate, create_admin, export_agents, get_agent
from adapters.db.invitations import accept_invitation, issue_invitation_links, list_pending_invitations
from adapters.db.catalog import utc_now
from adapters.db.models import import_rows
from adapters.passwords import Argon2Hasher
from plugin.report import Status, write_csv
from plugin.services import Services
from plugin.settings import Settings
from tests.conftest import FAST_HASHES

# Cheap argon2id parameters: the rules are the same, the tests fast.
HEADER = "email,first_name,last_name,password,active\n"


@pytest.fixture
def hasher() -> Argon2Hasher:
    return Argon2Hasher(**FAST_HASHES)


@pytest.fixture
def agent_services(settings: Settings, engine: Engine, hasher: Argon2Hasher) -> Services:
    """Services on a freshly migrated database, with the cheap hasher; batches of 7 rows (conftest)."""
    return bootstrap(settings, engine=engine, hasher=hasher)


def run(services: Services, csv_text: str, **options: object):
    return services.imports.import_file("users", io.BytesIO(csv_text.encode()), file_name="agents.csv", actor="tester",
                                **options)  # type: ignore[arg-type]


def stored_agents(engine: Engine) -> dict[str, Row]:
    with engine.connect() as connection:
        return {row.email_key: row for row in connection.execute(select(agents)).all()}


def teams_of(engine: Engine, email: str) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(
            select(teams.c.name).join(agent_teams, agent_teams.c.team_id == teams.c.id)
            .join(agents, agents.c.id == agent_teams.c.agent_id)
            .where(agents.c.email_key == email)).scalars())


def errors_by_row(report) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    found: dict[int, list[str]] = {}
    for error in report.errors:
        found.setdefault(error.row, []).append(error.code)
    return found


def add_teams(engine: Engine, *names: str) -> None:
    with engine.begin() as connection:
        connection.execute(teams.insert(), [{"name": name, "created_at": utc_now()} for name in names])


# ---- creating and validating


def test_new_agents_are_created_with_a_hash_and_the_defaults(agent_services: Services, engine: Engine) -> None:
    report = run(agent_services, HEADER + "Jane.Doe@Example.com,Jane,Doe,Zebra-Plaintext-123456,\n")
    assert (report.status, report.created, report.failed) == (Status.SUCCEEDED, 1, 0)
    jane = stored_agents(engine)["jane.doe@example.com"]
    assert (jane.email, jane.first_name, jane.last_name) == ("Jane.Doe@example.com", "Jane", "Doe")
    assert (jane.is_active, jane.role, jane.username) == (True, "agent", "jane.doe")
    assert jane.password_hash.startswith("$argon2id$")
    assert "Zebra-Plaintext-123456" not in jane.password_hash


def test_first_name_is_required_for_a_new_agent_only(agent_services: Services, engine: Engine) -> None:
    run(agent_services, HEADER + "jane@example.com,Jane,,,\n")
    report = run(agent_services, HEADER + "jane@example.com,,Doe,,\nnew@example.com,,Doe,,\n")
    assert (report.updated, report.failed) == (1, 1)
    assert errors_by_row(report) == {3: ["first_name.required"]}
    assert report.errors[0].message == "A new agent needs a first name; this cell is empty."


def test_a_password_shorter_than_the_setting_fails_the_row_without_echoing_it(
        settings: Settings, engine: Engine, hasher: Argon2Hasher) -> None:
    services = bootstrap(settings.replace(password_min_length=12), engine=engine, hasher=hasher)
    report = run(services, HEADER + "a@example.com,Ann,,Short-Pw-99,\nb@example.com,Bo,,Long-Enough-Pw-99,\n")
    assert (report.created, report.failed) == (1, 1)
    [error] = report.errors
    assert (error.row, error.column, error.code) == (2, "password", "password.too_short")
    assert error.message == "This password is shorter than 12 characters; choose a longer one."
    assert "Short-Pw-99" not in json.dumps(report.as_dict())


def test_six_characters_is_the_default_minimum(agent_services: Services) -> None:
    report = run(agent_services, HEADER + "a@example.com,Ann,,12345,\nb@example.com,Bo,,123456,\n")
    assert errors_by_row(report) == {2: ["password.too_short"]}


@pytest.mark.parametrize(("cell", "is_active"), [
    ("true", True), ("TRUE", True), ("Yes", True), ("y", True), ("Y", True), ("1", True),
    ("false", False), ("False", False), ("NO", False), ("n", False), ("0", False),
])
def test_active_accepts_true_false_yes_no_1_0_y_n_in_any_case(agent_services: Services, engine: Engine, cell: str,
                                                              is_active: bool) -> None:
    report = run(agent_services, HEADER + f"a@example.com,Ann,,,{cell}\n")
    assert report.created == 1
    assert stored_agents(engine)["a@example.com"].is_active is is_active


def test_any_other_active_value_is_a_row_error_naming_the_accepted_values(agent_services: Services) -> None:
    report = run(agent_services, HEADER + "a@example.com,Ann,,,maybe\n")
    [error] = report.errors
    assert (error.row, error.column, error.code) == (2, "active", "active.invalid")
    assert error.message == "'maybe' is not an active flag; use true/false, yes/no, y/n, 1/0 or active/inactive (any case)."


def test_usernames_are_generated_from_the_email_and_unique(agent_services: Services, engine: Engine) -> None:
    run(agent_services, "email,first_name\njane@one.example.com,Jane\n")
    report = run(agent_services, "email,first_name,username\njane@two.example.com,Jane,\njane@three.example.com,Jane,\n"
                                 "Bob+help@example.com,Bob,\n")
    assert report.created == 3
    names = {key: agent.username for key, agent in stored_agents(engine).items()}
    assert names == {"jane@one.example.com": "jane", "jane@two.example.com": "jane2",
                     "jane@three.example.com": "jane3", "bob+help@example.com": "bob"}


def test_a_username_given_in_the_file_must_be_free_and_valid(agent_services: Services, engine: Engine) -> None:
    run(agent_services, "email,first_name,username\nann@example.com,Ann,ann\n")
    report = run(agent_services, "email,first_name,username\nbo@example.com,Bo,ANN\nann@example.com,Ann,Ann\n"
                                 "cy@example.com,Cy,cyrus\ndi@example.com,Di,cyrus\ned@example.com,Ed,e d\n")
    assert errors_by_row(report) == {2: ["username.taken"], 5: ["username.taken"], 6: ["username.invalid"]}
    assert (report.created, report.unchanged) == (1, 1)
    assert stored_agents(engine)["cy@example.com"].username == "cyrus"


@pytest.mark.parametrize(("cell", "role"), [("", "agent"), ("admin", "admin"), ("support_admin", "support_admin"),
                                            ("Support Admin", "support_admin"), ("AGENT", "agent")])
def test_role_is_admin_support_admin_or_agent_by_default(agent_services: Services, engine: Engine, cell: str,
                                                         role: str) -> None:
    run(agent_services, f"email,first_name,role\na@example.com,Ann,{cell}\n")
    assert stored_agents(engine)["a@example.com"].role == role


def test_an_unknown_role_is_a_row_error(agent_services: Services) -> None:
    report = run(agent_services, "email,first_name,role\na@example.com,Ann,boss\n")
    assert errors_by_row(report) == {2: ["role.invalid"]}
    assert report.errors[0].message == "'boss' is not a role; use one of admin, support_admin, agent."


def test_teams_are_colon_separated_and_an_unknown_team_fails_the_row(agent_services: Services, engine: Engine) -> None:
    add_teams(engine, "Billing", "Tier 1")
    report = run(agent_services, "email,first_name,teams\na@example.com,Ann,Billing: Tier 1\nb@example.com,Bo,billing\n")
    assert (report.created, report.failed) == (1, 1)
    assert teams_of(engine, "a@example.com") == {"Billing", "Tier 1"}
    [error] = report.errors
    assert (error.row, error.code) == (3, "teams.unknown")
    assert "did you mean 'Billing'?" in error.message and "“Create teams that do not exist yet”" in error.message


def test_create_teams_creates_the_unknown_ones(agent_services: Services, engine: Engine) -> None:
    add_teams(engine, "Billing")
    report = run(agent_services, "email,first_name,teams\na@example.com,Ann,Billing:Night shift\n"
                                 "b@example.com,Bo,Night shift\n", options={"create_teams": True})
    assert (report.created, report.failed) == (2, 0)
    assert teams_of(engine, "a@example.com") == {"Billing", "Night shift"}
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(teams)).scalar_one() == 2


def test_usual_header_spellings_map_to_the_fields(agent_services: Services, engine: Engine) -> None:
    report = run(agent_services, "E-mail Address,First Name,Surname,Pass,Enabled,User Name,User Role,Team\n"
                                 "a@example.com,Ann,Lee,Zebra-Plaintext-123456,no,annie,admin,\n")
    assert {column.header: column.target for column in report.mapping} == {
        "E-mail Address": "email", "First Name": "first_name", "Surname": "last_name", "Pass": "password",
        "Enabled": "active", "User Name": "username", "User Role": "role", "Team": "teams"}
    ann = stored_agents(engine)["a@example.com"]
    assert (ann.last_name, ann.is_active, ann.username, ann.role) == ("Lee", False, "annie", "admin")


def test_the_agents_kind_answers_to_users_and_agents(agent_services: Services) -> None:
    assert agent_services.kind("users") is agent_services.kind("agents")
    assert run(agent_services, HEADER + "a@example.com,Ann,,,\n").kind == "users"


# ---- sign-in


def test_an_imported_password_signs_in(agent_services: Services, engine: Engine, hasher: Argon2Hasher) -> None:
    run(agent_services, HEADER + "Ann@Example.com,Ann,Lee,Zebra-Plaintext-123456,yes\n")
    account = authenticate(engine, hasher, "ANN@example.com", "Zebra-Plaintext-123456")
    assert account is not None
    assert (account.email, account.first_name, account.last_name, account.role, account.is_active) == (
        "Ann@example.com", "Ann", "Lee", "agent", True)
    assert stored_agents(engine)["ann@example.com"].last_sign_in_at is not None
    assert get_agent(engine, account.id) == account


def test_an_imported_password_signs_in_with_the_production_hasher(services: Services, engine: Engine) -> None:
    run(services, HEADER + "ann@example.com,Ann,,Zebra-Plaintext-123456,\n")
    assert authenticate(engine, services.hasher, "ann@example.com", "Zebra-Plaintext-123456") is not None  # type: ignore[arg-type]


def test_an_inactive_agent_cannot_sign_in(agent_services: Services, engine: Engine, hasher: Argon2Hasher) -> None:
    run(agent_services, HEADER + "ann@example.com,Ann,,Zebra-Plaintext-123456,no\n")
    assert authenticate(engine, hasher, "ann@example.com", "Zebra-Plaintext-123456") is None
    assert stored_agents(engine)["ann@example.com"].last_sign_in_at is None


def _median_seconds(attempt) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds of this thread (where argon2 verifies), so other processes' load does not skew the ratio."""
    timings = []
    for _ in range(9):
        started = time.thread_time()
        attempt()
        timings.append(time.thread_time() - started)
    return statistics.median(timings)


def test_a_wrong_password_and_an_unknown_email_give_the_same_answer_in_the_same_time(
        settings: Settings, engine: Engine) -> None:
    hasher = Argon2Hasher(memory_cost=8192, time_cost=2)  # costly enough for timing to be the hash's
    services = bootstrap(settings, engine=engine, hasher=hasher)
    run(services, HEADER + "ann@example.com,Ann,,Zebra-Plaintext-123456,\n")
    wrong = authenticate(engine, hasher, "ann@example.com", "Not-Her-Password")
    unknown = authenticate(engine, hasher, "nobody@example.com", "Not-Her-Password")
    assert wrong is None and unknown is None
    authenticate(engine, hasher, "nobody@example.com", "warm-up")
    wrong_seconds = _median_seconds(lambda: authenticate(engine, hasher, "ann@example.com", "Not-Her-Password"))
    unknown_seconds = _median_seconds(lambda: authenticate(engine, hasher, "nobody@example.com", "Not-Her-Password"))
    assert 0.5 < unknown_seconds / wrong_seconds < 2.0, (unknown_seconds, wrong_seconds)  # skipping the hash: ~0.05


def test_a_hash_with_old_parameters_is_replaced_on_sign_in(agent_services: Services, engine: Engine) -> None:
    run(agent_services, HEADER + "ann@example.com,Ann,,Zebra-Plaintext-123456,\n")
    old_hash = stored_agents(engine)["ann@example.com"].password_hash
    stronger = Argon2Hasher(memory_cost=2048, time_cost=2)
    assert stronger.needs_rehash(old_hash)
    assert authenticate(engine, stronger, "ann@example.com", "Zebra-Plaintext-123456") is not None
    new_hash = stored_agents(engine)["ann@example.com"].password_hash
    assert new_hash != old_hash and not stronger.needs_rehash(new_hash)
    assert authenticate(engine, stronger, "ann@example.com", "Zebra-Plaintext-123456") is not None


def test_create_admin_makes_an_admin_who_signs_in(engine: Engine, agent_services: Services, hasher: Argon2Hasher) -> None:
    agent_id = create_admin(engine, hasher, "Root@Example.com", "Admin-Pass-4567")
    account = authenticate(engine, hasher, "root@example.com", "Admin-Pass-4567")
    assert account is not None and (account.id, account.role, account.first_name) == (agent_id, "admin", "Admin")
    with pytest.raises(AgentError, match="already exists"):
        create_admin(engine, hasher, "root@example.com", "Admin-Pass-4567")
    with pytest.raises(AgentError, match="shorter than 6"):
        create_admin(engine, hasher, "other@example.com", "12345")


# ---- re-import, passwords kept, invitations


def test_reimporting_the_same_file_is_unchanged_except_a_present_password(agent_services: Services, engine: Engine) -> None:
    add_teams(engine, "Billing")
    csv_text = ("email,first_name,last_name,password,active,role,teams\n"
                "ann@example.com,Ann,Lee,Zebra-Plaintext-123456,yes,admin,Billing\n"
                "bo@example.com,Bo,Ray,,no,,\n")
    run(agent_services, csv_text)
    first_hash = stored_agents(engine)["ann@example.com"].password_hash
    report = run(agent_services, csv_text)
    assert (report.created, report.updated, report.unchanged, report.failed) == (0, 1, 1, 0)
    results = {row["row"]: row for row in agent_services.history.row_results(report.job)}  # type: ignore[attr-defined]
    assert results[2]["action"] == "updated"
    assert results[2]["changes"] == [{"field": "password", "old": "(hidden)", "new": "(hidden)"}]
    assert results[3]["action"] == "unchanged"
    new_hash = stored_agents(engine)["ann@example.com"].password_hash
    assert new_hash != first_hash  # re-hashed: a new salt


def test_an_empty_password_cell_keeps_the_current_password(agent_services: Services, engine: Engine,
                                                           hasher: Argon2Hasher) -> None:
    run(agent_services, HEADER + "ann@example.com,Ann,,Zebra-Plaintext-123456,\n")
    before = stored_agents(engine)["ann@example.com"].password_hash
    report = run(agent_services, HEADER + "ann@example.com,Annie,,,\n")
    assert report.updated == 1
    assert stored_agents(engine)["ann@example.com"].password_hash == before
    assert authenticate(engine, hasher, "ann@example.com", "Zebra-Plaintext-123456") is not None


def test_a_new_agent_without_a_password_gets_an_invitation(agent_services: Services, engine: Engine,
                                                           hasher: Argon2Hasher) -> None:
    report = run(agent_services, HEADER + "ann@example.com,Ann,Lee,,\nbo@example.com,Bo,,Zebra-Plaintext-123456,\n")
    assert report.created == 2
    [pending] = list_pending_invitations(engine)
    assert (pending.email, pending.name, pending.sent_at, pending.has_link) == ("ann@example.com", "Ann Lee", None, False)
    run(agent_services, HEADER + "ann@example.com,Ann,Lee,,\n")  # re-import: no second invitation
    assert len(list_pending_invitations(engine)) == 1
    assert authenticate(engine, hasher, "ann@example.com", "") is None

    [issued] = issue_invitation_links(engine, hours=72)
    account = accept_invitation(engine, hasher, issued.token, "Chosen-Pass-2026")
    assert account.email == "ann@example.com"
    assert authenticate(engine, hasher, "ann@example.com", "Chosen-Pass-2026") is not None
    assert list_pending_invitations(engine) == []
    with pytest.raises(AgentError, match="used already"):
        accept_invitation(engine, hasher, issued.token, "Another-Pass-2026")


def test_an_invitation_link_expires_and_a_newer_link_replaces_it(agent_services: Services, engine: Engine,
                                                                 hasher: Argon2Hasher) -> None:
    run(agent_services, HEADER + "ann@example.com,Ann,,,\n")
    [older] = issue_invitation_links(engine, hours=1)
    [newer] = issue_invitation_links(engine, hours=1)
    with pytest.raises(AgentError):
        accept_invitation(engine, hasher, older.token, "Chosen-Pass-2026")
    later = lambda: utc_now() + timedelta(hours=2)  # noqa: E731
    with pytest.raises(AgentError, match="expired"):
        accept_invitation(engine, hasher, newer.token, "Chosen-Pass-2026", now=later)
    with pytest.raises(AgentError, match="shorter than 6"):
        accept_invitation(engine, hasher, newer.token, "short")
    assert accept_invitation(engine, hasher, newer.token, "Chosen-Pass-2026").email == "ann@example.com"


def test_export_has_no_password_column_and_reimports_unchanged(agent_services: Services, engine: Engine) -> None:
    add_teams(engine, "Billing", "Tier 1")
    run(agent_services, "email,first_name,last_name,password,active,role,teams\n"
                        "ann@example.com,Ann,Lee,Zebra-Plaintext-123456,yes,admin,Billing:Tier 1\n"
                        "bo@example.com,Bo,,,no,,\n")
    headers, rows = export_agents(engine)
    exported = "".join(write_csv(headers, rows))
    assert headers == ["email", "first_name", "last_name", "active", "username", "role", "teams"]
    assert "password" not in exported and "argon2" not in exported
    assert "ann@example.com,Ann,Lee,true,ann,admin,Billing:Tier 1" in exported
    report = run(agent_services, exported)
    assert (report.unchanged, report.updated, report.created, report.failed) == (2, 0, 0, 0)


def test_progress_is_reported_while_passwords_are_hashed(agent_services: Services) -> None:
    heard: list[tuple[int, int]] = []
    rows = "".join(f"a{number}@example.com,A,,Password-{number:04d},\n" for number in range(20))
    report = run(agent_services, HEADER + rows, progress=lambda done, total: heard.append((done, total)))
    assert report.created == 20
    assert heard[0] == (0, 20) and heard[-1] == (20, 20)
    assert all(total == 20 for _, total in heard)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
    assert len(heard) > 1 + 3  # the start, and more than one call per batch of 7


def test_a_store_without_the_hashing_step_refuses_plain_passwords(agent_services: Services, engine: Engine,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    agent_services.preparers.clear()
    report = run(agent_services, HEADER + "ann@example.com,Ann,,Zebra-Plaintext-123456,\n")
    assert (report.status, report.error_code, report.rows) == ("failed", "import.crashed", 0)  # the job ends failed
    assert "ValueError" in report.message and "Zebra-Plaintext-123456" not in report.message
    assert "hashed before" in caplog.text and "Zebra-Plaintext-123456" not in caplog.text
    assert stored_agents(engine) == {}


# ---- the plain password survives nowhere

PLAINTEXTS = ("Zebra-Plaintext-123456", "Quokka-Secret-987654", "Narwhal-Failing-555111", "Okapi-DryRun-246810")


def _encodings(secret: str) -> list[bytes]:
    return [secret.encode("utf-8"), secret.encode("utf-16-le"), secret.encode("utf-16-be")]


def _files(folder: Path) -> Iterator[Path]:
    return (path for path in folder.rglob("*") if path.is_file())


def _table_texts(engine: Engine) -> Iterator[str]:
    """Every row of every table of the schema, as PostgreSQL prints it."""
    names = inspect(engine).get_table_names()
    with engine.connect() as connection:
        for name in names:
            for (row_text,) in connection.execute(text(f'SELECT t::text FROM "{name}" AS t')):
                yield row_text


def test_no_plain_password_survives_anywhere(agent_services: Services, engine: Engine, settings: Settings,
                                            tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    zebra, quokka, narwhal, okapi = PLAINTEXTS
    applied = run(agent_services, HEADER + f"ann@example.com,Ann,,{zebra},yes\nbo@example.com,Bo,,{quokka},no\n"
                                           f"cy@example.com,,,{narwhal},\ndi@example.com,Di,,,maybe\n")
    assert (applied.created, applied.failed) == (2, 2)
    dry = run(agent_services, HEADER + f"ed@example.com,Ed,,{okapi},\nann@example.com,Ann,,{okapi},\n"
                                       f"fy@example.com,Fy,,{okapi},maybe\n", dry_run=True)
    assert (dry.status, dry.created, dry.updated, dry.failed) == (Status.DRY_RUN, 1, 1, 1)
    assert authenticate(engine, agent_services.hasher, "ann@example.com", zebra) is not None  # type: ignore[arg-type]

    reports = tmp_path / "reports"
    reports.mkdir()
    history = agent_services.history
    for report in (applied, dry):
        error_csv = "".join(history.error_report(report.job))
        assert error_csv.count("(hidden)") == 1  # cy's row (applied), fy's row (dry run); di's has no password
        (reports / f"errors-{report.job}.csv").write_text(error_csv, encoding="utf-8")
        (reports / f"errors-{report.job}-utf16.csv").write_text(error_csv, encoding="utf-16")
        (reports / f"report-{report.job}.json").write_text(json.dumps(report.as_dict()), encoding="utf-8")
        (reports / f"rows-{report.job}.json").write_text(
            json.dumps(history.row_results(report.job, limit=100), default=str), encoding="utf-8")
    cli_run = CliRunner().invoke(cli, ["--database-url", settings.resolved_database_url, "job", str(applied.job), "--errors"])
    assert cli_run.exit_code == 0, cli_run.output
    (reports / "cli-errors.csv").write_text(cli_run.output, encoding="utf-8")
    (tmp_path / "log.txt").write_text(caplog.text, encoding="utf-8")
    assert "import" in caplog.text  # the capture did capture

    with engine.connect() as connection:
        cells = [cell for (cells,) in connection.execute(select(import_rows.c.cells)) for cell in cells or ()]
    assert cells.count("(hidden)") == 2  # cy's and fy's rows; di's has no password cell
    if engine.dialect.name == "postgresql":
        texts = list(_table_texts(engine))
        assert any("$argon2id$" in row for row in texts)  # the scan reads the agents table
        for secret in PLAINTEXTS:
            assert not [row for row in texts if secret in row], secret
    with engine.connect():  # an open connection: SQLite's -wal and -shm stay as they are while we read them
        scanned = {path: path.read_bytes() for path in _files(tmp_path)}
    names = {path.name for path in scanned}
    assert names >= {"log.txt", "cli-errors.csv"}
    if engine.dialect.name == "sqlite":
        assert names >= {"contacts.db", "contacts.db-wal", "contacts.db-shm"}
    for path, content in scanned.items():
        for secret in PLAINTEXTS:
            for encoded in _encodings(secret):
                assert encoded not in content, f"{secret} found in {path.name}"


def test_the_failed_cells_of_a_row_keep_the_other_columns(agent_services: Services, engine: Engine) -> None:
    report = run(agent_services, HEADER + "cy@example.com,,,Narwhal-Failing-555111,yes\n")
    with engine.connect() as connection:
        [cells] = connection.execute(select(import_rows.c.cells)
                                     .where(import_rows.c.job_id == report.job)).scalars()
    assert cells == ["cy@example.com", "", "", "(hidden)", "yes"]


# ---- the command line


def test_the_command_line_imports_verifies_and_exports_agents(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    url = settings.resolved_database_url
    runner = CliRunner()
    template = runner.invoke(cli, ["--database-url", url, "template", "users"])
    assert template.exit_code == 0
    assert template.output.splitlines()[0] == "email,first_name,last_name,password,active,username,role,teams"
    agents_csv = tmp_path / "in" / "agents.csv"
    agents_csv.parent.mkdir()
    agents_csv.write_text("email,first_name,password,active,teams\nann@example.com,Ann,Zebra-Plaintext-123456,yes,Ops\n"
                          "bo@example.com,Bo,Quokka-Secret-987654,no,\n")
    refused = runner.invoke(cli, ["--database-url", url, "import", "agents", str(agents_csv)])
    assert refused.exit_code == 1 and "teams.unknown" in refused.output
    imported = runner.invoke(cli, ["--database-url", url, "import", "users", str(agents_csv), "--create-teams",
                                   "--no-invitations"])
    assert imported.exit_code == 0, imported.output
    assert "1 created, 1 updated" in imported.output  # bo came in with the first try; ann now

    def verify(email: str, password: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, ["--database-url", url, "verify", email], input=password + "\n")

    good, wrong, unknown, inactive = (verify("ann@example.com", "Zebra-Plaintext-123456"),
                                      verify("ann@example.com", "Not-Her-Password"),
                                      verify("nobody@example.com", "Zebra-Plaintext-123456"),
                                      verify("bo@example.com", "Quokka-Secret-987654"))
    assert good.exit_code == 0 and "ann@example.com" in good.output
    assert (wrong.exit_code, unknown.exit_code, inactive.exit_code) == (1, 1, 1)
    assert wrong.output == unknown.output == inactive.output
    assert "Zebra-Plaintext-123456" not in good.output + wrong.output

    exported = runner.invoke(cli, ["--database-url", url, "export", "users"])
    assert exported.exit_code == 0
    assert exported.output.splitlines() == ["email,first_name,last_name,active,username,role,teams",
                                            "bo@example.com,Bo,,false,bo,agent,", "ann@example.com,Ann,,true,ann,agent,Ops"]


def test_the_command_line_creates_an_admin_from_a_prompt_or_stdin(settings: Settings, engine: Engine) -> None:
    url = settings.resolved_database_url
    runner = CliRunner()
    mismatch = runner.invoke(cli, ["--database-url", url, "users", "create-admin", "root@example.com"],
                             input="Admin-Pass-4567\nAdmin-Pass-4568\nAdmin-Pass-4567\nAdmin-Pass-4567\n")
    assert mismatch.exit_code == 0, mismatch.output  # asked again after a mismatch
    from_stdin = runner.invoke(cli, ["--database-url", url, "users", "create-admin", "two@example.com", "--password-stdin"],
                               input="Second-Pass-4567\n")
    assert from_stdin.exit_code == 0, from_stdin.output
    assert runner.invoke(cli, ["--database-url", url, "verify", "two@example.com", "--password-stdin"],
                         input="Second-Pass-4567\n").exit_code == 0
    again = runner.invoke(cli, ["--database-url", url, "users", "create-admin", "two@example.com", "--password-stdin"],
                          input="Second-Pass-4567\n")
    assert again.exit_code == 1 and "already exists" in again.output
    with engine.connect() as connection:
        assert set(connection.execute(select(agents.c.role)).scalars()) == {"admin"}


def test_the_command_line_lists_pending_invitations_and_issues_links(settings: Settings, engine: Engine,
                                                                     agent_services: Services, hasher: Argon2Hasher) -> None:
    run(agent_services, HEADER + "ann@example.com,Ann,Lee,,\n")
    url = settings.resolved_database_url
    runner = CliRunner()
    listed = runner.invoke(cli, ["--database-url", url, "invitations"])
    assert listed.exit_code == 0 and "ann@example.com\tAnn Lee\tnot mailed" in listed.output
    links = runner.invoke(cli, ["--database-url", url, "invitations", "--issue-links"])
    assert links.exit_code == 0
    token = links.output.strip().rpartition("token=")[2]
    assert accept_invitation(engine, hasher, token, "Chosen-Pass-2026").email == "ann@example.com"
    assert runner.invoke(cli, ["--database-url", url, "invitations"]).output == ""
    with engine.begin() as connection:  # an invitation of an agent who got a password another way is not pending
        connection.execute(update(invitations).values(used_at=None))
    assert runner.invoke(cli, ["--database-url", url, "invitations"]).output == ""
