"""Polling a real Dovecot mailbox into a real database (SQLite and PostgreSQL): who becomes a contact,
who is skipped and why, positions, leases, failures with backoff, IDLE, and the `mailbox` commands."""

from __future__ import annotations

import io
import json
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, Row, func, select

from adapters.cli import cli
from adapters.db.models import companies, contact_labels, contacts, import_jobs, labels
from adapters.imap.poller import PollProgress, PollResult, poll_all_due, poll_mailbox, watch_for_contacts
from adapters.imap.schedule import poll_schedule, register_mail_tasks
from adapters.jobs import make_huey
from plugin.services import Services
from tests.adapters.imap.conftest import ImapServer

pytestmark = pytest.mark.imap

LOOP = b"X-Contact-Importer-Loop"
PASSWORD_ENV = "TEST_IMAP_PASSWORD"


def message(sender: bytes, extra: bytes = b"", *, number: int = 0) -> bytes:
    return (
        b"From: " + sender + b"\nTo: support@example.com\nSubject: Question " + str(number).encode()
        + b"\nDate: Tue, 3 Mar 2026 10:00:00 +0100\nMessage-ID: <" + str(number).encode() + b"@example.org>\n"
        + extra + b"\nHello, a question about my account.\n"
    )  # fmt: skip


def add(services: Services, server: ImapServer, folder: str = "INBOX", **options: Any) -> int:
    """Save mailbox "support" for the test user's folder, the way `mailbox add --no-tls` does."""
    return services.capture.add_mailbox(
        name="support", host=server.host, port=server.port, user=server.user, password_env=PASSWORD_ENV,
        tls=False, folder=folder, now=datetime.now(UTC), **options,
    )  # fmt: skip


def environ(server: ImapServer) -> dict[str, str]:
    return {PASSWORD_ENV: server.password}


def engine_of(services: Services) -> Engine:
    return services.store.engine  # type: ignore[attr-defined]


def stored(services: Services) -> dict[str, Row]:
    with engine_of(services).connect() as connection:
        return {row.email: row for row in connection.execute(select(contacts))}


def labels_of(services: Services) -> dict[str, set[str]]:
    with engine_of(services).connect() as connection:
        rows = connection.execute(
            select(contacts.c.email, labels.c.name)
            .select_from(contacts)
            .join(contact_labels, contact_labels.c.contact_id == contacts.c.id)
            .join(labels, labels.c.id == contact_labels.c.label_id)
        ).all()
    found: dict[str, set[str]] = {}
    for email, name in rows:
        found.setdefault(email, set()).add(name)
    return found


def mail_jobs(services: Services) -> list:  # type: ignore[type-arg]
    with engine_of(services).connect() as connection:
        return connection.execute(
            select(import_jobs).where(import_jobs.c.kind == "mail").order_by(import_jobs.c.id)
        ).all()


def within(seconds: float, condition: Callable[[], object]) -> float:
    """Seconds until `condition()` is true, failing the test when it is not within `seconds`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - started


# ---- who becomes a contact

RULES = [  # (From, more header fields, expected: "created", "existing" or a skip reason)
    (b"Jane Roe <jane@example.org>", b"", "created"),
    (b"=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>", b"", "created"),
    (b"Web form <noreply@example.com>", b'Reply-To: "Doe, John" <john@example.org>\n', "created"),
    (b"JANE@Example.ORG", b"", "existing"),
    (b"Someone New <old@example.org>", b"", "existing"),
    (b"test@example.com", b"", "own_address"),
    (b"Help <help@example.com>", b"", "own_address"),
    (b"Alex Agent <AGENT@example.com>", b"", "agent"),
    (b"jane@example.org", LOOP + b": 1\n", "loop"),
    (b"jane@example.org", b"Auto-Submitted: auto-replied\n", "auto_reply"),
    (b"jane@example.org", b"Return-Path: <>\n", "bounce"),
    (b"jane@example.org", b"Content-Type: multipart/report; report-type=delivery-status\n", "bounce"),
    (b"MAILER-DAEMON@example.org", b"", "bounce"),
    (b"jane@example.org", b"List-Id: <users.example.org>\n", "list"),
    (b"jane@example.org", b"Precedence: bulk\n", "list"),
    (b"Do Not Reply <do-not-reply@example.com>", b"", "noreply"),
    (b"jane@example.org", b"X-Spam-Flag: YES\n", "spam"),
    (b"undisclosed-recipients:;", b"", "no_sender"),
    (b"jane@localhost", b"", "invalid_address"),
]


def test_each_rule_creates_finds_or_skips_with_its_reason(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    services.imports.import_file("users", io.BytesIO(b"email,first_name\nagent@example.com,Alex\n"))
    services.imports.import_file("customers", io.BytesIO(b"email,first_name,last_name\nold@example.org,Olga,Old\n"))
    imap_server.append(
        folder, *(message(sender, extra, number=n) for n, (sender, extra, _) in enumerate(RULES))
    )
    add(services, imap_server, folder, own_addresses=["help@example.com"], label="From-mail")

    result = poll_mailbox(services, "support", environ=environ(imap_server))

    outcome = {c.uid: "created" for c in result.created} | {e.uid: "existing" for e in result.existing}
    outcome |= {s.uid: s.reason for s in result.skipped}
    assert [outcome[uid] for uid in range(1, len(RULES) + 1)] == [expected for _, _, expected in RULES]
    assert (result.fetched, result.last_uid, result.error_code) == (len(RULES), len(RULES), "")
    assert [(c.email, c.first_name, c.last_name) for c in result.created] == [
        ("jane@example.org", "Jane", "Roe"), ("juergen@example.org", "Jürgen", "Müller"),
        ("john@example.org", "John", "Doe")]  # fmt: skip
    assert [(e.uid, e.email) for e in result.existing] == [(4, "JANE@example.org"), (5, "old@example.org")]
    assert next(s for s in result.skipped if s.reason == "bounce").detail == "Return-Path <>"

    contacts = stored(services)
    assert sorted(contacts) == [
        "jane@example.org",
        "john@example.org",
        "juergen@example.org",
        "old@example.org",
    ]
    assert (contacts["old@example.org"].first_name, contacts["old@example.org"].source) == ("Olga", "import")
    jane = contacts["jane@example.org"]
    assert jane.source == "mail"
    assert json.loads(jane.source_detail) == {
        "mailbox": "support",
        "folder": folder,
        "message_id": "<0@example.org>",
        "date": "2026-03-03T10:00:00+01:00",
    }
    assert labels_of(services) == {
        email: {"From-mail"} for email in ("jane@example.org", "john@example.org", "juergen@example.org")
    }

    (job,) = mail_jobs(services)
    assert (job.status, job.total, job.created, job.unchanged, job.failed) == ("partial", len(RULES), 3, 2, 2)
    assert jane.last_import_id == job.id
    skips = {skip.uid: skip for skip in services.capture.skips("support", limit=100)}
    assert {uid: skip.reason for uid, skip in skips.items()} == {s.uid: s.reason for s in result.skipped}
    assert (skips[8].email, skips[8].detail, skips[8].message_id) == (
        "agent@example.com",
        "From is an agent",
        "<7@example.org>",
    )
    assert [skip.uid for skip in services.capture.skips("support", email="Help@example.com")] == [7]


def test_a_new_contact_joins_the_company_of_their_domain_and_gets_a_username(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    services.imports.import_file("companies", io.BytesIO(b"name,domains\nAcme Ltd,acme.com\n"))
    services.imports.import_file("customers", io.BytesIO(b"email,first_name,username\nsomeone@example.org,Some,jane\n"))
    imap_server.append(folder, message(b"Jane Roe <Jane@ACME.com>", number=1),
                       message(b"Jane Doe <jane@gmail.com>", number=2))
    add(services, imap_server, folder)

    result = poll_mailbox(services, "support", environ=environ(imap_server))

    assert [c.email for c in result.created] == ["Jane@acme.com", "jane@gmail.com"]
    contacts = stored(services)
    acme, free = contacts["Jane@acme.com"], contacts["jane@gmail.com"]
    with engine_of(services).connect() as connection:
        acme_id = connection.execute(select(companies.c.id)
                                     .where(companies.c.name == "Acme Ltd")).scalar_one()
    assert (acme.company_id, free.company_id) == (acme_id, None)  # free mail is nobody's company
    assert (acme.username, free.username) == ("jane2", "jane3")  # "jane" was taken by the import


def test_a_second_poll_finds_nothing_new_and_seen_flags_stay_as_they_were(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, message(b"ann@example.org", number=1), flags=(b"\\Seen",))
    imap_server.append(folder, message(b"bob@example.org", number=2), message(b"cy@example.org", number=3))
    before = imap_server.flags(folder)
    add(services, imap_server, folder)
    first = poll_mailbox(services, "support", environ=environ(imap_server))
    second = poll_mailbox(services, "support", environ=environ(imap_server))
    assert [c.uid for c in first.created] == [1, 2, 3]
    assert (second.fetched, second.created, second.last_uid, second.job_id) == (0, (), 3, None)
    assert len(mail_jobs(services)) == 1  # a poll that found nothing leaves no history
    assert imap_server.flags(folder) == before
    assert b"\\Seen" in before[1] and b"\\Seen" not in before[2] + before[3]
    imap_server.append(folder, message(b"dee@example.org", number=4))
    assert [c.email for c in poll_mailbox(services, "support", environ=environ(imap_server)).created] == [
        "dee@example.org"
    ]


def test_a_new_uidvalidity_restarts_from_since_without_duplicates(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    """The folder is deleted and made again, which gives it a new UIDVALIDITY (its creation second). Not by
    restarting a Dovecot with an emptied store: a restart on the port the mailbox names spawns every Dovecot
    process again, which on a loaded machine outlasted imap-server's wait for the greeting, and leaves the
    port free meanwhile for any other process to take."""
    imap_server.append(folder, message(b"ann@example.org", number=1), message(b"bob@example.org", number=2))
    add(services, imap_server, folder)
    before = poll_mailbox(services, "support", environ=environ(imap_server))
    assert before.uidvalidity is not None
    time.sleep(max(0.0, before.uidvalidity + 1.1 - time.time()))  # UIDVALIDITY is the creation second
    imap_server.recreate(folder)
    imap_server.append(
        folder,
        message(b"ann@example.org", number=1),
        message(b"bob@example.org", number=2),
        message(b"cy@example.org", number=3),
    )
    old = datetime.now() - timedelta(days=400)
    imap_server.append(folder, message(b"older@example.org", number=4), when=old)
    after = poll_mailbox(services, "support", environ=environ(imap_server))
    assert after.uidvalidity != before.uidvalidity
    assert [(e.uid, e.email) for e in after.existing] == [(1, "ann@example.org"), (2, "bob@example.org")]
    assert [(c.uid, c.email) for c in after.created] == [(3, "cy@example.org")]
    assert after.last_uid == 4  # older than since: stepped over, never read
    assert sorted(stored(services)) == ["ann@example.org", "bob@example.org", "cy@example.org"]


def test_a_server_stopped_mid_poll_loses_nothing_and_keeps_the_stored_position(
    services: Services, own_imap_server: ImapServer
) -> None:
    own_imap_server.append("INBOX", *(message(f"c{n}@example.org".encode(), number=n) for n in range(25)))
    add(services, own_imap_server)
    seen: list[PollProgress] = []

    def stop_after_the_first_batch(progress: PollProgress) -> None:
        seen.append(progress)
        own_imap_server.stop()

    cut = poll_mailbox(
        services,
        "support",
        environ=environ(own_imap_server),
        batch_size=10,
        progress=stop_after_the_first_batch,
        rng=random.Random(1),
    )
    assert (cut.error_code, cut.fetched, len(cut.created), cut.last_uid) == ("connection_lost", 10, 10, 10)
    assert [(p.fetched, p.remaining) for p in seen] == [(10, 15)]
    mailbox = services.capture.mailbox("support")
    assert mailbox is not None
    assert (mailbox.last_uid, mailbox.status, mailbox.failures, mailbox.lease_until) == (
        10,
        "failing",
        1,
        None,
    )
    assert len(stored(services)) == 10
    (job,) = mail_jobs(services)
    assert (job.status, job.created, job.error_code) == ("failed", 10, "mail.connection_lost")

    own_imap_server.start()
    rest = poll_mailbox(services, "support", environ=environ(own_imap_server), batch_size=10)
    assert ([c.uid for c in rest.created], rest.existing, rest.error_code) == (list(range(11, 26)), (), "")
    assert sorted(stored(services)) == sorted(f"c{n}@example.org" for n in range(25))
    assert services.capture.mailbox("support").status == "ok"  # type: ignore[union-attr]


# ---- leases, failures, the periodic poll


def test_two_polls_at_once_one_gets_the_lease_and_a_dead_workers_lease_expires(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, *(message(f"c{n}@example.org".encode(), number=n) for n in range(5)))
    add(services, imap_server, folder)
    holding, go_on = threading.Event(), threading.Event()
    results: list[PollResult] = []

    def hold(_: PollProgress) -> None:
        holding.set()
        go_on.wait(10)

    first = threading.Thread(
        target=lambda: results.append(
            poll_mailbox(services, "support", environ=environ(imap_server), progress=hold)
        )
    )
    first.start()
    assert holding.wait(10)
    second = poll_mailbox(services, "support", environ=environ(imap_server))
    go_on.set()
    first.join(10)
    assert second.is_busy and not second.has_failed and second.fetched == 0
    assert (len(results[0].created), results[0].error_code) == (5, "")
    with engine_of(services).connect() as connection:
        assert connection.execute(select(func.count()).select_from(contacts)).scalar() == 5

    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    assert services.capture.take_lease(
        services.capture.mailbox("support"), "dead worker", seconds=300, now=ten_minutes_ago
    )
    imap_server.append(folder, message(b"late@example.org", number=6))
    after_the_dead = poll_mailbox(services, "support", environ=environ(imap_server))
    assert [c.email for c in after_the_dead.created] == ["late@example.org"]


def test_a_wrong_password_marks_its_mailbox_with_backoff_while_another_still_polls(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, message(b"ann@example.org", number=1))
    add(services, imap_server, folder)
    services.capture.add_mailbox(
        name="broken",
        host=imap_server.host,
        port=imap_server.port,
        user=imap_server.user,
        password_env="BROKEN_PASSWORD",
        tls=False,
        folder=folder,
        now=datetime.now(UTC),
    )
    passwords = environ(imap_server) | {"BROKEN_PASSWORD": "wrong"}
    start = datetime.now(UTC)

    results = {
        r.mailbox: r
        for r in poll_all_due(services, environ=passwords, now=lambda: start, rng=random.Random(5))
    }
    assert (results["broken"].error_code, results["broken"].fetched) == ("login", 0)
    assert [c.email for c in results["support"].created] == ["ann@example.org"]
    broken = services.capture.mailbox("broken")
    assert broken is not None and broken.next_attempt_at is not None
    assert (broken.status, broken.error_code, broken.failures) == ("failing", "login", 1)
    assert "refused the login" in broken.error and "wrong" not in broken.error
    assert start + timedelta(seconds=30) <= broken.next_attempt_at <= start + timedelta(seconds=60)
    assert [(job.status, job.error_code) for job in mail_jobs(services)] == [
        ("failed", "mail.login"), ("succeeded", "")]  # fmt: skip

    soon = start + timedelta(seconds=20)
    assert [r.mailbox for r in poll_all_due(services, environ=passwords, now=lambda: soon)] == ["support"]
    later = start + timedelta(minutes=2)
    again = {
        r.mailbox: r
        for r in poll_all_due(services, environ=passwords, now=lambda: later, rng=random.Random(5))
    }
    assert again["broken"].has_failed and not again["support"].has_failed
    broken = services.capture.mailbox("broken")
    assert broken is not None and broken.next_attempt_at is not None and broken.failures == 2
    assert later + timedelta(seconds=60) <= broken.next_attempt_at <= later + timedelta(seconds=120)


def test_a_missing_password_variable_is_a_failure_of_that_mailbox(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    add(services, imap_server, folder)
    result = poll_mailbox(services, "support", environ={}, rng=random.Random(2))
    assert (result.error_code, result.has_failed) == ("password_missing", True)
    assert PASSWORD_ENV in result.error


def test_the_periodic_huey_task_polls_the_due_mailboxes(
    services: Services, imap_server: ImapServer, folder: str, tmp_path: Path
) -> None:
    imap_server.append(folder, message(b"Hugo Huey <hugo@example.org>", number=1))
    add(services, imap_server, folder)
    huey = make_huey(services.settings.replace(queue_path=str(tmp_path / "queue.db")), immediate=True)
    poll_due = register_mail_tasks(huey, services, environ=environ(imap_server))
    assert [task.name for task in huey.read_periodic(datetime(2026, 1, 1, 10, 7))] == [poll_due.name]
    poll_due()
    assert stored(services)["hugo@example.org"].first_name == "Hugo"
    every_five = poll_schedule(300)
    assert [every_five(datetime(2026, 1, 1, 10, minute)) for minute in (5, 7, 10)] == [True, False, True]


# ---- IDLE


def test_watch_creates_a_contact_within_seconds_of_the_mail_arriving(
    services: Services, imap_server: ImapServer, folder: str
) -> None:
    add(services, imap_server, folder, label="Watched")
    stop = threading.Event()
    passes: list[PollResult] = []
    endings: list[PollResult] = []
    watcher = threading.Thread(
        target=lambda: endings.append(
            watch_for_contacts(
                services, "support", environ=environ(imap_server), stop=stop, on_result=passes.append
            )
        ),
        daemon=True,
    )
    watcher.start()
    within(10, lambda: passes)  # the empty folder's first pass: the watch is in IDLE now
    assert poll_mailbox(services, "support", environ=environ(imap_server)).is_busy

    imap_server.append(folder, message(b"Iris Idle <iris@example.org>", number=1))
    # IDLE, not the schedule (mail_poll_seconds is 60): the contact comes long before a poll would. No tighter
    # bound: a timed assertion fails on a loaded machine without telling anything about the product.
    # The pass is reported after its transaction commits, so wait for the report, not for the stored row.
    within(10, lambda: any(c.email == "iris@example.org" for p in passes for c in p.created))
    assert labels_of(services) == {"iris@example.org": {"Watched"}}
    assert [c.email for p in passes for c in p.created] == ["iris@example.org"]

    stop.set()
    imap_server.append(folder, message(b"last@example.org", number=2))  # wakes the IDLE to see `stop`
    watcher.join(10)
    assert not watcher.is_alive() and endings[0].error_code == ""
    mailbox = services.capture.mailbox("support")
    assert mailbox is not None and (mailbox.lease_until, mailbox.status) == (None, "ok")
    assert [job.created for job in mail_jobs(services)] == [1, 1]


# ---- the commands


def run(database_url: str, *args: str, password: str | None = None):  # type: ignore[no-untyped-def]
    env = {PASSWORD_ENV: password} if password is not None else {}
    return CliRunner().invoke(
        cli, ["--database-url", database_url, "mailbox", *args], env=env, catch_exceptions=False
    )


def add_args(server: ImapServer, folder: str) -> list[str]:
    return [
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--user",
        server.user,
        "--password-env",
        PASSWORD_ENV,
        "--no-tls",
        "--folder",
        folder,
    ]


def test_mailbox_add_says_what_failed_and_saves_nothing(
    database_url: str, services: Services, imap_server: ImapServer, folder: str
) -> None:
    wrong = run(
        database_url, "add", "support", *add_args(imap_server, folder), "--label", "Mail", password="nope"
    )
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith("Error: Mailbox support was not saved: wrong user name or password.")
    assert "nope" not in wrong.output
    missing = run(
        database_url, "add", "support", *add_args(imap_server, "Nowhere"), password=imap_server.password
    )
    assert (missing.exit_code, "was not saved: no such folder." in missing.stderr) == (1, True)
    tls = run(
        database_url, "add", "support", *add_args(imap_server, folder)[:-3], password=imap_server.password
    )
    assert "was not saved: TLS refused." in tls.stderr
    unset = run(database_url, "add", "support", *add_args(imap_server, folder))
    assert f"the environment variable {PASSWORD_ENV} is not set" in unset.stderr
    assert services.capture.mailboxes() == []
    with engine_of(services).connect() as connection:
        assert connection.execute(select(labels.c.name)).all() == []


def test_mailbox_poll_json_prints_the_issue_shape_and_the_other_commands_show_it(
    database_url: str, services: Services, imap_server: ImapServer, folder: str
) -> None:
    added = run(
        database_url,
        "add",
        "support",
        *add_args(imap_server, folder),
        "--label",
        "From-mail",
        "--own-address",
        "help@example.com",
        password=imap_server.password,
    )
    assert added.exit_code == 0, added.output
    imap_server.append(
        folder,
        message(b"John Doe <bbb@example.com>", number=1),
        message(b"help@example.com", b"Reply-To: bbb@example.com\n", number=2),
        message(b"bbb@example.com", b"Content-Type: multipart/report; report-type=x\n", number=3),
    )

    polled = run(database_url, "poll", "support", "--json", password=imap_server.password)
    assert polled.exit_code == 0, polled.output
    (line,) = polled.stdout.splitlines()
    uidvalidity = services.capture.mailbox("support").uidvalidity  # type: ignore[union-attr]
    assert json.loads(line) == {
        "mailbox": "support", "folder": folder, "uidvalidity": uidvalidity, "last_uid": 3, "fetched": 3,
        "created": [{"uid": 1, "email": "bbb@example.com", "first_name": "John", "last_name": "Doe"}],
        "existing": [{"uid": 2, "email": "bbb@example.com"}],
        "skipped": [{"uid": 3, "reason": "bounce", "detail": "Content-Type multipart/report"}],
    }  # fmt: skip
    assert labels_of(services) == {"bbb@example.com": {"From-mail"}}

    listed = run(database_url, "list")
    assert "support" in listed.stdout and f"{uidvalidity}/3" in listed.stdout and "ok" in listed.stdout
    skips = run(database_url, "skips", "support")
    assert skips.stdout.split("\t")[1:4] == ["UID 3", "bounce", "bbb@example.com"]
    again = run(database_url, "poll", password=imap_server.password)
    assert again.stdout.startswith(f"support ({folder}): 0 fetched, 0 created")
    assert run(database_url, "remove", "support").exit_code == 0
    assert "There is no mailbox 'support'" in run(database_url, "poll", "support").stderr
    assert "bbb@example.com" in stored(services)
