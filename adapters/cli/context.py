"""What every command shares: the services of this run, built once on first use; output helpers; exit codes."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the services (SQLAlchemy and all) load when a command first asks for them
    from plugin.services import Services

EXIT_ROWS_FAILED = 1
EXIT_REJECTED = 2


def services_of(context: click.Context) -> Services:
    """Built on first use, so `--help` never touches a database."""
    state = context.find_root().obj
    if "services" not in state:
        from adapters.bootstrap import bootstrap, freeze_startup_heap, settings_from_environment
        from plugin.settings import SettingsError

        try:
            settings = settings_from_environment(database_url=state["database_url"])
        except SettingsError as error:
            raise click.ClickException(str(error)) from error
        state["services"] = bootstrap(settings)
        freeze_startup_heap()
        context.find_root().call_on_close(state["services"].close)  # no connection left open
    return state["services"]



def echo_csv(chunks: Iterable[str]) -> None:
    for chunk in chunks:  # click.echo, not get_text_stream(): deprecated in Click 8.4
        click.echo(chunk, nl=False)


def terminal_progress():  # type: ignore[no-untyped-def]
    """Rows done of all, on stderr, when a person watches a terminal; nothing in scripts and pipes."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        click.echo(f"\r{done:,} of {total:,} rows", err=True, nl=done >= total)

    return show


