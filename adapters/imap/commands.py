"""`contact-importer mailbox add|list|poll|watch|remove|skips`: each parses, calls, renders.

They are added to the `contact-importer` group in adapters/cli/__init__.py. Mailbox passwords come from the
environment variable each mailbox names (`--password-env`): this module is the edge that reads it.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from datetime import date, datetime
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imapclient and the poller load only when a mailbox command runs
    from adapters.imap.poll_result import PollProgress, PollResult
    from plugin.ports.mailboxes import MailboxRecord


def _services(context: click.Context):  # type: ignore[no-untyped-def]
    from adapters.cli.context import services_of as group_services  # built once per run; the engine is closed on exit

    return group_services(context)


@click.group("mailbox")
def mailbox_group() -> None:
    """Support mailboxes: everyone who writes to one becomes a contact (robots and agents never do)."""


@mailbox_group.command("add")
@click.argument("name")
@click.option("--host", required=True, help="The IMAP server, e.g. imap.example.com.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Default: 993, or 143 with --no-tls."
)
@click.option("--user", required=True, help="The login, e.g. support@example.com.")
@click.option(
    "--password-env",
    "password_env",
    required=True,
    metavar="VAR",
    help="The environment variable that holds the password; only its name is saved.",
)
@click.option("--no-tls", is_flag=True, help="Plain-text login: only for a test server on loopback.")
@click.option("--folder", default="INBOX", show_default=True, help="The folder to read.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The first poll reads mail from this day on (default: the last mail_since_days days).",
)
@click.option(
    "--own-address",
    "own_addresses",
    multiple=True,
    metavar="ADDRESS",
    help="Another address of this mailbox, never a contact (repeatable); its user is one already.",
)
@click.option(
    "--label", default=None, help="A label every contact this mailbox creates gets (created if new)."
)
@click.option("--as-leads", "as_leads", is_flag=True,
              help="Capture new correspondents as leads, not customers (a sales inbox).")
@click.pass_context
def mailbox_add_command(
    context: click.Context,
    name: str,
    host: str,
    port: int | None,
    user: str,
    password_env: str,
    no_tls: bool,
    folder: str,
    since: datetime | None,
    own_addresses: tuple[str, ...],
    label: str | None,
    as_leads: bool,
) -> None:
    """Add mailbox NAME after logging in and opening its folder; nothing is saved if that fails."""
    from adapters.imap.access import AccessRefused, access_check
    from adapters.imap.poller import utc_now
    from plugin.ports.mailboxes import MailboxExists
    from plugin.services.capture import BadMailbox

    try:
        _services(context).capture.add_mailbox(
            name=name,
            host=host,
            port=port,
            user=user,
            password_env=password_env,
            tls=not no_tls,
            folder=folder,
            since=since.date() if since else None,
            own_addresses=own_addresses,
            label=label,
            captures_leads=as_leads,
            check=access_check(os.environ),
            now=utc_now(),
        )
    except MailboxExists:
        raise click.ClickException(
            f"There is a mailbox named {name!r} already; `mailbox remove {name}` first."
        ) from None
    except (AccessRefused, BadMailbox) as error:
        raise click.ClickException(f"Mailbox {name} was not saved: {error}") from error
    click.echo(
        f"Mailbox {name} added: {folder} on {host} as {user}. "
        f"`contact-importer mailbox poll {name}` reads it now; the worker polls it every minute."
    )


@mailbox_group.command("list")
@click.pass_context
def mailbox_list_command(context: click.Context) -> None:
    """Mailboxes: name, host, folder, last poll, position (UIDVALIDITY/last UID) and status."""
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "host", "folder", "last poll", "position", "status")
    for mailbox in _services(context).capture.mailboxes():
        table.add_row(
            mailbox.name,
            _host(mailbox),
            mailbox.folder,
            _when(mailbox.last_poll_at),
            _position(mailbox.uidvalidity, mailbox.last_uid),
            _status(mailbox),
        )
    Console(width=160).print(table)


@mailbox_group.command("poll")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per mailbox.")
@click.pass_context
def mailbox_poll_command(context: click.Context, name: str | None, as_json: bool) -> None:
    """Read the new mail of mailbox NAME (default: every mailbox) once, then exit; 1 if a mailbox failed."""
    from adapters.imap.poller import UnknownMailbox, poll_mailbox

    services = _services(context)
    names = [name] if name else [mailbox.name for mailbox in services.capture.mailboxes()]
    if not names:
        click.echo("There are no mailboxes; `contact-importer mailbox add` adds one.", err=True)
        return
    has_failures = False
    for each in names:
        try:
            result = poll_mailbox(services, each, environ=os.environ, progress=_echo_progress)
        except UnknownMailbox as error:
            raise click.BadParameter(str(error), param_hint="NAME") from error
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False) if as_json else render_result(result))
        has_failures = has_failures or result.has_failed
    if has_failures:
        context.exit(1)


@mailbox_group.command("watch")
@click.argument("name", required=False)
@click.pass_context
def mailbox_watch_command(context: click.Context, name: str | None) -> None:
    """Capture contacts from mailbox NAME (default: every mailbox) as mail arrives, until Ctrl+C."""
    from adapters.imap.poller import UnknownMailbox, new_lease_owner, watch_for_contacts

    services = _services(context)
    if name:
        try:
            services.capture.mailbox(name)
        except UnknownMailbox as error:
            raise click.BadParameter(str(error), param_hint="NAME") from error
    names = [name] if name else [mailbox.name for mailbox in services.capture.mailboxes()]
    if not names:
        click.echo("There are no mailboxes; `contact-importer mailbox add` adds one.", err=True)
        return
    owner, stop = new_lease_owner(), threading.Event()
    endings: list[PollResult] = []

    def watch(each: str) -> None:
        endings.append(
            watch_for_contacts(
                services, each, environ=os.environ, stop=stop, owner=owner, on_result=_echo_arrival
            )
        )

    threads = [
        threading.Thread(target=watch, args=(each,), daemon=True, name=f"watch {each}") for each in names
    ]
    for thread in threads:
        thread.start()
    click.echo(f"Watching {', '.join(names)}; Ctrl+C stops.", err=True)
    is_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop_watching) if is_main else None
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.5)
    except KeyboardInterrupt:
        stop.set()
    finally:
        if is_main:
            signal.signal(signal.SIGTERM, previous)
        services.capture.release_leases(owner)  # a watch still in IDLE lets go now; the periodic poll takes over
    for ending in endings:
        if ending.error_code:
            click.echo(render_result(ending), err=True)
    if any(ending.has_failed for ending in endings):
        context.exit(1)


@mailbox_group.command("remove")
@click.argument("name")
@click.pass_context
def mailbox_remove_command(context: click.Context, name: str) -> None:
    """Forget mailbox NAME and its skipped messages; the contacts it created stay."""
    from plugin.services.capture import UnknownMailbox

    try:
        _services(context).capture.remove_mailbox(name)
    except UnknownMailbox as error:
        raise click.BadParameter(str(error), param_hint="NAME") from error
    click.echo(f"Mailbox {name} removed; the contacts it created stay.")


@mailbox_group.command("skips")
@click.argument("name")
@click.option("--email", default=None, help="Only the messages from this address.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="How many, newest first."
)
@click.pass_context
def mailbox_skips_command(context: click.Context, name: str, email: str | None, limit: int) -> None:
    """Messages of mailbox NAME whose author did not become a contact, and why: newest first."""
    from plugin.services.capture import UnknownMailbox

    try:
        skips = _services(context).capture.skips(name, email=email, limit=limit)
    except UnknownMailbox as error:
        raise click.BadParameter(str(error), param_hint="NAME") from error
    if not skips:
        click.echo(f"No skipped messages{f' from {email}' if email else ''} in mailbox {name}.", err=True)
    for skip in skips:
        click.echo(
            f"{_when(skip.seen_at)}\tUID {skip.uid}\t{skip.reason}\t{skip.email or '-'}\t{skip.detail}"
        )


def _stop_watching(_signum: int, _frame: object) -> None:
    """SIGTERM (systemd, docker) stops a watch like Ctrl+C: its leases are let go at once."""
    raise KeyboardInterrupt


def render_result(result: PollResult) -> str:
    """One line a person reads: counts and the position, or what went wrong and when it is tried again."""
    from adapters.imap.access import what_failed

    where = f"{result.mailbox} ({result.folder})"
    if result.is_busy:
        return f"{where}: busy, {result.error} Nothing was done."
    counts = (
        f"{result.fetched:,} fetched, {len(result.created):,} created, {len(result.existing):,} existing, "
        f"{len(result.skipped):,} skipped"
    )
    if not result.error_code:
        return f"{where}: {counts}; position {_position(result.uidvalidity, result.last_uid)}"
    retry = f" Next try at {_when(result.next_attempt_at)}." if result.next_attempt_at else ""
    what = what_failed(result.error_code)
    stored = f" Stored before it failed: {counts}." if result.fetched else ""
    return f"{where}: failed, {what}. {result.error}{stored}{retry}"


def _echo_progress(progress: PollProgress) -> None:
    if progress.remaining:
        click.echo(
            f"{progress.mailbox}: {progress.fetched:,} messages read, {progress.remaining:,} to go", err=True
        )


def _echo_arrival(result: PollResult) -> None:
    if result.fetched:
        click.echo(render_result(result))
        for contact in result.created:
            name = " ".join(part for part in (contact.first_name, contact.last_name) if part)
            click.echo(f"  created {contact.email}{f' ({name})' if name else ''}")


def _host(mailbox: MailboxRecord) -> str:
    port = f":{mailbox.port}" if mailbox.port else ""
    return f"{mailbox.host}{port}{'' if mailbox.tls else ' (no TLS)'}"


def _position(uidvalidity: int | None, last_uid: int | None) -> str:
    return "-" if uidvalidity is None or last_uid is None else f"{uidvalidity}/{last_uid}"


def _when(moment: datetime | date | None) -> str:
    if moment is None:
        return "-"
    if isinstance(moment, datetime):
        return f"{moment:%Y-%m-%d %H:%M %Z}".strip()
    return f"{moment:%Y-%m-%d}"


def _status(mailbox: MailboxRecord) -> str:
    if mailbox.status != "failing":
        return str(mailbox.status)
    retry = f" (next try {_when(mailbox.next_attempt_at)})" if mailbox.next_attempt_at else ""
    return f"failing: {mailbox.error}{retry}"


COMMANDS = (mailbox_group,)
