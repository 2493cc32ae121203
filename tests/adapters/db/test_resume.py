"""An import stopped between batches and run again resumes: the database, the per-row results and the counts
come out exactly as one uninterrupted run's, on SQLite and PostgreSQL (batches of 7 rows, conftest)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select, text

from adapters.bootstrap import bootstrap
from adapters.db.accounts import authenticate
from tests.catalog import add_company, add_custom_field, add_labels
from adapters.db.engine import make_engine
from adapters.db.models import import_jobs
from adapters.passwords import Argon2Hasher
from plugin.errors import ImportStopped
from plugin.kinds import FieldType
from plugin.services import Services
from plugin.settings import Settings
from tests.adapters.snapshots import differences, import_snapshot
from tests.conftest import drop_postgres_schema, throwaway_postgres_url
from tests.conftest import FAST_HASHES

EXISTING = "email,first_name,labels\nkeep@example.com,Old,Trial\nold.name@example.com,Olga,\n"
# 31 rows, rows 2 to 32, in 5 batches of 7 (rows 2-8, 9-15, 16-22, 23-29, 30-32): duplicates of an earlier
# batch's rows (in other letters), bad emails, updates of stored customers, labels, custom values, companies,
# a username given twice (in two batches), and usernames made from emails that collide.
CUSTOMERS = "\n".join([
    "email,first_name,last_name,labels,plan,company,username",
    "ann@example.com,Ann,One,VIP,gold,Acme,",
    "bob@example.com,Bob,Two,,silver,,bobby",
    "keep@example.com,Kept,Three,VIP,,,",
    "not-an-email,Bad,Four,,,,",
    "ann@other.example,Ann,Five,Trial,bronze,Newco,",
    "carl@example.com,Carl,Six,,,Acme,",
    "dora@example.com,Dora,Seven,Unknown,,,",
    "ANN@example.com,Ann,Again,,,,",  # row 9: a duplicate of row 2, in the next batch
    "erin@example.com,Erin,Nine,,gold,,bobby",  # row 10: username given on row 3
    "old.name@example.com,Olga,Ten,VIP,,,",
    "frank@example.com,Frank,Eleven,,platinum,,",
    "gina@example.com,Gina,Twelve,,,Newco,",
    "@example.com,No,Local,,,,",
    "hank@example.com,Hank,Fourteen,Trial:VIP,,,",
    "Keep@Example.com,Kept,Twice,,,,",  # row 16: a duplicate of row 4, two batches later
    *(f"person{n}@example.com,P{n},Row{n + 17},{'VIP' if n % 3 == 0 else ''},{'silver' if n % 2 else ''},"
      f"{'Acme' if n % 4 == 0 else ''}," for n in range(1, 15)),
    "person3@EXAMPLE.com,P3,Dup,,,,",  # row 31: a duplicate of row 19
    "ann@example.com,Ann,Last,,,,",  # row 32: a third twin of row 2
]) + "\n"


@pytest.fixture
def second_database(settings: Settings, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Another empty database of the same kind, for the uninterrupted run to compare with."""
    if settings.database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/clean.db"
        return
    url, schema = throwaway_postgres_url()
    yield url
    drop_postgres_schema(schema)


def prepared(settings: Settings, engine: Engine) -> Services:
    services = bootstrap(settings.replace(create_labels=False), engine=engine, hasher=Argon2Hasher(**FAST_HASHES))
    add_labels(engine, ["VIP", "Trial"])
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver", "bronze"])
    add_company(engine, "Acme")
    report = services.imports.import_file("customers", io.BytesIO(EXISTING.encode()), file_name="existing.csv")
    assert report.created == 2
    return services


@pytest.fixture
def clean_run(settings: Settings, second_database: str) -> Iterator[Callable[..., tuple[dict, dict]]]:
    engines: list[Engine] = []

    def run(kind: str, csv_text: str, **options: object) -> tuple[dict, dict]:
        engine = make_engine(second_database)
        engines.append(engine)
        services = prepared(settings, engine)
        report = services.imports.import_file(kind, io.BytesIO(csv_text.encode()), file_name="f.csv", actor="t", **options)  # type: ignore[arg-type]
        return report.as_dict(), import_snapshot(engine, report.job)  # type: ignore[arg-type]

    yield run
    for engine in engines:
        engine.dispose()


def stop_at_batch(number: int) -> Callable[[], bool]:
    """A should_stop that says yes before the number-th batch (counting every pass's batches from 1)."""
    asked = [0]

    def should_stop() -> bool:
        asked[0] += 1
        return asked[0] == number

    return should_stop


def interrupted_then_resumed(services: Services, kind: str, csv_text: str, stops: tuple[int, ...],
                             **options: object) -> tuple[dict, list[tuple[str, int]]]:
    """Run the import, each run stopped before its n-th batch (n from stops, in turn), then to its end."""
    engine = services.store.engine  # type: ignore[attr-defined]
    job_id = None
    seen: list[tuple[str, int]] = []
    for stop in stops:
        with pytest.raises(ImportStopped) as stopped:
            services.imports.import_file(kind, io.BytesIO(csv_text.encode()), file_name="f.csv", actor="t", job_id=job_id,
                                 should_stop=stop_at_batch(stop), **options)  # type: ignore[arg-type]
        job_id = stopped.value.job_id
        with engine.connect() as connection:
            seen.append(tuple(connection.execute(select(import_jobs.c.status, import_jobs.c.rows_done)
                                           .where(import_jobs.c.id == job_id)).one()))
    report = services.imports.import_file(kind, io.BytesIO(csv_text.encode()), file_name="f.csv", actor="t", job_id=job_id,
                                  **options)  # type: ignore[arg-type]
    return report.as_dict(), seen


@pytest.mark.parametrize("stops", [(2,), (4,), (2, 3, 2)], ids=["after-1-batch", "after-3-batches", "three-times"])
def test_an_import_stopped_between_batches_resumes_to_the_same_result_as_one_run(settings, engine, clean_run, stops):
    services = prepared(settings, engine)
    expected_report, expected = clean_run("customers", CUSTOMERS)
    report, seen = interrupted_then_resumed(services, "customers", CUSTOMERS, stops)
    assert seen[0] == ("running", 7 * (stops[0] - 1))  # whole batches committed, nothing of the next
    found = import_snapshot(engine, report["job"])
    assert not differences(expected, found), differences(expected, found)
    assert report == expected_report
    # the same file in other words: what the uninterrupted run did, row by row
    actions = [action for _, action, *_ in found["results"]]  # type: ignore[union-attr]
    assert (actions.count("created"), actions.count("updated"), actions.count("failed")) == (18, 2, 11)
    duplicate = next(errors for row, _, _, _, errors, _ in found["results"] if row == 16)  # type: ignore[union-attr]
    assert "duplicate of row 4" in duplicate[0]["message"]


# 17 valid rows, rows 2 to 18, in 3 batches: all-or-nothing applies them all.
VALID = "email,first_name,last_name,labels,plan,company\n" + "".join(
    f"valid{n}@example.com,V{n},W{n},{'VIP' if n % 2 else 'Trial'},{'gold' if n % 3 else ''},{'Acme' if n % 5 == 0 else ''}\n"
    for n in range(1, 17)) + "keep@example.com,Kept,Valid,VIP,silver,Acme\n"


def test_all_or_nothing_stopped_while_checking_starts_its_check_over(settings, engine, clean_run):
    services = prepared(settings, engine)
    expected_report, expected = clean_run("customers", VALID, all_or_nothing=True)
    assert (expected_report["status"], expected_report["created"], expected_report["updated"]) == ("succeeded", 16, 1)
    report, seen = interrupted_then_resumed(services, "customers", VALID, (3,), all_or_nothing=True)
    assert seen == [("checking", 14)]  # the check's results so far; no record written
    found = import_snapshot(engine, report["job"])
    assert not differences(expected, found), differences(expected, found)
    assert report == expected_report


def test_all_or_nothing_stopped_while_applying_carries_on_without_checking_again(settings, engine, clean_run):
    services = prepared(settings, engine)
    expected_report, expected = clean_run("customers", VALID, all_or_nothing=True)
    report, seen = interrupted_then_resumed(services, "customers", VALID, (5,), all_or_nothing=True)
    assert seen == [("running", 7)]  # 3 batches checked, then 1 applied: the check's results were replaced
    found = import_snapshot(engine, report["job"])
    assert not differences(expected, found), differences(expected, found)
    assert report == expected_report


def test_a_dry_run_stopped_midway_plans_again_from_the_top(settings, engine, clean_run):
    services = prepared(settings, engine)
    expected_report, expected = clean_run("customers", CUSTOMERS, dry_run=True)
    report, seen = interrupted_then_resumed(services, "customers", CUSTOMERS, (3,), dry_run=True)
    assert seen == [("running", 14)]
    found = import_snapshot(engine, report["job"])
    assert not differences(expected, found), differences(expected, found)
    assert report == expected_report


def test_an_agents_import_resumes_without_hashing_or_storing_passwords_again(settings, engine, clean_run):
    agents = "email,first_name,last_name,password,role\n" + "".join(
        f"agent{n}@example.com,A{n},B{n},{'pw-' + str(n) * 6 if n % 3 else ''},agent\n" for n in range(1, 18)
    ) + "agent4@EXAMPLE.com,Twin,Four,another-secret,agent\n"
    expected_report, _ = clean_run("users", agents)
    services = prepared(settings, engine)
    report, seen = interrupted_then_resumed(services, "users", agents, (3,))
    assert seen == [("running", 14)]
    assert report == expected_report and (report["created"], report["failed"]) == (17, 1)
    for n in (1, 8, 17):  # one from each batch: the password it was given works
        assert authenticate(engine, services.hasher, f"agent{n}@example.com", "pw-" + str(n) * 6) is not None
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT cells, changes FROM import_rows WHERE job_id = :job"),
                                    {"job": report["job"]}).all()
    assert not any("pw-" in str(cells) + str(changes) for cells, changes in stored)
