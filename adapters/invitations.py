"""Set-password invitations: a single-use token for the link, and the mail that carries it over SMTP; the SMTP
sender itself (SmtpSender), which job notices use too."""

from __future__ import annotations

import hashlib
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from urllib.parse import unquote, urlsplit

SUBJECT = "You're invited to the helpdesk"
# What the invitation gives, by who it is for (plugin.ports.people.AGENT, CUSTOMER)
ACCOUNT_GIVEN = {
    "agent": "You have been given an agent account on the helpdesk.\nChoose your password here to sign in:",
    "customer": "You have been given an account on the helpdesk's customer portal.\n"
                "Choose your password here, then sign in to the portal with this address:",
}
DEFAULT_SENDER = "helpdesk@localhost"
DEFAULT_LOOP_HEADER = "X-Contact-Importer-Loop"  # Settings.loop_header; our own mail capture skips it
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587}


def new_invitation_token() -> tuple[str, str]:
    """A fresh token for the link, and the digest of it to store instead of the token."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """What is stored for a link's token, and how a link's token is found: its sha256 hex digest."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to hand over mail, read from smtp://host:port or smtp+starttls://user:pass@host:port."""

    host: str
    port: int
    starttls: bool = False
    username: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                "SMTP URL must look like smtp://host:port or smtp+starttls://user:pass@host:port"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            starttls=parts.scheme == "smtp+starttls",
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )


class SmtpSender:
    """Hands mail to one SMTP server, a connection per message; every message it sends carries our loop header,
    so our own mail capture skips it. Invitations and job notices both go out through it."""

    def __init__(
        self,
        url: str,
        *,
        sender: str = DEFAULT_SENDER,
        loop_header: str = DEFAULT_LOOP_HEADER,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = SmtpServer.from_url(url)
        self.sender = sender
        self.loop_header = loop_header
        self.timeout = timeout
        self._ssl_context = ssl_context

    def send_message(self, message: EmailMessage) -> None:
        """Send a message, stamped first (From, Date, Message-ID, the loop header) where it lacks them."""
        stamp(message, sender=self.sender, loop_header=self.loop_header)
        with smtplib.SMTP(self.server.host, self.server.port, timeout=self.timeout) as smtp:
            if self.server.starttls:
                smtp.starttls(context=self._ssl_context or ssl.create_default_context())
            if self.server.username:
                smtp.login(self.server.username, self.server.password)
            smtp.send_message(message)


def stamp(message: EmailMessage, *, sender: str, loop_header: str) -> EmailMessage:
    """Give a message what all our mail has: From, Date, Message-ID and the loop header (kept where set)."""
    if "From" not in message:
        message["From"] = sender
    if "Date" not in message:
        message["Date"] = formatdate(localtime=False)
    if "Message-ID" not in message:
        message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    if loop_header not in message:
        message[loop_header] = "1"
    return message


class SmtpInvitationSender(SmtpSender):
    """Mails set-password invitations through one SMTP server; a connection per invitation."""

    def send(self, to_email: str, name: str, link: str, expires_at: datetime, *, invitee: str = "agent") -> None:
        """Mail name at to_email the set-password link, valid until expires_at (an aware datetime)."""
        self.send_message(compose_invitation(
            to_email, name, link, expires_at, sender=self.sender, loop_header=self.loop_header, invitee=invitee
        ))


def compose_invitation(
    to_email: str, name: str, link: str, expires_at: datetime, *, sender: str, loop_header: str,
    invitee: str = "agent",
) -> EmailMessage:
    """The invitation as a plain-text message, marked with our loop header."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expiry = expires_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message["To"] = formataddr((name, to_email))
    stamp(message, sender=sender, loop_header=loop_header)
    greeting = f"Hello {name}," if name else "Hello,"
    message.set_content(
        f"{greeting}\n\n"
        f"{ACCOUNT_GIVEN[invitee]}\n\n"
        f"{link}\n\n"
        f"The link works once and expires on {expiry}.\n"
        "If you did not expect this, ignore this mail.\n"
    )
    return message
