"""A worker killed in the middle of a 50,000-row import loses nothing: real `contact-importer worker` processes,
SIGKILL (or SIGTERM) at a random batch, another worker started, and the database compared row by row with an
uninterrupted run of the same file into a fresh database. On SQLite with the SQLite queue, and on PostgreSQL
with the Redis queue (a queue name of its own per test)."""

from __future__ import annotations

import os
import random
import json
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from adapters.bootstrap import bootstrap
from adapters.db import import_queue, uploads
from tests.catalog import add_company, add_custom_field, add_labels
from adapters.db.models import import_jobs
from adapters.jobs import make_huey, make_import_queue, run_queued_import
from bench.generate_customers import CUSTOM_FIELDS, LABELS, write_customers
from plugin.kinds import FieldType
from plugin.services import Services
from plugin.settings import Settings, load_settings
from tests.adapters.snapshots import differences, import_snapshot
from tests.conftest import drop_postgres_schema, throwaway_postgres_url
from tests.conftest import REDIS_URL
from tests.processes import CONTACT_IMPORTER, start_contact_importer, stop_group, wait_until

pytestmark = [pytest.mark.crash, pytest.mark.slow]

ROWS = 50_000
COMPANIES = 50
WORKER = CONTACT_IMPORTER


@dataclass
class Backend:
    name: str
    settings: Settings


def _database(backend: str, folder: Path, name: str, cleanups: list) -> str:  # type: ignore[type-arg]
    if backend == "sqlite":
        return f"sqlite:///{folder}/{name}.db"
    url, schema = throwaway_postgres_url()
    cleanups.append(lambda: drop_postgres_schema(schema))
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backends(request, tmp_path: Path) -> Iterator[tuple[Settings, Settings]]:  # type: ignore[no-untyped-def]
    """Settings for the database the workers use and for the clean run's, with the queue that goes with them."""
    cleanups: list = []  # type: ignore[type-arg]
    queue = {"queue_path": str(tmp_path / "queue.db")}
    if request.param == "postgresql":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.ConnectionError:
            pytest.skip("needs Redis on 127.0.0.1:6379")
        queue = {"redis_url": REDIS_URL}
    base = load_settings(environ={}).replace(row_limit=ROWS, upload_dir=str(tmp_path / "uploads"),
                                             queue_name=f"crash-{uuid.uuid4().hex[:12]}", **queue)
    crashed = base.replace(database_url=_database(request.param, tmp_path, "crashed", cleanups))
    clean = base.replace(database_url=_database(request.param, tmp_path, "clean", cleanups),
                         queue_name=f"{base.queue_name}-clean")
    yield crashed, clean
    if request.param == "postgresql":
        make_huey(crashed).flush()  # this test's queue keys only
    for cleanup in cleanups:
        cleanup()


@pytest.fixture(scope="module")
def customers_file(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("crash") / "customers.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        write_customers(out, ROWS, seed=11, companies=COMPANIES)
    return path


def prepared(settings: Settings) -> Services:
    """Migrated, with the labels, custom fields and companies the generated file names."""
    services = bootstrap(settings)
    engine = services.store.engine  # type: ignore[attr-defined]
    add_labels(engine, LABELS)
    for number in range(1, COMPANIES + 1):
        add_company(engine, f"Company {number}")
    for variable, field_type, choices in CUSTOM_FIELDS:
        add_custom_field(engine, variable, FieldType(field_type), choices)
    return services


def queue_upload(services: Services, source: Path, folder: Path) -> int:
    """An uploaded file with a queued import of it, as the web importer records them; returns the job id."""
    engine = services.store.engine  # type: ignore[attr-defined]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(source.read_bytes())
    upload_id = uploads.new_upload_id()
    uploads.add_upload(engine, upload_id, kind="customers", file_name="customers.csv", actor="admin@example.com",
                         path=str(path), size=path.stat().st_size)
    job_id = services.store.start_job("customers", file_name="customers.csv", actor="admin@example.com",
                                      dry_run=False, options={})
    import_queue.queue_import(engine, job_id, upload_id, is_dry_run=False, mapping={}, defaults={}, options={},
                           all_or_nothing=None)
    return job_id


def start_worker(settings: Settings, log: Path) -> subprocess.Popen:
    return start_contact_importer(["worker", "--workers", "2", "--max-delay", "0.2"], log=log, settings=settings,
                                  env={"CONTACT_IMPORTER_ROW_LIMIT": str(ROWS)})


def job_state(engine: Engine, job_id: int) -> tuple[str, int]:
    with engine.connect() as connection:
        return tuple(connection.execute(select(import_jobs.c.status, import_jobs.c.rows_done)  # type: ignore[return-value]
                                        .where(import_jobs.c.id == job_id)).one())


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_a_worker_stopped_mid_import_loses_nothing_and_the_next_one_finishes_it_as_one_run_would(
        backends, customers_file, tmp_path, sig):
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")  # to run the same kill again: random.Random(seed) decides when it comes
    crashed_settings, clean_settings = backends
    clean = prepared(clean_settings)
    clean_job = queue_upload(clean, customers_file, tmp_path / "clean-uploads")
    assert run_queued_import(clean, clean_job) == "partial"  # the generated file has a few bad rows on purpose
    expected = import_snapshot(clean.store.engine, clean_job)  # type: ignore[attr-defined]

    services = prepared(crashed_settings)
    engine = services.store.engine  # type: ignore[attr-defined]
    job_id = queue_upload(services, customers_file, Path(crashed_settings.upload_dir))
    assert job_id == clean_job
    make_import_queue(services).enqueue(job_id)
    batches = ROWS // crashed_settings.batch_size
    kill_after = random.Random(seed).randint(2, batches * 3 // 4)  # batches committed before the signal
    log = tmp_path / "workers.log"
    first = start_worker(crashed_settings, log)
    try:
        wait_until(lambda: job_state(engine, job_id)[1] >= kill_after * crashed_settings.batch_size, timeout=60,
                   what=f"{kill_after} batches", log=log)
        stop_group(first, sig)
        status, rows_done = job_state(engine, job_id)
        assert (status, 0 < rows_done < ROWS) == ("running", True), f"seed {seed}: {status}, {rows_done} rows"
        assert rows_done % crashed_settings.batch_size == 0  # whole batches only
        second = start_worker(crashed_settings, log)
        try:
            wait_until(lambda: job_state(engine, job_id)[0] not in ("queued", "running"), timeout=90,
                       what="the import to end", log=log)
        finally:
            stop_group(second, signal.SIGTERM)
        assert second.returncode == 0
        found = import_snapshot(engine, job_id)
        problems = differences(expected, found)
        assert not problems, f"seed {seed}, stopped after {rows_done} rows: {problems}"
        assert found["job"][0][0] == "partial" and found["job"][0][2] == ROWS  # type: ignore[index]
        with engine.connect() as connection:
            assert connection.execute(select(import_jobs.c.claimed_by)
                                      .where(import_jobs.c.id == job_id)).scalar_one() is None
    finally:
        if first.poll() is None:
            stop_group(first, signal.SIGKILL)
        services.store.engine.dispose()  # type: ignore[attr-defined]
        clean.store.engine.dispose()  # type: ignore[attr-defined]


# ---- imports run by the CLI (no worker, no queue): their process dies, or they raise


def cli_environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTACT_IMPORTER_")}
    env.update(CONTACT_IMPORTER_DATABASE_URL=settings.database_url, CONTACT_IMPORTER_ROW_LIMIT=str(ROWS), **extra)
    return env


def cli(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([WORKER, *args], env=cli_environment(settings, **extra), capture_output=True, text=True,
                          timeout=300)


def test_a_cli_import_killed_mid_way_shows_as_interrupted_with_its_rows_and_importing_again_finishes_it(
        backends, customers_file, tmp_path):
    settings, _ = backends
    services = prepared(settings)
    engine = services.store.engine  # type: ignore[attr-defined]
    output = tmp_path / "killed.out"
    with output.open("wb") as handle:
        process = subprocess.Popen([WORKER, "import", "customers", str(customers_file), "--json"],
                                   env=cli_environment(settings), stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        def applying() -> int | None:
            with engine.connect() as connection:
                found = connection.execute(select(import_jobs.c.id, import_jobs.c.rows_done)).all()
            return found[0][0] if found and found[0][1] >= 2 * settings.batch_size else None

        job_id = wait_until(applying, timeout=120, what="two batches of the CLI import", log=output)
        stop_group(process, signal.SIGKILL)  # nothing of the import can run now
    finally:
        if process.poll() is None:
            stop_group(process, signal.SIGKILL)
    status, rows_done = job_state(engine, job_id)
    assert status == "running" and 0 < rows_done < ROWS, (status, rows_done)  # as the killed process left it

    listed = cli(settings, "jobs", "--json")
    assert listed.returncode == 0, listed.stderr
    [job] = [job for job in json.loads(listed.stdout) if job["job"] == job_id]
    assert job["status"] == "failed", job
    assert job["message"].startswith("Interrupted") and f"first {rows_done:,} rows were applied" in job["message"], job
    assert "import the same file again" in job["message"], job
    assert job["rows"] == rows_done
    shown = cli(settings, "job", str(job_id))
    assert shown.returncode == 0 and "failed" in shown.stdout and "Interrupted" in shown.stdout, shown.stdout
    with engine.connect() as connection:
        applied = connection.execute(text("SELECT count(*) FROM import_rows WHERE job_id = :job AND action = 'created'"),
                                     {"job": job_id}).scalar_one()
    assert job["created"] == applied

    again = cli(settings, "import", "customers", str(customers_file), "--json")
    assert again.returncode == 1, again.stderr[-3000:]  # partial: the generated file has a few bad rows on purpose
    report = json.loads(again.stdout)
    assert report["status"] == "partial" and report["rows"] == ROWS, report
    with engine.connect() as connection:
        contacts, distinct = connection.execute(text("SELECT count(*), count(DISTINCT email_key) FROM contacts")).one()
    assert contacts == distinct == ROWS - report["failed"]
    assert job["created"] + report["created"] == contacts  # what the first run created is not created again
    engine.dispose()


def test_a_cli_import_that_raises_is_marked_failed_and_still_prints_its_json_and_exit_status(backends, tmp_path):
    settings, _ = backends
    services = prepared(settings)
    engine = services.store.engine  # type: ignore[attr-defined]
    people = tmp_path / "people.csv"
    people.write_text("email,first_name\n" + "".join(f"p{n}@example.com,P{n}\n" for n in range(1, 31)))
    with engine.begin() as connection:  # the database refuses row 27 (p26): batches of 10 rows, two applied
        if settings.database_url.startswith("sqlite"):
            connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON contacts WHEN NEW.email_key = "
                                    "'p26@example.com' BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END"))
        else:
            connection.execute(text("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.email_key = "
                                    "'p26@example.com' THEN RAISE EXCEPTION 'refused by a trigger'; END IF; "
                                    "RETURN NEW; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON contacts FOR EACH ROW "
                                    "EXECUTE FUNCTION refuse()"))

    result = cli(settings, "import", "customers", str(people), "--json", CONTACT_IMPORTER_BATCH_SIZE="10")

    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr[-3000:])
    report = json.loads(result.stdout)
    assert (report["status"], report["rows"], report["created"]) == ("failed", 20, 20), report
    assert "first 20 rows were applied" in report["message"] and "import the same file again" in report["message"]
    assert job_state(engine, report["job"]) == ("failed", 20)
    shown = json.loads(cli(settings, "job", str(report["job"]), "--json").stdout)
    assert (shown["status"], shown["rows"], shown["created"]) == ("failed", 20, 20), shown
    with engine.connect() as connection:
        assert connection.execute(select(import_jobs.c.claimed_by)
                                  .where(import_jobs.c.id == report["job"])).scalar_one() is None
    engine.dispose()
