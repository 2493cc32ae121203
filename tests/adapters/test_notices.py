"""Notices of finished jobs: the webhook against a real HTTP listener on loopback, the e-mail against a real SMTP
server (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import Engine

from adapters.bootstrap import bootstrap
from adapters.cli import cli
from adapters.db import web_state
from adapters.imap.poller import PollResult, watch_for_contacts
from adapters.jobs import make_huey, run_queued_import
from adapters.notices.tasks import register_notice_tasks
from plugin.report import Status
from plugin.services import Services
from plugin.services.undo import Actor
from plugin.settings import Settings, SettingsError, load_settings

SECRET = "s3cret-for-tests"
ANN = "ann@help.example"  # the person who starts the imports
CUSTOMERS_CSV = ("email,first_name,last_name,phone\n"
                 "zoe.quill@example.org,Zoe,Quill,+44 7700 900123\n"
                 "yann.brook@example.org,Yann,Brook,\n"
                 "not-an-email,Xavier,Marsh,\n")
ROW_DATA = ("zoe.quill", "yann.brook", "Quill", "Brook", "Xavier", "Marsh", "not-an-email", "7700")


# ---- a real HTTP listener and a real SMTP server on loopback


@dataclass
class Listener:
    """An HTTP server in a thread: answers POSTs with the statuses in `answers`, in turn (the last one repeats)."""

    answers: list[int] = field(default_factory=lambda: [200])
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def bodies(self) -> list[dict]:  # type: ignore[type-arg]
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def listener() -> Iterator[Listener]:
    heard = Listener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            heard.received.append((dict(self.headers.items()), body))
            status = heard.answers[min(len(heard.received), len(heard.answers)) - 1]
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"try later")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    heard.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/importer?team=support"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield heard
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Outbox:
    """An aiosmtpd handler keeping every message it is given."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"].addresses[0].addr_spec == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Outbox, str]]:
    outbox = Outbox()
    controller = Controller(outbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield outbox, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


def notifying(settings: Settings, engine: Engine, **changes: object) -> Services:
    return bootstrap(settings.replace(public_url="https://help.example", notice_attempts=3, notice_retry_seconds=60,
                                      **changes), engine=engine)


def import_customers(services: Services, *, actor: str = ANN, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return services.imports.import_file("customers", io.BytesIO(CUSTOMERS_CSV.encode()), file_name="march.csv",
                                        actor=actor, dry_run=dry_run)


def at(seconds: float) -> Callable[[], datetime]:
    """A clock standing `seconds` from now (notices queued just now are due at once)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return lambda: moment


def verified(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """The README's verification, written out again here: HMAC-SHA256 over timestamp, '.', body."""
    signed = headers["X-Contact-Importer-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Contact-Importer-Signature"])


# ---- the webhook


def test_a_finished_import_posts_its_counts_and_link_signed_with_the_secret(
        settings: Settings, engine: Engine, listener: Listener) -> None:
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    report = import_customers(services)
    assert listener.received == []  # queued, not sent by the import

    sent = services.notices.send_due(now=at(1))

    assert [attempt.is_delivered for attempt in sent] == [True]
    [(headers, body)] = listener.received
    assert json.loads(body) == {
        "event": "job.finished", "job_id": report.job, "kind": "customers", "operation": "import",
        "status": "partial", "counts": {"rows": 3, "created": 2, "updated": 0, "unchanged": 0, "failed": 1},
        "file_name": "march.csv", "link": f"https://help.example/importer/jobs/{report.job}",
        "finished_at": json.loads(body)["finished_at"]}
    assert headers["Content-Type"] == "application/json"
    assert verified(headers, body, SECRET)
    assert not verified(headers, body, "another secret")
    assert not verified({**headers, "X-Contact-Importer-Timestamp": "1"}, body, SECRET)
    assert not any(cell in body.decode() for cell in ROW_DATA)
    assert services.notices.send_due(now=at(2)) == []  # sent once


def test_a_listener_answering_500_then_200_gets_a_retry_and_the_log_shows_both_attempts(
        settings: Settings, engine: Engine, listener: Listener) -> None:
    listener.answers = [500, 200]
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    report = import_customers(services)

    [first] = services.notices.send_due(now=at(1))
    assert (first.is_delivered, first.status_code) == (False, 500)
    assert first.next_try_at is not None and timedelta(seconds=59) < first.next_try_at - at(1)() <= timedelta(seconds=61)
    assert services.notices.send_due(now=at(30)) == []  # not yet: it waits out the backoff
    [second] = services.notices.send_due(now=at(62))
    assert (second.is_delivered, second.status_code) == (True, 200)

    assert len(listener.received) == 2 and listener.received[0][1] == listener.received[1][1]  # the same notice
    assert listener.received[0][0]["X-Contact-Importer-Delivery"] == listener.received[1][0]["X-Contact-Importer-Delivery"]
    [delivery] = services.notices.deliveries(job_id=report.job)
    assert (delivery.channel, delivery.status, delivery.attempts) == ("webhook", "delivered", 2)
    assert [(a.attempt, a.status_code, a.next_try_at is not None) for a in delivery.log] == [(1, 500, True),
                                                                                              (2, 200, False)]
    assert "500" in delivery.log[0].error and "try later" in delivery.log[0].error and delivery.log[1].error == ""

    shown = CliRunner().invoke(cli, ["--database-url", settings.database_url, "notices", "deliveries"])
    assert shown.exit_code == 0, shown.output
    assert f"job {report.job}\twebhook\t{listener.url}\tdelivered\t2 attempts" in shown.output
    assert "attempt 1 at" in shown.output and ": 500 the webhook answered 500" in shown.output
    assert "attempt 2 at" in shown.output and ": 200 delivered" in shown.output
    as_json = json.loads(CliRunner().invoke(cli, ["--database-url", settings.database_url, "notices", "deliveries",
                                                  "--json"]).output)
    assert [attempt["status_code"] for attempt in as_json[0]["log"]] == [500, 200]


def test_two_workers_sending_at_once_send_a_notice_once(settings: Settings, engine: Engine,
                                                         listener: Listener) -> None:
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    import_customers(services)
    start = threading.Barrier(2)
    sent: list[list] = []  # type: ignore[type-arg]

    def worker() -> None:
        start.wait()
        sent.append(services.notices.send_due(now=at(1)))

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(30)
    assert sorted(len(attempts) for attempts in sent) == [0, 1]
    assert len(listener.received) == 1


def test_a_dead_listener_never_fails_the_import_and_is_given_up_after_the_attempts(
        settings: Settings, engine: Engine) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    services = notifying(settings, engine, webhook_url=dead, webhook_secret=SECRET)

    report = import_customers(services)

    assert (report.status, report.created, report.failed) == (Status.PARTIAL, 2, 1)
    tries = [services.notices.send_due(now=at(seconds)) for seconds in (1, 70, 200, 500, 1000)]
    assert [len(attempts) for attempts in tries] == [1, 1, 1, 0, 0]  # notice_attempts = 3, then given up
    [delivery] = services.notices.deliveries()
    assert (delivery.status, delivery.attempts, delivery.next_try_at) == ("failed", 3, None)
    assert all("could not reach the webhook" in attempt.error and attempt.status_code is None
               for attempt in delivery.log)
    assert [a.next_try_at is None for a in delivery.log] == [False, False, True]
    waits = [(a.next_try_at - a.at).total_seconds() for a in delivery.log[:2]]  # type: ignore[operator]
    assert waits == [60, 120]  # doubling
    assert services.history.get_job(report.job).status == "partial"  # type: ignore[arg-type, union-attr]


def test_a_dead_listener_never_fails_a_command_line_import(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "march.csv").write_text(CUSTOMERS_CSV)
    env = {"CONTACT_IMPORTER_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/hook",
           "CONTACT_IMPORTER_WEBHOOK_SECRET": SECRET}
    runner = CliRunner(env=env)
    imported = runner.invoke(cli, ["--database-url", settings.database_url, "import", "customers",
                                   str(tmp_path / "march.csv")])
    assert imported.exit_code == 1, imported.output  # some rows failed: the import's own status, nothing else
    sent = runner.invoke(cli, ["--database-url", settings.database_url, "notices", "send"])
    assert sent.exit_code == 0, sent.output
    assert "0 delivered, 1 failed" in sent.output


def queue(services: Services, engine: Engine, path: str) -> int:
    """A background import of the file at `path`, queued as the web pages queue one."""
    upload_id = uuid.uuid4().hex
    web_state.add_upload(engine, upload_id, kind="customers", file_name="march.csv", actor=ANN, path=path, size=1)
    job_id = services.store.start_job("customers", file_name="march.csv", actor=ANN, dry_run=False, options={})
    web_state.queue_import(engine, job_id, upload_id, is_dry_run=False, mapping={}, defaults={}, options={},
                           all_or_nothing=None)
    return job_id


def test_a_background_import_is_told_about_when_the_worker_ends_it_even_as_failed(
        settings: Settings, engine: Engine, listener: Listener, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    (tmp_path / "march.csv").write_text(CUSTOMERS_CSV)
    ran = queue(services, engine, str(tmp_path / "march.csv"))
    lost = queue(services, engine, str(tmp_path / "gone.csv"))  # its upload is no longer there

    assert [run_queued_import(services, job_id) for job_id in (ran, lost)] == ["partial", "failed"]
    services.notices.send_due(now=at(1))

    assert sorted((body["job_id"], body["status"]) for body in listener.bodies()) == [(ran, "partial"), (lost, "failed")]


def test_previews_are_not_told_about(settings: Settings, engine: Engine, listener: Listener) -> None:
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    import_customers(services, dry_run=True)
    assert services.notices.send_due(now=at(1)) == [] and services.notices.deliveries() == []


def test_an_undo_posts_its_own_notice(settings: Settings, engine: Engine, listener: Listener) -> None:
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    report = import_customers(services)
    undone = services.undo.undo(report.job, Actor(ANN, "admin"))  # type: ignore[arg-type]

    services.notices.send_due(now=at(1))

    imported, undo = sorted(listener.bodies(), key=lambda body: body["job_id"])
    assert imported["operation"] == "import"
    assert {key: undo[key] for key in ("job_id", "kind", "operation", "status", "counts", "link")} == {
        "job_id": undone.undo_job, "kind": "customers", "operation": "undo", "status": "succeeded",
        "counts": {"removed": 2, "restored": 0, "deactivated": 0, "left_alone": 0},
        "link": f"https://help.example/importer/jobs/{undone.undo_job}"}
    assert all(verified(headers, body, SECRET) for headers, body in listener.received)


def test_a_webhook_url_without_a_secret_is_refused_at_startup() -> None:
    with pytest.raises(SettingsError, match="webhook_secret"):
        load_settings(environ={"CONTACT_IMPORTER_WEBHOOK_URL": "https://hooks.example/in"})


# ---- e-mail


def test_an_opted_in_person_gets_counts_and_a_link_and_no_row_data(
        settings: Settings, engine: Engine, smtp: tuple[Outbox, str]) -> None:
    outbox, url = smtp
    services = notifying(settings, engine, smtp_url=url, mail_from="helpdesk@help.example")
    turned_on = CliRunner().invoke(cli, ["--database-url", settings.database_url, "notices", "email", "on", ANN])
    assert turned_on.exit_code == 0, turned_on.output
    report = import_customers(services)

    services.notices.send_due(now=at(1))

    [mail] = outbox.messages
    assert mail["To"].addresses[0].addr_spec == ANN
    assert mail["Subject"] == f"Import {report.job} of customers: partial"
    assert mail["X-Contact-Importer-Loop"] == "1"  # our own mail capture skips it
    text = mail.get_content()
    assert "created: 2" in text and "failed: 1" in text and "march.csv" in text
    assert f"https://help.example/importer/jobs/{report.job}" in text
    raw = mail.as_string()
    assert not any(cell in raw for cell in ROW_DATA)
    [delivery] = services.notices.deliveries()
    assert (delivery.channel, delivery.target, delivery.status) == ("email", ANN, "delivered")


def test_an_opted_out_person_gets_nothing_even_when_the_setting_mails_everyone(
        settings: Settings, engine: Engine, smtp: tuple[Outbox, str]) -> None:
    outbox, url = smtp
    services = notifying(settings, engine, smtp_url=url, notify_by_email=True)
    services.notices.set_email("Bo@Help.example", False)

    import_customers(services, actor="bo@help.example")
    import_customers(services, actor="cy@help.example")  # never said: the setting mails them
    services.notices.send_due(now=at(1))

    assert outbox.to("bo@help.example") == [] and len(outbox.to("cy@help.example")) == 1
    assert services.notices.email_wanted("bo@help.example") is False


def test_without_a_choice_or_the_setting_nobody_is_mailed_and_an_os_user_never_is(
        settings: Settings, engine: Engine, smtp: tuple[Outbox, str]) -> None:
    outbox, url = smtp
    services = notifying(settings, engine, smtp_url=url)
    import_customers(services)
    import_customers(services, actor="root")
    services.notices.send_due(now=at(1))
    assert outbox.messages == []


def test_a_choice_is_for_an_email_address(settings: Settings, engine: Engine) -> None:
    services = notifying(settings, engine)
    with pytest.raises(ValueError, match="not an e-mail address"):
        services.notices.set_email("root", True)
    refused = CliRunner().invoke(cli, ["--database-url", settings.database_url, "notices", "email", "on", "root"])
    assert refused.exit_code == 1 and "not an e-mail address" in refused.output


# ---- mail capture


@pytest.fixture(scope="module")
def imap(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.adapters.imap.conftest import start_imap_server

    server = start_imap_server(tmp_path_factory.mktemp("imap-notices"))
    yield server
    server.stop()


@pytest.mark.imap
def test_a_mail_capture_poll_posts_its_notice(settings: Settings, engine: Engine, listener: Listener, imap) -> None:  # type: ignore[no-untyped-def]
    from imapclient import IMAPClient

    from adapters.db.mailboxes import add_mailbox
    from adapters.imap.poller import poll_mailbox

    folder = f"notices-{uuid.uuid4().hex[:8]}"
    with IMAPClient(imap.host, port=imap.port, ssl=False, timeout=10) as client:
        client.login(imap.user, imap.password)
        client.create_folder(folder)
    imap.append(folder, b"From: Jane Roe <jane.roe@example.org>\nTo: support@example.com\nSubject: Hi\n"
                        b"Date: Tue, 3 Mar 2026 10:00:00 +0100\nMessage-ID: <1@example.org>\n\nHello\n")
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    add_mailbox(engine, name="support", host=imap.host, port=imap.port, user=imap.user, password_env="PW",
                tls=False, folder=folder)

    result = poll_mailbox(services, "support", environ={"PW": imap.password})
    services.notices.send_due(now=at(1))

    [body] = listener.bodies()
    assert {key: body[key] for key in ("job_id", "operation", "status", "counts")} == {
        "job_id": result.job_id, "operation": "mail-capture", "status": "succeeded",
        "counts": {"fetched": 1, "created": 1, "existing": 0, "failed": 0}}
    assert "jane" not in json.dumps(body).lower()

    stop = threading.Event()  # a watch (IMAP IDLE): each pass that fetched mail is told about like a poll
    passes: list[PollResult] = []
    watcher = threading.Thread(target=lambda: watch_for_contacts(
        services, "support", environ={"PW": imap.password}, stop=stop, on_result=passes.append), daemon=True)
    watcher.start()
    try:
        imap.append(folder, b"From: Ivo Idle <ivo.idle@example.org>\nTo: support@example.com\nSubject: Hi\n"
                            b"Date: Tue, 3 Mar 2026 11:00:00 +0100\nMessage-ID: <2@example.org>\n\nHello\n")
        deadline = time.monotonic() + 10
        while not any(p.created for p in passes) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        imap.append(folder, b"From: last@example.org\nSubject: wake\n\nwake the IDLE\n")
        watcher.join(10)
    watched = [(p.job_id, "mail-capture", len(p.created)) for p in passes if p.job_id is not None]
    assert watched[0][2] == 1  # Ivo (then, maybe, the message that woke the IDLE)
    services.notices.send_due(now=at(1))
    assert [(b["job_id"], b["operation"], b["counts"]["created"]) for b in listener.bodies()[1:]] == watched


def test_the_worker_task_sends_what_is_due(settings: Settings, engine: Engine, listener: Listener) -> None:
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    report = import_customers(services)
    send_notices = register_notice_tasks(make_huey(settings.replace(queue_name=uuid.uuid4().hex), immediate=True),
                                         services)
    send_notices.call_local()
    assert [body["job_id"] for body in listener.bodies()] == [report.job]
