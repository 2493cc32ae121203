"""The contact-importer command: each command parses, calls one use case, renders. Nothing else.

The commands live in modules of this package by what they serve (imports, jobs, catalog, people); the web
adapter's (serve, worker, tokens) and the IMAP adapter's (mailbox) are added the same way.
"""

from __future__ import annotations

import logging
import os
import sys

import click

from adapters.cli import catalog, imports, jobs, people, teams
from adapters.cli.context import ImporterGroup


@click.group(cls=ImporterGroup)
@click.option("--database-url", envvar="CONTACT_IMPORTER_DATABASE_URL", default=None, metavar="URL",
              help="SQLAlchemy URL of the database (default: a SQLite file at instance/contacts.db).")
@click.option("-v", "--verbose", count=True, help="Log progress (-v) or every batch (-vv) on stderr.")
@click.version_option(package_name="contact-importer")
@click.pass_context
def cli(context: click.Context, database_url: str | None, verbose: int) -> None:
    """Bring people into the helpdesk: customers and agents from CSV, contacts from support mail."""
    if verbose:
        logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    context.obj = {"database_url": database_url}


def main(argv: list[str] | None = None) -> None:
    os.umask(0o077)  # what the commands create (database, secret key, uploads, queue file) is the service user's only
    cli.main(args=argv, prog_name="contact-importer")


def _add_commands() -> None:
    from adapters.imap.commands import COMMANDS as MAILBOX_COMMANDS
    from adapters.notices.commands import COMMANDS as NOTICE_COMMANDS
    from adapters.web.commands import COMMANDS as WEB_COMMANDS

    for module_commands in (imports.COMMANDS, jobs.COMMANDS, catalog.COMMANDS, people.COMMANDS, teams.COMMANDS,
                            WEB_COMMANDS, MAILBOX_COMMANDS, NOTICE_COMMANDS):
        for command in module_commands:
            cli.add_command(command)


_add_commands()
