"""What every command shares: the services of this run, built once on first use; output helpers; exit codes."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import click

from plugin.errors import BadFile
from plugin.garbage import collector_paused
from plugin.progress import measure_progress

if TYPE_CHECKING:  # the core's modules load when a command needs them: `--help` never does
    from plugin.report import ImportReport
    from plugin.services import Services

EXIT_ROWS_FAILED = 1
EXIT_REJECTED = 2  # a file rejected whole, on every command that reads one; click's usage errors exit 2 too
EXIT_IMPORT_FAILED = 3  # the import itself broke (see its message); the rows done so far are kept


def exit_codes() -> dict[type[Exception], int]:
    """The one mapping from errors to exit codes: every command raises these, the group turns them into a message
    on stderr and this exit status (ImporterGroup); other ClickExceptions exit 1, usage errors click's 2. Read
    when a command raised something: the options' and the services' modules load only for commands using them."""
    from plugin.options import OptionInvalid
    from plugin.services import UnknownKind

    return {BadFile: EXIT_REJECTED, OptionInvalid: EXIT_REJECTED, UnknownKind: EXIT_REJECTED}


class CommandFailed(click.ClickException):
    """An error of the core, with the exit status exit_codes() gives it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ImporterGroup(click.Group):
    """The contact-importer group: an error listed in exit_codes(), raised by any command, exits with its code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except tuple(exit_codes()) as error:  # evaluated only when something was raised
            message = getattr(error, "message", None) or str(error)
            code = next(code for kind, code in exit_codes().items() if isinstance(error, kind))
            raise CommandFailed(message, code) from error


def exit_for(context: click.Context, report: ImportReport) -> None:
    """Leave with the status of an import's report: 2 rejected, 3 the import failed, 1 some rows failed (would
    fail), else go on."""
    from plugin.report import Status

    if report.status is Status.REJECTED:
        context.exit(EXIT_REJECTED)
    if report.status is Status.FAILED:
        context.exit(EXIT_IMPORT_FAILED)
    if report.has_failures:
        context.exit(EXIT_ROWS_FAILED)


OWN_PROCESS = "own_process"  # in the root context's obj: the command runs as its own process (adapters.cli.main)


def services_of(context: click.Context) -> Services:
    """Built on first use, so `--help` never touches a database.

    In the command's own process (adapters.cli.main), loading SQLAlchemy and the adapters makes a few hundred
    thousand objects and no garbage: the cycle collector is paused meanwhile, so none of its passes walks them
    (about a sixth of a 1-row import's time), and frozen after they stay out of every later pass
    (freeze_startup_heap). Run inside another process (a test's CliRunner), the collector is left alone: that
    process's garbage of the moment would be frozen too, and never freed."""
    root = context.find_root()
    state = root.obj
    if "services" not in state:
        if state.get(OWN_PROCESS):
            with collector_paused():  # loading the adapters (in _bootstrapped) included
                state["services"] = _bootstrapped(state["database_url"])
                from adapters.bootstrap import freeze_startup_heap

                freeze_startup_heap()
        else:
            state["services"] = _bootstrapped(state["database_url"])
        root.call_on_close(state["services"].close)  # no connection left open
    return state["services"]


def _bootstrapped(database_url: str | None) -> Services:
    from adapters.bootstrap import bootstrap, settings_from_environment
    from plugin.settings import SettingsError

    try:
        settings = settings_from_environment(database_url=database_url)
    except SettingsError as error:
        raise click.ClickException(str(error)) from error
    return bootstrap(settings)


def echo_csv(chunks: Iterable[str]) -> None:
    for chunk in chunks:  # click.echo, not get_text_stream(): deprecated in Click 8.4
        click.echo(chunk, nl=False)


def terminal_progress(*, clock: Callable[[], float] = time.monotonic):  # type: ignore[no-untyped-def]
    """Percent, rows done of all, rows a second and time left (plugin.progress), on stderr, when a person
    watches a terminal; nothing in scripts and pipes."""
    if not sys.stderr.isatty():
        return None
    started = clock()
    width = [0]  # of the longest line so far: a shorter one is padded over it

    def show(done: int, total: int) -> None:
        line = measure_progress(done, total, elapsed=clock() - started, is_finished=done >= total).text
        width[0] = max(width[0], len(line))
        click.echo(f"\r{line.ljust(width[0])}", err=True, nl=done >= total)

    return show


