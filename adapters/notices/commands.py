"""notices: who gets an e-mail when their import ends, the deliveries admins look at, and sending due ones now."""

from __future__ import annotations

import json

import click

from adapters.cli.context import services_of
from plugin.ports.notices import Delivery

STATUSES = ("pending", "delivered", "failed")


@click.group("notices")
def notices_group() -> None:
    """Notices of finished imports, undos and mail-capture polls: e-mail to people, the webhook."""


@notices_group.command("email")
@click.argument("choice", type=click.Choice(["on", "off", "default"]))
@click.argument("email")
@click.pass_context
def notices_email_command(context: click.Context, choice: str, email: str) -> None:
    """Turn notices by e-mail on or off for the person signing in as EMAIL (default: as notify_by_email says)."""
    wanted = {"on": True, "off": False, "default": None}[choice]
    try:
        gets_mail = services_of(context).notices.set_email(email, wanted)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{email} {'gets' if gets_mail else 'does not get'} an e-mail when their import or undo ends"
               + (" (as notify_by_email says)." if wanted is None else "."))


@notices_group.command("deliveries")
@click.option("--job", "job_id", type=int, default=None, help="Only the notices of this job.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only deliveries in this state.")
@click.option("--limit", type=int, default=50, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, each delivery with its attempts.")
@click.pass_context
def notices_deliveries_command(context: click.Context, job_id: int | None, status: str | None, limit: int,
                               as_json: bool) -> None:
    """List notice deliveries, newest first, with every attempt: status code, error and the next try."""
    found = services_of(context).notices.deliveries(limit=limit, job_id=job_id, status=status)
    if as_json:
        click.echo(json.dumps([delivery.as_dict() for delivery in found]))
        return
    if not found:
        click.echo("No notices were queued yet.")
    for delivery in found:
        click.echo(_line(delivery))
        for attempt in delivery.log:
            answer = str(attempt.status_code) if attempt.status_code is not None else "-"
            then = f", next try {attempt.next_try_at:%Y-%m-%d %H:%M:%S}" if attempt.next_try_at else ""
            click.echo(f"    attempt {attempt.attempt} at {attempt.at:%Y-%m-%d %H:%M:%S}: {answer} "
                       f"{attempt.error or 'delivered'}{then}")


def _line(delivery: Delivery) -> str:
    return (f"{delivery.id}\tjob {delivery.job_id}\t{delivery.channel}\t{delivery.target}\t{delivery.status}\t"
            f"{delivery.attempts} attempts")


@notices_group.command("send")
@click.pass_context
def notices_send_command(context: click.Context) -> None:
    """Send the notices whose time has come now (what the worker does every minute)."""
    sent = services_of(context).notices.send_due()
    delivered = sum(attempt.is_delivered for attempt in sent)
    click.echo(f"{delivered} delivered, {len(sent) - delivered} failed (tried again later or given up).")
    for attempt in sent:
        if not attempt.is_delivered:
            click.echo(f"  {attempt.delivery_id} ({attempt.channel}): {attempt.error}", err=True)


COMMANDS = (notices_group,)
