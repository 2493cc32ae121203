"""The command line loads only what the command it runs uses: no web framework, queue, IMAP client or password
hasher for `--help` or a customers import, and Alembic only while the schema is behind. Real processes."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner
from sqlalchemy import create_engine

from adapters.bootstrap import Argon2OnFirstUse
from adapters.cli import COMMAND_MODULES, LazyGroup, cli
from adapters.db.engine import migration_heads, recorded_revision, upgrade_database

WEB_MAIL_QUEUE_HASHER = ("flask", "werkzeug", "huey", "redis", "passlib", "argon2", "imapclient")

RUN_AND_LIST_MODULES = """
import json, sys
from adapters.cli import main
try:
    main(sys.argv[2:])
except SystemExit as leaving:
    assert not leaving.code, leaving.code
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def modules_after(tmp_path: Path, *args: str) -> set[str]:
    """The modules (packages and submodules) a fresh `contact-importer ARGS` process has loaded when it ends."""
    listing = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", RUN_AND_LIST_MODULES, str(listing), *args], cwd=tmp_path, check=True,
                   capture_output=True, text=True)
    return set(json.loads(listing.read_text()))


def test_help_loads_no_command_module_nor_database_web_mail_queue_or_hasher(tmp_path: Path) -> None:
    loaded = modules_after(tmp_path, "--help")
    assert "click" in loaded  # the check really sees what the process imported
    assert loaded.isdisjoint({*WEB_MAIL_QUEUE_HASHER, "sqlalchemy", "alembic", "psycopg"})


def test_a_customers_import_loads_alembic_only_while_the_schema_is_behind_and_never_web_mail_queue_hasher_or_orm(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/contacts.db"
    (tmp_path / "one.csv").write_text("email,first_name\nann@example.com,Ann\n")
    (tmp_path / "other.csv").write_text("email,first_name\nbob@example.com,Bob\n")

    creating = modules_after(tmp_path, "--database-url", url, "import", "customers", "one.csv")
    assert {"sqlalchemy", "alembic"} <= creating  # a new database: its schema is made by the migrations
    current = modules_after(tmp_path, "--database-url", url, "import", "customers", "other.csv")

    assert "sqlalchemy" in current
    assert current.isdisjoint({*WEB_MAIL_QUEUE_HASHER, "alembic", "psycopg", "openpyxl", "sqlalchemy.orm"})
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT email FROM contacts ORDER BY email").all()
    engine.dispose()
    assert rows == [("ann@example.com",), ("bob@example.com",)]


def test_a_command_on_a_database_migrations_behind_brings_it_to_the_newest(tmp_path: Path) -> None:
    from alembic import command

    from adapters.db.engine import alembic_config, make_engine

    url = f"sqlite:///{tmp_path}/contacts.db"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0014_customer_fields")  # an older revision
    (tmp_path / "one.csv").write_text("email,first_name\nann@example.com,Ann\n")

    loaded = modules_after(tmp_path, "--database-url", url, "import", "customers", "one.csv")

    assert "alembic" in loaded
    assert {recorded_revision(engine)} == migration_heads() != {"0014_customer_fields"}
    engine.dispose()


def test_help_lists_every_command_with_the_help_its_own_module_gives_it() -> None:
    listing = LazyGroup(modules=COMMAND_MODULES)  # nothing loaded yet: names and help come from the source
    listed = {name: click.Command(name, help=command.help).get_short_help_str(60)
              for name, command in listing.listed().items()}
    context = click.Context(cli)
    loaded = {name: cli.get_command(context, name).get_short_help_str(60)  # type: ignore[union-attr]
              for name in cli.list_commands(context)}

    assert listed == loaded
    assert {"import", "serve", "mailbox", "labels", "jobs"} <= set(listed)


def test_the_newest_migration_read_from_the_files_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from adapters.db.engine import alembic_config

    assert migration_heads() == set(ScriptDirectory.from_config(alembic_config(create_engine("sqlite://"))).get_heads())


def test_the_recorded_revision_is_none_on_a_new_database_and_the_head_once_upgraded(database_url: str) -> None:
    from adapters.db.engine import make_engine

    engine = make_engine(database_url)
    try:
        assert recorded_revision(engine) is None
        upgrade_database(engine)
        assert {recorded_revision(engine)} == migration_heads()
        upgrade_database(engine)  # current: nothing to do
        assert {recorded_revision(engine)} == migration_heads()
    finally:
        engine.dispose()


def test_the_production_hasher_is_built_on_first_use_and_hashes_with_argon2id() -> None:
    hasher = Argon2OnFirstUse()
    [stored] = hasher.hash_many(["correct horse"])
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=1$")
    assert hasher.verify("correct horse", stored) and not hasher.verify("wrong horse", stored)
    assert hasher.needs_rehash(stored) is False



def test_what_every_command_shares_loads_no_database_library_until_a_command_asks_for_the_services() -> None:
    script = "import json, sys; import adapters.cli.context; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                       text=True).stdout)
    assert "adapters.cli.context" in loaded
    assert not any(name.split(".")[0] in ("sqlalchemy", "alembic", *WEB_MAIL_QUEUE_HASHER) for name in loaded)


def test_a_command_run_inside_another_process_leaves_its_garbage_collector_alone(tmp_path: Path) -> None:
    """Only a command that is its own process (adapters.cli.main) freezes its start-up heap: run inside another
    (a host, a test's CliRunner) it would freeze that process's garbage of the moment for good."""
    (tmp_path / "one.csv").write_text("email,first_name\nann@example.com,Ann\n")
    frozen, was_enabled = gc.get_freeze_count(), gc.isenabled()

    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{tmp_path}/contacts.db", "import", "customers",
                                      str(tmp_path / "one.csv")])

    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled() == was_enabled
