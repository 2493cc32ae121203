"""Hostile From names through a real Dovecot into a real database (SQLite and PostgreSQL): they are cleaned or
skipped as a CSV row's would be, the rest of the batch is captured, the position moves past them, and what was
captured exports and imports back."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from adapters.cli import cli
from adapters.db.models import contacts
from adapters.imap.poller import poll_mailbox
from plugin.report import Status
from plugin.services import Services
from tests.adapters.imap.conftest import ImapServer
from tests.adapters.imap.test_poll import PASSWORD_ENV, environ, message

pytestmark = pytest.mark.imap

HUGE = b"J" * 500_000
HOSTILE = [  # (From, expected: the stored first name, or the skip's code)
    (b"Ann Early <ann@example.org>", "Ann"),
    (b"=?UTF-8?Q?Evil=00Name?= <evil@example.org>", "EvilName"),
    (b'"' + b"L" * 201 + b'" <long@example.org>', "name.too_long"),
    (b'"' + HUGE + b'" <huge@example.org>', "name.too_long"),
    (b"Zed Late <zed@example.org>", "Zed"),
]


def add(services: Services, server: ImapServer, folder: str) -> None:
    services.capture.add_mailbox(name="support", host=server.host, port=server.port, user=server.user,
                                 password_env=PASSWORD_ENV, tls=False, folder=folder, label="From-mail",
                                 now=datetime.now(UTC))


def first_names(services: Services) -> dict[str, str | None]:
    with services.store.engine.connect() as connection:  # type: ignore[attr-defined]
        return dict(connection.execute(select(contacts.c.email, contacts.c.first_name)).all())


def test_hostile_from_names_are_cleaned_or_skipped_and_the_poll_goes_on_past_them(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, *(message(sender, number=n) for n, (sender, _) in enumerate(HOSTILE)))
    add(services, imap_server, folder)

    result = poll_mailbox(services, "support", environ=environ(imap_server))

    assert (result.error_code, result.fetched, result.last_uid) == ("", len(HOSTILE), len(HOSTILE))
    assert first_names(services) == {"ann@example.org": "Ann", "evil@example.org": "EvilName", "zed@example.org": "Zed"}
    assert [(c.uid, c.first_name) for c in result.created] == [(1, "Ann"), (2, "EvilName"), (5, "Zed")]
    assert [(s.uid, s.reason, s.detail.split(": ")[1]) for s in result.skipped] == [
        (3, "invalid_value", "name.too_long"), (4, "invalid_value", "name.too_long")]  # fmt: skip
    skips = {skip.uid: skip for skip in services.capture.skips("support")}
    assert (skips[4].email, skips[4].reason) == ("huge@example.org", "invalid_value")
    job = services.history.get_job(result.job_id)  # type: ignore[arg-type]
    assert job is not None and (job.status, job.created, job.failed) == ("partial", 3, 2)
    assert services.capture.mailbox("support").status == "ok"

    again = poll_mailbox(services, "support", environ=environ(imap_server))
    assert (again.error_code, again.fetched, again.last_uid) == ("", 0, len(HOSTILE))
    imap_server.append(folder, message(b"Next One <next@example.org>", number=9))
    assert [c.email for c in poll_mailbox(services, "support", environ=environ(imap_server)).created] == [
        "next@example.org"
    ]


def test_what_mail_captured_exports_and_imports_back(
    database_url: str, services: Services, imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, *(message(sender, number=n) for n, (sender, _) in enumerate(HOSTILE)))
    add(services, imap_server, folder)
    assert poll_mailbox(services, "support", environ=environ(imap_server)).error_code == ""

    exported = CliRunner().invoke(cli, ["--database-url", database_url, "export", "customers"], catch_exceptions=False)
    assert exported.exit_code == 0, exported.output
    assert "\x00" not in exported.stdout and "EvilName" in exported.stdout
    report = services.imports.import_file("customers", io.BytesIO(exported.stdout.encode()), file_name="export.csv")
    assert (report.status, report.error_code, report.failed, report.unchanged) == (Status.SUCCEEDED, "", 0, 3)
