"""Opening a mailbox: connect (TLS with certificate checks unless told otherwise), log in, select read-only.

Every failure comes out as one exception, MailboxError, whose code says what failed (so `mailbox add`
can tell an admin) and whether trying again later can help (so `watch` and the periodic poll back off).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

logger = logging.getLogger(__name__)

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, imaplib.IMAP4.abort)
"""What a dropped, refused or hung connection raises inside imapclient (socket.timeout is an OSError)."""


class MailboxErrorCode(StrEnum):
    UNREACHABLE = "unreachable"  # refused, unknown host, timed out while connecting
    TLS = "tls"  # handshake failed or the certificate did not check out
    LOGIN = "login"  # the server refused the user name or password
    FOLDER = "folder"  # no such folder, or it cannot be selected
    CONNECTION_LOST = "connection_lost"  # dropped, reset or silent after it was open
    PROTOCOL = "protocol"  # the server refused a command we rely on (IDLE, FETCH, SEARCH)


_TRANSIENT = frozenset({MailboxErrorCode.UNREACHABLE, MailboxErrorCode.CONNECTION_LOST})


class MailboxError(Exception):
    """The mailbox cannot be opened or read; `message` says why in a sentence an admin can act on."""

    def __init__(self, code: MailboxErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def is_transient(self) -> bool:
        """Whether the same call may work later unchanged (host down, connection dropped)."""
        return self.code in _TRANSIENT


@dataclass(frozen=True, slots=True)
class MailboxAccount:
    """Where a mailbox is and how to log in. The password is never shown in a repr or a log line."""

    host: str
    user: str
    password: str = field(repr=False)
    port: int | None = None  # None: 993 with TLS, 143 without
    folder: str = "INBOX"
    tls: bool = True  # False sends the password in clear text: loopback test servers only
    timeout_seconds: float = 30.0  # connect and each command; a server silent for longer is dead
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OpenMailbox:
    """A logged-in connection with `account.folder` selected read-only."""

    client: IMAPClient
    account: MailboxAccount
    uidvalidity: int
    uidnext: int | None  # None when the server does not say


@contextmanager
def connection_errors(account: MailboxAccount) -> Iterator[None]:
    """Turn a dropped or hung connection inside the block into MailboxError(CONNECTION_LOST)."""
    try:
        yield
    except CONNECTION_ERRORS as error:
        raise MailboxError(
            MailboxErrorCode.CONNECTION_LOST, f"The connection to {account.host} was lost: {error}"
        ) from error


@contextmanager
def open_mailbox(account: MailboxAccount) -> Iterator[OpenMailbox]:
    """Connect, log in and select the folder read-only; log out when the block ends.

    Raises MailboxError with code UNREACHABLE, TLS, LOGIN or FOLDER.
    """
    client = _connect(account)
    try:
        try:
            client.login(account.user, account.password)
        except LoginError as error:
            raise MailboxError(
                MailboxErrorCode.LOGIN, f"{account.host} refused the login for {account.user}."
            ) from error
        except CONNECTION_ERRORS as error:
            raise MailboxError(
                MailboxErrorCode.CONNECTION_LOST, f"The connection to {account.host} was lost: {error}"
            ) from error
        selected = _select(client, account)
        logger.debug("Opened %s on %s read-only", account.folder, account.host)
        yield OpenMailbox(
            client, account, int(selected[b"UIDVALIDITY"]), _optional_int(selected.get(b"UIDNEXT"))
        )
    finally:
        _close(client)


def _connect(account: MailboxAccount) -> IMAPClient:
    port = account.port or (993 if account.tls else 143)
    context = (account.ssl_context or ssl.create_default_context()) if account.tls else None
    try:
        return IMAPClient(
            account.host, port=port, ssl=account.tls, ssl_context=context, timeout=account.timeout_seconds
        )
    except ssl.SSLError as error:  # before OSError: SSLError is one
        raise MailboxError(
            MailboxErrorCode.TLS, f"TLS with {account.host}:{port} failed: {error.reason or error}"
        ) from error
    except CONNECTION_ERRORS as error:
        raise MailboxError(
            MailboxErrorCode.UNREACHABLE, f"Cannot connect to {account.host}:{port}: {error}"
        ) from error


def _select(client: IMAPClient, account: MailboxAccount) -> dict[bytes, object]:
    try:
        selected = client.select_folder(account.folder, readonly=True)
    except CONNECTION_ERRORS as error:
        raise MailboxError(
            MailboxErrorCode.CONNECTION_LOST, f"The connection to {account.host} was lost: {error}"
        ) from error
    except imaplib.IMAP4.error as error:
        raise MailboxError(
            MailboxErrorCode.FOLDER, f"Cannot open folder {account.folder!r} on {account.host}: {error}"
        ) from error
    if b"UIDVALIDITY" not in selected:
        raise MailboxError(
            MailboxErrorCode.PROTOCOL, f"{account.host} gave no UIDVALIDITY for {account.folder!r}."
        )
    return selected


def _close(client: IMAPClient) -> None:
    """Log out, or just close the socket when the connection is already gone."""
    try:
        client.logout()
    except (*CONNECTION_ERRORS, imaplib.IMAP4.error):
        try:
            client.shutdown()
        except CONNECTION_ERRORS as error:
            logger.debug("Closing the connection failed: %s", error)


def _optional_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
