"""SmtpInvitationSender against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import hashlib
import shutil
import smtplib
import ssl
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from adapters.invitations import SmtpInvitationSender, SmtpServer, new_invitation_token
from tests.smtp import free_port

EXPIRES_AT = datetime(2031, 3, 4, 17, 30, tzinfo=timezone.utc)
LINK = "https://help.example/agents/set-password?token=abc123"


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class CollectingHandler:
    """An aiosmtpd handler that keeps every message it is given."""

    delivered: list[Delivered] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"



@pytest.fixture
def smtp_server():
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def starttls_server(certificate):
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = CollectingHandler()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"p@ss:word")

    controller = Controller(
        handler, hostname="127.0.0.1", port=free_port(), tls_context=server_context,
        require_starttls=True, authenticator=authenticator,
    )
    controller.start()
    try:
        yield handler, controller.port, logins, ssl.create_default_context(cafile=cert)
    finally:
        controller.stop()


def test_an_invitation_reaches_the_agent_with_the_link_and_expiry(smtp_server):
    handler, port = smtp_server
    sender = SmtpInvitationSender(f"smtp://127.0.0.1:{port}", sender="support@help.example")

    sender.send("ada@example.com", "Ada Lovelace", LINK, EXPIRES_AT)

    [delivered] = handler.delivered
    assert delivered.rcpt_tos == ["ada@example.com"]
    assert delivered.mail_from == "support@help.example"
    message = delivered.message
    assert message["Subject"] == "You're invited to the helpdesk"
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    assert message["To"].addresses[0].display_name == "Ada Lovelace"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert LINK in body
    assert "2031-03-04 17:30 UTC" in body
    assert "Ada Lovelace" in body


def test_every_invitation_carries_the_loop_header(smtp_server):
    handler, port = smtp_server
    SmtpInvitationSender(f"smtp://127.0.0.1:{port}").send("bo@example.com", "Bo", LINK, EXPIRES_AT)
    assert handler.delivered[0].message["X-Contact-Importer-Loop"] == "1"


def test_the_expiry_is_shown_in_utc(smtp_server):
    handler, port = smtp_server
    in_berlin = EXPIRES_AT.astimezone(timezone(timedelta(hours=1)))
    SmtpInvitationSender(f"smtp://127.0.0.1:{port}").send("bo@example.com", "Bo", LINK, in_berlin)
    assert "2031-03-04 17:30 UTC" in handler.delivered[0].message.get_content()


def test_a_naive_expiry_is_rejected_before_connecting():
    sender = SmtpInvitationSender("smtp://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ValueError, match="timezone-aware"):
        sender.send("bo@example.com", "Bo", LINK, datetime(2031, 3, 4, 17, 30))


def test_starttls_with_login_delivers_over_tls(starttls_server):
    handler, port, logins, client_context = starttls_server
    sender = SmtpInvitationSender(
        f"smtp+starttls://agent%40help.example:p%40ss%3Aword@127.0.0.1:{port}", ssl_context=client_context
    )

    sender.send("cy@example.com", "Cy", LINK, EXPIRES_AT)

    assert logins == [(b"agent@help.example", b"p@ss:word")]
    assert handler.delivered[0].rcpt_tos == ["cy@example.com"]


def test_starttls_fails_loudly_when_the_server_does_not_offer_it(smtp_server):
    handler, port = smtp_server
    sender = SmtpInvitationSender(f"smtp+starttls://127.0.0.1:{port}")
    with pytest.raises(smtplib.SMTPNotSupportedError):
        sender.send("bo@example.com", "Bo", LINK, EXPIRES_AT)
    assert handler.delivered == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", SmtpServer("mail.example", 2525)),
        ("smtp://mail.example", SmtpServer("mail.example", 25)),
        ("smtp+starttls://mail.example", SmtpServer("mail.example", 587, starttls=True)),
        ("smtp+starttls://u%40x:p%3Aw@mail.example:465", SmtpServer("mail.example", 465, True, "u@x", "p:w")),
    ],
)
def test_smtp_urls_are_read(url, expected):
    assert SmtpServer.from_url(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtps://mail.example", "mail.example:25"])
def test_other_urls_are_rejected(url):
    with pytest.raises(ValueError, match="smtp://host:port"):
        SmtpServer.from_url(url)


def test_an_invitation_token_is_stored_only_as_its_digest():
    token, digest = new_invitation_token()
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in digest
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert new_invitation_token()[0] != token
