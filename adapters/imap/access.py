"""Can the importer read a mailbox as it would be saved? Log in and open its folder, with the password from the
environment variable it names: `mailbox add` and the mailbox pages pass this check to services.capture, which
saves nothing when it fails."""

from __future__ import annotations

from collections.abc import Mapping

from adapters.imap.connection import MailboxAccount, MailboxError, open_mailbox
from plugin.ports.mailboxes import NewMailbox
from plugin.services.capture import AccessCheck

WHAT_FAILED = {  # MailboxErrorCode → what an admin is told first
    "login": "wrong user name or password",
    "folder": "no such folder",
    "tls": "TLS refused",
    "unreachable": "host unreachable",
    "connection_lost": "the connection was lost",
    "protocol": "the server refused a command the importer needs",
}


class AccessRefused(Exception):
    """The mailbox could not be opened; the message says what failed, for a person."""


def what_failed(code: str) -> str:
    return WHAT_FAILED.get(code, code.replace("_", " "))


def access_check(environ: Mapping[str, str]) -> AccessCheck:
    """The check that logs in and opens the folder, reading passwords from `environ`; raises AccessRefused."""

    def check(mailbox: NewMailbox) -> None:
        password = environ.get(mailbox.password_env)
        if password is None:
            raise AccessRefused(f"the environment variable {mailbox.password_env} is not set. Set it, for the "
                                f"importer's processes, to the password of {mailbox.user}; only its name is saved.")
        account = MailboxAccount(mailbox.host, mailbox.user, password, port=mailbox.port, folder=mailbox.folder,
                                 tls=mailbox.tls)
        try:
            with open_mailbox(account):
                pass
        except MailboxError as error:
            raise AccessRefused(f"{what_failed(str(error.code))}. {error.message}") from error

    return check
