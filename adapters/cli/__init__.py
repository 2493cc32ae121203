"""The contact-importer command: each command parses, calls one use case, renders. Nothing else.

The commands live in modules by what they serve: this package's imports, jobs, catalog and people, the web
adapter's (serve, worker, tokens) and the IMAP adapter's (mailbox). A command's module loads only when that
command runs, so `import customers` never loads Flask, huey or imapclient, and `--help` loads none of them:
it lists each command with the help its module's source gives (adapters/cli/listing.py).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click

from adapters.cli.context import OWN_PROCESS, ImporterGroup
from adapters.cli.listing import ListedCommand, listed_commands
from plugin.garbage import collector_paused

#: Where the commands are, each module naming its commands in a COMMANDS tuple.
COMMAND_MODULES = ("adapters.cli.imports", "adapters.cli.jobs", "adapters.cli.catalog", "adapters.cli.people",
                   "adapters.cli.teams", "adapters.web.commands", "adapters.imap.commands", "adapters.notices.commands")


class LazyGroup(ImporterGroup):
    """A click group whose commands load from their modules when they run (or their own --help is asked)."""

    def __init__(self, *args: Any, modules: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modules = modules
        self._listed_by_module: dict[str, dict[str, ListedCommand]] = {}
        self._listing = False

    def listed(self) -> dict[str, ListedCommand]:
        """Every command by name, from the modules' source; a module whose source says it otherwise is loaded."""
        return {name: listed for module in self.modules for name, listed in self._listed_in(module).items()}

    def list_commands(self, context: click.Context) -> list[str]:
        return sorted({*self.commands, *self.listed()})

    def get_command(self, context: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        for module in self.modules:  # read one module after another until one has the command
            listed = self._listed_in(module).get(name)
            if listed is None:
                continue
            if self._listing:  # --help of the group: the name and help are enough
                return click.Command(name, help=listed.help)
            self._load_module(module)
            return self.commands.get(name)
        return None

    def format_commands(self, context: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(context, formatter)
        finally:
            self._listing = False

    def _listed_in(self, module: str) -> dict[str, ListedCommand]:
        if module not in self._listed_by_module:
            with collector_paused():  # parsing makes many objects and no garbage (see context.services_of)
                found = listed_commands(module)
            if found is None:
                found = {command.name: ListedCommand(module, command.name, command.help)
                         for command in self._load_module(module) if command.name}
            self._listed_by_module[module] = found
        return self._listed_by_module[module]

    def _load_module(self, module: str) -> tuple[click.Command, ...]:
        with collector_paused():  # loading makes many objects and no garbage (see context.services_of)
            commands = tuple(importlib.import_module(module).COMMANDS)
        for command in commands:
            self.add_command(command)
        return commands


@click.group(cls=LazyGroup, modules=COMMAND_MODULES)
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
    context.obj = {"database_url": database_url, OWN_PROCESS: bool((context.obj or {}).get(OWN_PROCESS))}


def main(argv: list[str] | None = None) -> None:
    os.umask(0o077)  # what the commands create (database, secret key, uploads, queue file) is the service user's only
    cli.main(args=argv, prog_name="contact-importer", obj={OWN_PROCESS: True})
