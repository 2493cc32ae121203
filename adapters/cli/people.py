"""verify, users and invitations: the helpdesk's agents and their accounts."""

from __future__ import annotations

import sys

import click

from adapters.cli.context import services_of
from plugin.services.people import PeopleError


def _read_password(password_stdin: bool, *, confirm: bool = False) -> str:
    """A password from one line of stdin, or from a hidden prompt; never from the command line."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@click.command("verify")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def verify_command(context: click.Context, email: str, password_stdin: bool) -> None:
    """Check that EMAIL could sign in with a password (prompted, or from stdin): exit 0 if so, 1 if not."""
    services = services_of(context)
    account = services.people.check_password(email, _read_password(password_stdin))
    if account is None:
        click.echo("Sign-in failed: the email or the password is wrong, or the agent is inactive.", err=True)
        context.exit(1)
    click.echo(f"Signed in: {account.email} ({account.role})")


@click.group("users")
def users_group() -> None:
    """Agents: the helpdesk's own users."""


@users_group.command("create-admin")
@click.argument("email")
@click.option("--first-name", default="Admin", show_default=True, help="The admin's first name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def users_create_admin_command(context: click.Context, email: str, first_name: str, password_stdin: bool) -> None:
    """Create an active admin agent with a password (prompted twice, or from stdin) and print its id."""
    services = services_of(context)
    password = _read_password(password_stdin, confirm=True)
    try:
        agent_id = services.people.create_admin(email, password, first_name=first_name)
    except PeopleError as error:
        raise click.ClickException(error.message) from error
    click.echo(agent_id)


@click.group("invitations", invoke_without_command=True)
@click.option("--issue-links", is_flag=True,
              help="Print a fresh set-password link for each pending invitation; earlier links stop working.")
@click.pass_context
def invitations_command(context: click.Context, issue_links: bool) -> None:
    """Pending invitations: new agents, and customers invited by an import, without a password yet (mailed when
    smtp_url is set)."""
    if context.invoked_subcommand is not None:
        return
    services = services_of(context)
    if issue_links:
        for issued, link in services.people.issue_invitation_links():
            click.echo(f"{issued.email}\t{issued.expires_at:%Y-%m-%d %H:%M %Z}\t{link}")
        return
    for pending in services.people.pending_invitations():
        state = "mailed" if pending.sent_at else "not mailed"
        click.echo(f"{pending.invitation_id}\t{pending.email}\t{pending.name}\t{state}\t"
                   f"expires {pending.expires_at:%Y-%m-%d %H:%M}")


@invitations_command.command("resend")
@click.argument("email")
@click.pass_context
def invitations_resend_command(context: click.Context, email: str) -> None:
    """Send EMAIL a new set-password link (mailed when smtp_url is set, else printed); earlier links stop working."""
    services = services_of(context)
    try:
        resent = services.people.resend_invitation(email)
    except PeopleError as error:
        raise click.ClickException(error.message) from error
    except OSError as error:  # the SMTP server refused or is unreachable
        raise click.ClickException(f"The invitation could not be mailed ({type(error).__name__}); "
                                   "check smtp_url and try again.") from error
    if resent.is_mailed:
        click.echo(f"Mailed a new link to {resent.issued.email}; it works until "
                   f"{resent.issued.expires_at:%Y-%m-%d %H:%M} UTC.")
    else:
        click.echo(resent.link)


COMMANDS = (verify_command, users_group, invitations_command)
