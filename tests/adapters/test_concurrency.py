"""Writers at the same time: imports and mail capture creating and updating the same people.

First the races one at a time, made to happen at a chosen moment (another writer acts between a batch's plan
and its write, or holds a row the batch needs while waiting for one the batch holds); then the whole thing:
two real `contact-importer worker` processes running imports of overlapping files while a real
mail poll (adapters.imap.poller, as the worker and `mailbox poll` run it) captures mail from the same people
off a real Dovecot, counted afterwards row by row.
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from adapters.bootstrap import bootstrap
from adapters.db import tokens
from adapters.db.accounts import create_admin
from tests.catalog import add_custom_field, add_labels
from adapters.imap.poller import poll_mailbox
from adapters.jobs import make_huey, make_import_queue
from adapters.passwords import Argon2Hasher
from adapters.web.host import create_app
from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.kinds import FieldType
from plugin.pipeline import ImportRequest, run_import
from plugin.plan import PlannedRow
from plugin.services import Services
from plugin.settings import Settings
from tests.adapters.imap.conftest import ImapServer, start_imap_server
from tests.conftest import drop_postgres_schema, throwaway_postgres_url
from tests.conftest import FAST_HASHES, REDIS_URL
from tests.processes import environment_for, start_contact_importer, stop_group, wait_until

WORKER = str(Path(os.sys.executable).with_name("contact-importer"))  # type: ignore[attr-defined]
ADMIN = "admin@example.com"
PASSWORD_ENV = "CONCURRENCY_IMAP_PASSWORD"


# ---- helpers


def rows_of(engine: Engine, sql: str, **parameters: object) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), parameters)]


def contact_labels(engine: Engine) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = {key: set() for (key,) in rows_of(engine, "SELECT email_key FROM contacts")}
    for key, name in rows_of(engine, "SELECT c.email_key, l.name FROM contacts c JOIN contact_labels cl "
                                     "ON cl.contact_id = c.id JOIN labels l ON l.id = cl.label_id"):
        labels[key].add(name)
    return labels


def custom_values(engine: Engine) -> dict[tuple[str, str], str]:
    return {(key, variable): value for key, variable, value in rows_of(
        engine, "SELECT c.email_key, f.variable, v.value FROM custom_values v JOIN contacts c ON c.id = v.contact_id "
                "JOIN custom_fields f ON f.id = v.field_id")}


def import_csv(services: Services, csv_text: str, **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file("customers", io.BytesIO(csv_text.encode()), file_name="people.csv", actor="test",
                                options=options or None)


def run_with_hook(services: Services, csv_text: str, hook: Callable[[Sequence[PlannedRow]], None],  # type: ignore[no-untyped-def]
                  kind: str = "customers"):
    """The pipeline with `hook` run between each batch's plan and its write, the moment a race hits."""
    request = ImportRequest(kind=services.kind(kind), file_name="people.csv", actor="test",
                            batch_size=services.settings.batch_size)

    def prepare(planned: Sequence[PlannedRow]) -> Sequence[PlannedRow]:
        hook(planned)
        return planned

    return run_import(request, io.BytesIO(csv_text.encode()), services.store, prepare=prepare)


def once(action: Callable[[], None]) -> Callable[[Sequence[PlannedRow]], None]:
    done: list[bool] = []

    def hook(_planned: Sequence[PlannedRow]) -> None:
        if not done:
            done.append(True)
            action()

    return hook


# ---- races at a chosen moment, on SQLite and PostgreSQL


def test_a_contact_created_by_another_writer_after_the_plan_is_updated_not_doubled(services, engine, caplog):
    add_labels(engine, ["Theirs", "Ours"])
    add_custom_field(engine, "plan", FieldType.TEXT)
    add_custom_field(engine, "tier", FieldType.TEXT)
    other = bootstrap(services.settings, engine=engine, migrate=False)  # a second writer with a store of its own
    ours = "email,first_name,labels,plan\n" + "".join(f"p{n}@example.com,Ours{n},Ours,gold\n" for n in range(1, 11))

    def someone_else_creates_p3() -> None:
        report = import_csv(other, "email,first_name,labels,tier\nP3@Example.com,Theirs,Theirs,top\n")
        assert report.created == 1

    with caplog.at_level(logging.WARNING, logger="plugin.pipeline"):
        report = run_with_hook(services, ours, once(someone_else_creates_p3))

    assert (report.created, report.updated, report.failed) == (9, 1, 0)
    assert rows_of(engine, "SELECT count(*) FROM contacts") == [(10,)]
    assert contact_labels(engine)["p3@example.com"] == {"Theirs", "Ours"}
    values = custom_values(engine)
    assert (values[("p3@example.com", "tier")], values[("p3@example.com", "plan")]) == ("top", "gold")
    assert rows_of(engine, "SELECT first_name FROM contacts WHERE email_key = 'p3@example.com'") == [("Ours3",)]
    results = {row["row"]: row for row in services.history.row_results(report.job, limit=20)}  # type: ignore[attr-defined]
    assert results[4]["action"] == "updated"  # row 4 is p3: the header is row 1
    assert {"field": "first_name", "old": "Theirs", "new": "Ours3"} in results[4]["changes"]
    assert "planned again" in caplog.text


def test_a_username_taken_by_another_writer_after_the_plan_fails_only_that_row(services, engine):
    other = bootstrap(services.settings, engine=engine, migrate=False)
    ours = "email,first_name,username\n" + "".join(f"u{n}@example.com,U{n},user{n}\n" for n in range(1, 6))

    def someone_else_takes_user2() -> None:
        assert import_csv(other, "email,first_name,username\nsomeone@example.com,Some,user2\n").created == 1

    report = run_with_hook(services, ours, once(someone_else_takes_user2))

    assert (report.created, report.failed) == (4, 1)
    assert [error.code for error in report.errors] == ["username.taken"]
    assert rows_of(engine, "SELECT email_key FROM contacts WHERE username = 'user2'") == [("someone@example.com",)]


def test_labels_created_by_a_rolled_back_attempt_are_created_again(services, engine):
    """A batch that creates a label and then meets a stale plan is rolled back, label and all: the label's id
    it remembered must not outlive the rollback, or the next attempt would link to a label that is not there."""
    other = bootstrap(services.settings, engine=engine, migrate=False)
    request = ImportRequest(kind=services.kind("customers"), options={"create_labels": True},
                            batch_size=services.settings.batch_size)
    ours = "email,first_name,labels\nnew1@example.com,One,Fresh\nnew2@example.com,Two,Fresh\n"
    hook = once(lambda: import_csv(other, "email,first_name\nnew1@example.com,Theirs\n"))

    def prepare(planned: Sequence[PlannedRow]) -> Sequence[PlannedRow]:
        hook(planned)
        return planned

    report = run_import(request, io.BytesIO(ours.encode()), services.store, prepare=prepare)

    assert (report.created, report.updated, report.failed) == (1, 1, 0)
    assert contact_labels(engine) == {"new1@example.com": {"Fresh"}, "new2@example.com": {"Fresh"}}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_deadlock_with_another_transaction_is_retried_and_the_batch_applied(services, engine, settings, caplog):
    """Another transaction holds the contact the batch updates, then waits for the import's own job row,
    which the batch holds: PostgreSQL ends the batch's transaction as the deadlock's victim, and the batch
    is run again once the other has committed."""
    assert import_csv(services, "email,first_name\nx@example.com,Before\n").created == 1
    other = create_engine(settings.resolved_database_url, isolation_level="READ COMMITTED")
    holding = threading.Event()
    failures: list[BaseException] = []

    def hold_contact_then_want_job_row(job_id: int) -> None:
        try:
            with other.begin() as connection:
                connection.execute(text("SET LOCAL deadlock_timeout = '20s'"))  # the import's backend detects it
                connection.execute(text("UPDATE contacts SET middle_name = 'Other' WHERE email_key = 'x@example.com'"))
                me = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
                holding.set()
                deadline = time.monotonic() + 20
                while not connection.execute(text("SELECT count(*) FROM pg_stat_activity "
                                                  "WHERE :me = ANY(pg_blocking_pids(pid))"), {"me": me}).scalar_one():
                    assert time.monotonic() < deadline, "the import never waited for the contact"
                    time.sleep(0.02)
                connection.execute(text("UPDATE import_jobs SET message = 'other' WHERE id = :job"), {"job": job_id})
        except BaseException as error:  # reported by the test below
            failures.append(error)
            holding.set()

    threads: list[threading.Thread] = []

    def start_other() -> None:
        job_id = rows_of(engine, "SELECT max(id) FROM import_jobs")[0][0]
        thread = threading.Thread(target=hold_contact_then_want_job_row, args=(job_id,), daemon=True)
        thread.start()
        threads.append(thread)
        assert holding.wait(20)

    try:
        with caplog.at_level(logging.WARNING, logger="adapters.db.engine"):
            report = run_with_hook(services, "email,first_name\nx@example.com,After\n", once(start_other))
        threads[0].join(30)
    finally:
        other.dispose()
    assert not failures, failures
    assert (report.status, report.updated, report.failed) == ("succeeded", 1, 0)
    assert "deadlock detected; trying again" in caplog.text
    assert rows_of(engine, "SELECT first_name, middle_name FROM contacts") == [("After", "Other")]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_made_up_username_another_transaction_commits_first_is_made_again(services, engine, settings, caplog):
    """Two writers make the same username for different people at the same moment (the other commits while
    the batch waits on it): the batch's person gets the next free one, in the same transaction; neither the
    batch fails nor is it planned and written again (under load, a whole batch again meets new races)."""
    other = create_engine(settings.resolved_database_url)
    holding, failures = threading.Event(), []

    def insert_jane_doe_and_commit_once_the_batch_waits() -> None:
        try:
            with other.begin() as connection:
                connection.execute(text(
                    "INSERT INTO contacts (email, email_key, username, source, created_at, updated_at) VALUES "
                    "('jane.doe@other.example', 'jane.doe@other.example', 'jane.doe', 'manual', now(), now())"))
                me = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
                holding.set()
                deadline = time.monotonic() + 20
                while not connection.execute(text("SELECT count(*) FROM pg_stat_activity "
                                                  "WHERE :me = ANY(pg_blocking_pids(pid))"), {"me": me}).scalar_one():
                    assert time.monotonic() < deadline, "the batch never waited for the other's username"
                    time.sleep(0.02)
        except BaseException as error:  # reported by the test below
            failures.append(error)
            holding.set()

    threads: list[threading.Thread] = []

    def start_other() -> None:
        threads.append(threading.Thread(target=insert_jane_doe_and_commit_once_the_batch_waits, daemon=True))
        threads[0].start()
        assert holding.wait(20)

    try:
        with caplog.at_level(logging.WARNING):
            report = run_with_hook(services, "email,first_name\njane.doe@example.com,Jane\nbob@example.com,Bob\n",
                                   once(start_other))
        threads[0].join(30)
    finally:
        other.dispose()
    assert not failures, failures
    assert (report.created, report.failed) == (2, 0)
    assert dict(rows_of(engine, "SELECT email_key, username FROM contacts")) == {
        "jane.doe@other.example": "jane.doe", "jane.doe@example.com": "jane.doe2", "bob@example.com": "bob"}
    assert "planned again" not in caplog.text and "trying again" not in caplog.text


# ---- two workers, two overlapping files and a mail poll at once


FILE_ROWS = 4000
BAD_ROWS = 3
# Both files hold people 2000 to 3999, every other row and in the same order, so the two imports reach each
# of them at about the same moment; the mail comes from people of file A only, of both, of B only, and others.
A_ONLY, BOTH, B_ONLY = range(0, 2000), range(2000, 4000), range(4000, 6000)
MAIL_NUMBERS = [*range(0, 6000, 15), *range(9000, 9060)]


def person(number: int) -> str:
    return f"person{number}@example.com"


def file_a() -> str:
    lines = ["email,first_name,last_name,labels,plan"]
    lines += [f"{person(n)},A{n},Alpha,FileA:Common,plan{n}" for pair in zip(A_ONLY, BOTH) for n in pair]
    lines += [f"not-an-address-{n}@,Bad,Row,FileA,x" for n in range(BAD_ROWS)]
    return "\n".join(lines) + "\n"


def file_b() -> str:
    lines = ["E-mail Address,Given Name,Surname,Labels,tier"]  # other headers, the addresses in other letters
    lines += [f"{person(n).upper()},B{n},Beta,FileB:Common,tier{n}" for pair in zip(BOTH, B_ONLY) for n in pair]
    lines += [f"also bad {n},Bad,Row,FileB,x" for n in range(BAD_ROWS)]
    return "\n".join(lines) + "\n"


def mail_from(number: int) -> bytes:
    return (f"From: Mail Person{number} <{person(number)}>\nTo: support@example.com\nSubject: Help {number}\n"
            f"Date: {datetime.now(timezone.utc).strftime('%a, %d %b %Y %H:%M:%S +0000')}\n"
            f"Message-ID: <{number}.{uuid.uuid4().hex}@example.org>\n\nA question.\n").encode()


def keys_of(csv_text: str) -> list[str | None]:
    """Each data row's email key (None for a row that is no address), in file order: row n+2 is index n."""
    result: list[str | None] = []
    for line in csv_text.splitlines()[1:]:
        try:
            result.append(email_key(normalize_email(line.split(",")[0])))
        except InvalidEmail:
            result.append(None)
    return result


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])])
def busy_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """SQLite with the SQLite queue, or PostgreSQL with the Redis queue under a queue name of this test's own."""
    from plugin.settings import load_settings

    base = load_settings(environ={}).replace(
        queue_path=str(tmp_path / "queue.db"), upload_dir=str(tmp_path / "uploads"), batch_size=25,
        mail_fetch_batch=5, secret_key="concurrency-" + "k" * 40, queue_name=f"concurrency-{uuid.uuid4().hex}")
    if request.param == "sqlite":
        yield base.replace(database_url=f"sqlite:///{tmp_path}/contacts.db")
        return
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    url, schema = throwaway_postgres_url()
    settings = base.replace(database_url=url, redis_url=REDIS_URL)
    yield settings
    make_huey(settings).storage.flush_all()  # only this queue's keys
    drop_postgres_schema(schema)


@pytest.fixture
def imap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    server = start_imap_server(tmp_path_factory.mktemp("imap-concurrency"))
    yield server
    server.stop()


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    return {**environment_for(settings), "CONTACT_IMPORTER_MAIL_FETCH_BATCH": str(settings.mail_fetch_batch), **extra}


def start_worker(settings: Settings, log: Path, env: dict[str, str]) -> subprocess.Popen:
    process = start_contact_importer(["worker", "--workers", "1", "--max-delay", "0.2"], log=log, env=env)
    wait_until(lambda: "Huey consumer started" in log.read_text(errors="replace") or process.poll() is not None,
               timeout=60, what="the worker to start", log=log)
    assert process.poll() is None, log.read_text(errors="replace")
    return process


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        stop_group(process, signal.SIGTERM)  # graceful


def test_two_workers_importing_overlapping_files_while_mail_is_captured_lose_and_double_nothing(
        busy_settings: Settings, imap: ImapServer, tmp_path: Path) -> None:
    settings = busy_settings
    services = bootstrap(settings, hasher=Argon2Hasher(**FAST_HASHES))
    engine: Engine = services.store.engine  # type: ignore[attr-defined]
    create_admin(engine, services.hasher, ADMIN, "correct-horse-7")  # type: ignore[arg-type]
    token = tokens.create_token(engine, ADMIN)
    add_labels(engine, ["FileA", "FileB", "Common"])
    add_custom_field(engine, "plan", FieldType.TEXT)
    add_custom_field(engine, "tier", FieldType.TEXT)
    imap.append("INBOX", *(mail_from(number) for number in MAIL_NUMBERS))
    env = environment(settings, **{PASSWORD_ENV: imap.password})
    workers = [start_worker(settings, tmp_path / f"worker-{n}.log", env) for n in (1, 2)]
    app = create_app(settings, services=services, queue=make_import_queue(services))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    files = {"a": file_a(), "b": file_b()}
    try:
        jobs = {}
        for name, body in files.items():
            response = client.post("/api/v1/imports", headers=auth, content_type="multipart/form-data",
                                   data={"kind": "customers", "file": (io.BytesIO(body.encode()), f"{name}.csv")})
            assert response.status_code == 202, response.json
            jobs[name] = response.json["job"]

        def document(job_id: int) -> dict:
            return client.get(f"/api/v1/imports/{job_id}", headers=auth).json

        deadline = time.monotonic() + 120
        while not all(document(job_id)["progress"]["done"] > 0 for job_id in jobs.values()):
            assert time.monotonic() < deadline, [document(job_id) for job_id in jobs.values()]
            time.sleep(0.02)
        # the mailbox only now, or the workers' own periodic poll could read it before the imports start
        services.capture.add_mailbox(name="support", host=imap.host, port=imap.port, user=imap.user,
                                     password_env=PASSWORD_ENV, tls=False, label="FromMail", now=datetime.now(timezone.utc))
        poll = poll_mailbox(services, "support", environ={PASSWORD_ENV: imap.password})  # while the workers import
        assert not poll.error_code and poll.fetched == len(MAIL_NUMBERS), poll.as_dict()
        deadline = time.monotonic() + 600
        while not all(document(job_id)["is_finished"] for job_id in jobs.values()):
            assert time.monotonic() < deadline, [document(job_id) for job_id in jobs.values()]
            time.sleep(0.2)
        done = {name: document(job_id) for name, job_id in jobs.items()}
    finally:
        for worker in workers:
            stop(worker)
    logs = "".join((tmp_path / f"worker-{n}.log").read_text(errors="replace") for n in (1, 2))
    timing = rows_of(engine, "SELECT kind, started_at, finished_at FROM import_jobs ORDER BY id")
    print(f"{settings.database_url.split(':')[0]}: batches planned again {logs.count('planned again')}, "
          f"transactions retried {logs.count('trying again')}; jobs (kind, started, finished): {timing}")
    (a_start, a_end), (b_start, b_end) = [(start, end) for kind, start, end in timing if kind == "customers"]
    mail_start, mail_end = min(start for kind, start, _ in timing if kind == "mail"), max(
        end for kind, _, end in timing if kind == "mail")
    assert a_start < b_end and b_start < a_end, "the two imports did not run at the same time"
    assert mail_start < max(a_end, b_end) and min(a_start, b_start) < mail_end, "the mail poll ran on its own"

    # every job's counts add up, and nothing failed but the bad rows
    for name, job in done.items():
        assert job["status"] == "partial", (job, logs[-3000:])
        assert job["failed"] == BAD_ROWS, job
        assert job["created"] + job["updated"] + job["unchanged"] + job["failed"] == FILE_ROWS + BAD_ROWS, job
        assert job["unchanged"] == 0, job  # each row brings a label or a value the contact did not have
    mail_jobs = rows_of(engine, "SELECT created, unchanged, failed FROM import_jobs WHERE kind = 'mail'")
    mail_created = sum(created for created, _, _ in mail_jobs)
    assert sum(created + unchanged for created, unchanged, _ in mail_jobs) == len(MAIL_NUMBERS)

    # no duplicate, and each contact created exactly once, by whoever came first
    keys_a, keys_b = keys_of(files["a"]), keys_of(files["b"])
    everyone = {key for key in keys_a + keys_b if key} | {person(number) for number in MAIL_NUMBERS}
    assert rows_of(engine, "SELECT lower(email), count(*) FROM contacts GROUP BY lower(email) HAVING count(*) > 1") == []
    assert rows_of(engine, "SELECT count(*) FROM contacts") == [(len(everyone),)]
    assert done["a"]["created"] + done["b"]["created"] + mail_created == len(everyone)
    assert rows_of(engine, "SELECT count(*) FROM contacts WHERE source = 'mail'") == [(mail_created,)]

    # per row: each file row's result points at the contact with that row's address
    by_id = dict(rows_of(engine, "SELECT id, email_key FROM contacts"))
    for name, keys in (("a", keys_a), ("b", keys_b)):
        results = rows_of(engine, "SELECT row, action, record_id FROM import_rows WHERE job_id = :job ORDER BY row",
                          job=jobs[name])
        assert [row for row, _, _ in results] == list(range(2, len(keys) + 2))
        for (row, action, record_id), key in zip(results, keys, strict=True):
            if key is None:
                assert action == "failed", row
            else:
                assert action in ("created", "updated") and by_id[record_id] == key, (name, row, action)

    # no lost label, no lost custom value
    labels = contact_labels(engine)
    values = custom_values(engine)
    for key in filter(None, keys_a):
        assert {"FileA", "Common"} <= labels[key], (key, labels[key])
        assert values[(key, "plan")] == "plan" + key.removeprefix("person").split("@")[0]
    for key in filter(None, keys_b):
        assert {"FileB", "Common"} <= labels[key], (key, labels[key])
        assert values[(key, "tier")] == "tier" + key.removeprefix("person").split("@")[0]
    from_mail = {key for key, names in labels.items() if "FromMail" in names}
    assert from_mail == {key for (key,) in rows_of(engine, "SELECT email_key FROM contacts WHERE source = 'mail'")}
    assert len(from_mail) == mail_created
    names = dict(rows_of(engine, "SELECT email_key, first_name FROM contacts"))
    for number in A_ONLY:
        assert names[person(number)] == f"A{number}"  # only file A names them
    for number in B_ONLY:
        assert names[person(number)] == f"B{number}"
    for number in BOTH:
        assert names[person(number)] in (f"A{number}", f"B{number}")
    assert names[person(9000)] == "Mail"  # only the mail knows them: "Mail Person9000" <person9000@...>
    services.store.engine.dispose()  # type: ignore[attr-defined]


# ---- overlapping imports of the same people, and records another writer creates between plan and write


OVERLAP_PEOPLE = 6000


def overlapping_files(count: int) -> tuple[str, str]:
    """The same people twice: in order, and shuffled with every third address in capitals."""
    people = [f"same{n}@example.com" for n in range(count)]
    shuffled = list(people)
    random.Random(12).shuffle(shuffled)
    first = "email,first_name\n" + "".join(f"{email},First{n}\n" for n, email in enumerate(people))
    second = "email,first_name\n" + "".join(f"{email.upper() if n % 3 == 0 else email},Second{n}\n"
                                            for n, email in enumerate(shuffled))
    return first, second


def run_at_once(*imports: Callable[[], object]) -> list[object]:
    """Each function in a thread of its own, started together; their results, or the exception each raised."""
    results: list[object] = [None] * len(imports)
    start = threading.Barrier(len(imports))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = imports[index]()
        except BaseException as error:  # reported by the caller
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(imports))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    return results


def test_two_overlapping_imports_of_the_same_people_both_finish_without_duplicates(settings, services, engine):
    busy = settings.replace(row_limit=OVERLAP_PEOPLE, batch_size=500)
    writers = [bootstrap(busy, migrate=False) for _ in range(2)]  # two writers, each with its own engine
    first, second = overlapping_files(OVERLAP_PEOPLE)
    try:
        reports = run_at_once(*(lambda writer=writer, text=text: import_csv(writer, text)
                                for writer, text in zip(writers, (first, second))))
    finally:
        for writer in writers:
            writer.store.engine.dispose()  # type: ignore[attr-defined]
    for report in reports:
        assert not isinstance(report, BaseException), repr(report)
        assert (report.status, report.rows, report.failed) == ("succeeded", OVERLAP_PEOPLE, 0), report.as_dict()
        assert report.created + report.updated + report.unchanged == OVERLAP_PEOPLE
    assert reports[0].created + reports[1].created == OVERLAP_PEOPLE
    assert rows_of(engine, "SELECT count(*), count(DISTINCT email_key) FROM contacts") == [(OVERLAP_PEOPLE,) * 2]
    created = {job: count for job, count in rows_of(
        engine, "SELECT job_id, count(*) FROM import_rows WHERE action = 'created' GROUP BY job_id")}
    assert created == {report.job: report.created for report in reports if report.created}
    assert rows_of(engine, "SELECT status FROM import_jobs WHERE status IN ('running', 'checking')") == []


def test_an_agent_created_by_another_writer_after_the_plan_is_updated_not_counted_as_created(services, engine):
    other = bootstrap(services.settings, engine=engine, migrate=False)
    ours = "email,first_name,last_name\n" + "".join(f"agent{n}@example.com,Ours{n},Agent\n" for n in range(1, 6))

    def someone_else_creates_agent3() -> None:
        report = other.imports.import_file("users", io.BytesIO(b"email,first_name\nAgent3@Example.com,Theirs\n"),
                                           actor="test", options={"no_invitations": True})
        assert report.created == 1

    report = run_with_hook(services, ours, once(someone_else_creates_agent3), kind="users")

    assert (report.created, report.updated, report.unchanged, report.failed) == (4, 1, 0, 0)
    assert rows_of(engine, "SELECT count(*) FROM agents") == [(5,)]
    assert rows_of(engine, "SELECT first_name, last_name FROM agents WHERE email_key = 'agent3@example.com'") == [
        ("Ours3", "Agent")]
    results = {row["row"]: row["action"] for row in services.history.row_results(report.job, limit=20)}
    assert results == {2: "created", 3: "created", 4: "updated", 5: "created", 6: "created"}
    invited = rows_of(engine, "SELECT a.email_key FROM invitations i JOIN agents a ON a.id = i.agent_id "
                              "WHERE i.import_id = :job ORDER BY a.email_key", job=report.job)
    assert invited == [(f"agent{n}@example.com",) for n in (1, 2, 4, 5)]  # not the agent someone else created


def test_a_company_created_by_another_writer_after_the_plan_is_left_unchanged_not_counted_as_created(services, engine):
    other = bootstrap(services.settings, engine=engine, migrate=False)
    ours = "name\n" + "".join(f"Company {n}\n" for n in range(1, 6))

    def someone_else_creates_company3() -> None:
        report = other.imports.import_file("companies", io.BytesIO(b"name\nCompany 3\n"), actor="test")
        assert report.created == 1

    report = run_with_hook(services, ours, once(someone_else_creates_company3), kind="companies")

    assert (report.created, report.updated, report.unchanged, report.failed) == (4, 0, 1, 0)
    assert rows_of(engine, "SELECT count(*) FROM companies") == [(5,)]
    results = {row["row"]: row["action"] for row in services.history.row_results(report.job, limit=20)}
    assert results == {2: "created", 3: "created", 4: "unchanged", 5: "created", 6: "created"}
    undo = rows_of(engine, "SELECT count(*) FROM import_rows WHERE job_id = :job AND action = 'created'", job=report.job)
    assert undo == [(4,)]  # an undo of this import removes only what it created


def test_two_overlapping_cli_imports_of_the_same_people_each_print_their_report_and_exit_0(settings, services, engine,
                                                                                           tmp_path):
    paths = []
    for name, body in zip("ab", overlapping_files(OVERLAP_PEOPLE)):
        paths.append(tmp_path / f"{name}.csv")
        paths[-1].write_text(body)
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTACT_IMPORTER_")}
    env.update(CONTACT_IMPORTER_DATABASE_URL=settings.database_url, CONTACT_IMPORTER_BATCH_SIZE="500",
               CONTACT_IMPORTER_ROW_LIMIT=str(OVERLAP_PEOPLE))
    processes = [subprocess.Popen([WORKER, "import", "customers", str(path), "--json"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for path in paths]
    outputs = [process.communicate(timeout=300) for process in processes]

    reports = []
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
        assert "StalePlan" not in stderr
        reports.append(json.loads(stdout))
    for report in reports:
        assert (report["status"], report["rows"], report["failed"]) == ("succeeded", OVERLAP_PEOPLE, 0), report
    assert reports[0]["created"] + reports[1]["created"] == OVERLAP_PEOPLE
    assert rows_of(engine, "SELECT count(*), count(DISTINCT email_key) FROM contacts") == [(OVERLAP_PEOPLE,) * 2]
