"""Invitations from an agents import, mailed to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from adapters.bootstrap import bootstrap
from adapters.cli import cli
from adapters.db.accounts import AgentError, authenticate
from adapters.db.invitations import accept_invitation, list_pending_invitations
from adapters.passwords import Argon2Hasher
from plugin.services import Services
from plugin.settings import Settings
from tests.conftest import FAST_HASHES
from tests.smtp import Outbox, free_port, running_smtp

AGENTS_CSV = ("email,first_name,last_name,password\n"
              "ann@example.com,Ann,Lee,\n"
              "bo@example.com,Bo,,Zebra-Plaintext-123456\n"
              "cy@example.com,Cy,,\n")
TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")



@pytest.fixture
def smtp() -> Iterator[tuple[Outbox, str]]:
    with running_smtp() as running:
        yield running


@pytest.fixture
def hasher() -> Argon2Hasher:
    return Argon2Hasher(**FAST_HASHES)


@pytest.fixture
def mailing_services(settings: Settings, engine: Engine, smtp: tuple[Outbox, str], hasher: Argon2Hasher) -> Services:
    return bootstrap(settings.replace(smtp_url=smtp[1]), engine=engine, hasher=hasher)


def run(services: Services, csv_text: str, **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file("users", io.BytesIO(csv_text.encode()), file_name="agents.csv", **options)  # type: ignore[arg-type]


def token_in(message: EmailMessage) -> str:
    found = TOKEN.search(message.get_content())
    assert found is not None, message.get_content()
    return found.group(1)


def test_new_agents_without_a_password_get_a_mail_with_a_working_single_use_link(
        mailing_services: Services, smtp: tuple[Outbox, str], engine: Engine, hasher: Argon2Hasher) -> None:
    mailbox, _ = smtp
    report = run(mailing_services, AGENTS_CSV)
    assert report.created == 3
    assert sorted(message["To"].addresses[0].addr_spec for message in mailbox.messages) == [
        "ann@example.com", "cy@example.com"]
    [to_ann] = mailbox.to("ann@example.com")
    assert to_ann["To"].addresses[0].display_name == "Ann Lee"
    assert "Zebra-Plaintext-123456" not in to_ann.as_string()
    token = token_in(to_ann)

    account = accept_invitation(engine, hasher, token, "Chosen-Pass-2026")
    assert account.email == "ann@example.com"
    assert authenticate(engine, hasher, "ann@example.com", "Chosen-Pass-2026") is not None
    with pytest.raises(AgentError, match="used already"):
        accept_invitation(engine, hasher, token, "Another-Pass-2026")
    assert authenticate(engine, hasher, "ann@example.com", "Another-Pass-2026") is None
    [still_pending] = list_pending_invitations(engine)
    assert (still_pending.email, still_pending.sent_at is not None) == ("cy@example.com", True)


def test_reimporting_sends_no_second_mail(mailing_services: Services, smtp: tuple[Outbox, str]) -> None:
    mailbox, _ = smtp
    run(mailing_services, AGENTS_CSV)
    run(mailing_services, AGENTS_CSV)
    assert len(mailbox.messages) == 2


def test_a_dry_run_sends_nothing(mailing_services: Services, smtp: tuple[Outbox, str], engine: Engine) -> None:
    mailbox, _ = smtp
    run(mailing_services, AGENTS_CSV, dry_run=True)
    assert mailbox.messages == []
    assert list_pending_invitations(engine) == []


def test_no_invitations_sends_nothing_and_leaves_them_pending(mailing_services: Services, smtp: tuple[Outbox, str],
                                                              engine: Engine) -> None:
    mailbox, _ = smtp
    report = run(mailing_services, AGENTS_CSV, options={"no_invitations": True})
    assert report.created == 3
    assert mailbox.messages == []
    assert [(pending.email, pending.sent_at) for pending in list_pending_invitations(engine)] == [
        ("ann@example.com", None), ("cy@example.com", None)]


def test_the_command_line_mails_invitations_unless_told_not_to(settings: Settings, engine: Engine,
                                                               smtp: tuple[Outbox, str], tmp_path: Path) -> None:
    mailbox, smtp_url = smtp
    url = settings.resolved_database_url
    quiet, loud = tmp_path / "quiet.csv", tmp_path / "loud.csv"
    quiet.write_text("email,first_name\nann@example.com,Ann\n")
    loud.write_text("email,first_name\nbo@example.com,Bo\n")
    runner = CliRunner(env={"CONTACT_IMPORTER_SMTP_URL": smtp_url})
    result = runner.invoke(cli, ["--database-url", url, "import", "users", str(quiet), "--no-invitations"])
    assert result.exit_code == 0, result.output
    assert mailbox.messages == []
    result = runner.invoke(cli, ["--database-url", url, "import", "agents", str(loud)])
    assert result.exit_code == 0, result.output
    assert [message["To"].addresses[0].addr_spec for message in mailbox.messages] == ["bo@example.com"]
    listed = runner.invoke(cli, ["--database-url", url, "invitations"])
    assert "ann@example.com\tAnn\tnot mailed" in listed.output
    assert "bo@example.com\tBo\tmailed" in listed.output


def test_an_unreachable_smtp_server_leaves_the_import_applied_and_the_invitation_unsent(
        settings: Settings, engine: Engine, hasher: Argon2Hasher) -> None:
    services = bootstrap(settings.replace(smtp_url=f"smtp://127.0.0.1:{free_port()}"), engine=engine, hasher=hasher)
    report = run(services, "email,first_name\nann@example.com,Ann\n")
    assert report.created == 1
    [pending] = list_pending_invitations(engine)
    assert pending.sent_at is None
