"""Notices of finished jobs: the webhook against a real HTTP listener on loopback, for imports (in the foreground,
by the worker, from the command line), undos and mail capture, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from adapters.cli import cli
from adapters.db import import_queue, uploads
from adapters.imap.poller import PollResult, watch_for_contacts
from adapters.jobs import make_huey, run_queued_import
from adapters.notices.tasks import register_notice_tasks
from plugin.report import Status
from plugin.services import Services
from plugin.services.undo import Actor
from plugin.settings import Settings, SettingsError, load_settings
from tests.adapters.notice_servers import (ANN, CUSTOMERS_CSV, ROW_DATA, SECRET, Listener, at, free_port,
                                           import_customers, notifying, running_listener, verified)


@pytest.fixture
def listener() -> Iterator[Listener]:
    with running_listener() as heard:
        yield heard


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
    finished_at = datetime.fromisoformat(json.loads(body)["finished_at"])
    assert finished_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - finished_at) < timedelta(minutes=1)
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
    uploads.add_upload(engine, upload_id, kind="customers", file_name="march.csv", actor=ANN, path=path, size=1)
    job_id = services.store.start_job("customers", file_name="march.csv", actor=ANN, dry_run=False, options={})
    import_queue.queue_import(engine, job_id, upload_id, is_dry_run=False, mapping={}, defaults={}, options={},
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

    from adapters.imap.poller import poll_mailbox

    folder = f"notices-{uuid.uuid4().hex[:8]}"
    with IMAPClient(imap.host, port=imap.port, ssl=False, timeout=10) as client:
        client.login(imap.user, imap.password)
        client.create_folder(folder)
    imap.append(folder, b"From: Jane Roe <jane.roe@example.org>\nTo: support@example.com\nSubject: Hi\n"
                        b"Date: Tue, 3 Mar 2026 10:00:00 +0100\nMessage-ID: <1@example.org>\n\nHello\n")
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    services.capture.add_mailbox(name="support", host=imap.host, port=imap.port, user=imap.user, password_env="PW",
                                 tls=False, folder=folder, now=datetime.now(UTC))

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


def test_a_job_told_about_twice_is_told_once(settings: Settings, engine: Engine, listener: Listener) -> None:
    services = notifying(settings, engine, webhook_url=listener.url, webhook_secret=SECRET)
    report = import_customers(services)  # queued as it ended
    assert services.notices.job_finished(report.job) == 0  # a worker's finish_import after it, say
    services.notices.send_due(now=at(1))
    assert len(listener.received) == 1


def test_the_notices_migration_makes_the_tables_as_declared_and_goes_down_and_up_again(database_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from adapters.db.engine import alembic_config, make_engine, upgrade_database
    from adapters.db.models import metadata

    engine = make_engine(database_url)
    try:
        upgrade_database(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert [difference for difference in differences if "notice" in str(difference)] == []
        command.downgrade(alembic_config(engine), "0008_job_operation")
        upgrade_database(engine)
    finally:
        engine.dispose()
