"""A slow step inside a batch (hashing agents' passwords) shows how far it is while it runs, and that figure is
for display only: a run killed in the middle of hashing resumes from the rows it committed, as if it had never
been shown. Real databases (SQLite, PostgreSQL), the real pipeline and worker function, a real Argon2 hasher
made slow on purpose."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from adapters.bootstrap import bootstrap
from adapters.db import import_queue, uploads
from adapters.db.engine import make_engine
from adapters.db.models import import_jobs
from adapters.jobs import run_queued_import
from plugin.ports import PasswordHasher
from plugin.services import Services
from plugin.settings import Settings

AGENTS = 80
BATCH = 40
SECONDS_A_HASH = 0.05  # a batch's hashing takes 2 s: its progress is said at least twice before its commit


class Killed(BaseException):
    """The process died here (SIGKILL): nothing after it runs, no handler sees it, the job stays running."""


class SlowHasher:
    """The real (cheap) Argon2 hasher, one password at a time and slow, telling `watch` after each hash; it can
    die after `die_after` hashes in all."""

    def __init__(self, hasher: PasswordHasher, watch: Callable[[], None] = lambda: None, die_after: int | None = None):
        self.hasher, self.watch, self.die_after, self.hashed = hasher, watch, die_after, 0

    def hash_many(self, passwords: Sequence[str], *, on_progress: Callable[[int], None] | None = None) -> list[str]:
        hashes = []
        for password in passwords:
            if self.hashed == self.die_after:
                raise Killed()
            time.sleep(SECONDS_A_HASH)
            hashes.extend(self.hasher.hash_many([password]))
            self.hashed += 1
            if on_progress is not None:
                on_progress(1)
            self.watch()
        return hashes

    def verify(self, password: str, stored_hash: str | None) -> bool:
        return self.hasher.verify(password, stored_hash)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.needs_rehash(stored_hash)


def agents_csv() -> bytes:
    lines = ["email,first_name,last_name,password,role"]
    lines += [f"agent{number}@example.com,Agent,Number{number},secret-{number:04},agent" for number in range(1, AGENTS + 1)]
    return ("\n".join(lines) + "\n").encode()


def queue_agents_import(services: Services, folder: Path) -> int:
    """An uploaded agents file and its queued import, as the web importer records them; returns the job id."""
    engine = services.store.engine  # type: ignore[attr-defined]
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(agents_csv())
    upload_id = uploads.new_upload_id()
    uploads.add_upload(engine, upload_id, kind="users", file_name="agents.csv", actor="admin@example.com",
                       path=str(path), size=path.stat().st_size)
    job_id = services.store.start_job("users", file_name="agents.csv", actor="admin@example.com", dry_run=False,
                                      options={})
    import_queue.queue_import(engine, job_id, upload_id, is_dry_run=False, mapping={}, defaults={}, options={},
                              all_or_nothing=None)
    return job_id


def job_row(engine: Engine, job_id: int) -> tuple[str, int, int]:
    with engine.connect() as connection:
        found = connection.execute(select(import_jobs.c.status, import_jobs.c.rows_done,
                                          import_jobs.c.rows_seen)
                                   .where(import_jobs.c.id == job_id)).one()
    return found.status, found.rows_done, found.rows_seen


def agents_and_results(services: Services, job_id: int) -> tuple[list[tuple], list[tuple]]:
    """The stored agents (what a person sees of them) and the job's per-row results."""
    summary = services.history.get_job(job_id)
    assert summary is not None
    rows = services.history.row_results(job_id, limit=AGENTS * 2)
    with services.store.engine.connect() as connection:  # type: ignore[attr-defined]
        agents = connection.exec_driver_sql(
            "SELECT email, first_name, last_name, username, role, is_active FROM agents ORDER BY email").all()
    counts = (summary.status, summary.rows_done, summary.created, summary.updated, summary.failed)
    return [counts, *[tuple(agent) for agent in agents]], [(row["row"], row["action"]) for row in rows]


@pytest.fixture
def agent_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.replace(row_limit=AGENTS, batch_size=BATCH, upload_dir=str(tmp_path / "uploads"))


def test_hashing_a_batch_says_how_far_it_is_while_the_committed_rows_stay_where_they_were(
        agent_settings: Settings, fast_hasher: PasswordHasher, tmp_path: Path) -> None:
    watcher = make_engine(agent_settings.resolved_database_url)
    seen: list[tuple[str, int, int]] = []
    services = bootstrap(agent_settings, hasher=SlowHasher(fast_hasher, lambda: seen.append(job_row(watcher, job_id))))
    job_id = queue_agents_import(services, tmp_path)

    assert run_queued_import(services, job_id) == "succeeded"

    first_batch = [rows_seen for status, rows_done, rows_seen in seen if rows_done == 0]
    assert len(first_batch) == BATCH  # every hash of the first batch was watched before its commit
    assert len(set(first_batch) - {0}) >= 2, first_batch  # said more than once inside one batch
    assert max(first_batch) > 1 and first_batch == sorted(first_batch)
    assert {rows_done for _, rows_done, _ in seen} == {0, BATCH}  # the resume state moved only with commits
    assert all(rows_seen <= BATCH + rows_done for _, rows_done, rows_seen in seen)
    assert job_row(watcher, job_id) == ("succeeded", AGENTS, AGENTS)
    services.close()
    watcher.dispose()


def test_a_run_killed_while_hashing_resumes_from_its_committed_rows_and_ends_as_one_uninterrupted_run(
        agent_settings: Settings, fast_hasher: PasswordHasher, tmp_path: Path) -> None:
    killed_here = BATCH + BATCH // 2 + 5  # well into the second batch's hashing, after its progress was said
    killed = bootstrap(agent_settings, hasher=SlowHasher(fast_hasher, die_after=killed_here))
    job_id = queue_agents_import(killed, tmp_path)
    with pytest.raises(Killed):
        run_queued_import(killed, job_id)
    killed.close()
    engine = make_engine(agent_settings.resolved_database_url)
    status, rows_done, rows_seen = job_row(engine, job_id)
    assert (status, rows_done) == ("running", BATCH)  # what a resumed run goes by: the first batch, committed
    assert rows_seen > BATCH  # the page had been shown part of the second
    engine.dispose()

    resumed = bootstrap(agent_settings, hasher=SlowHasher(fast_hasher))
    assert run_queued_import(resumed, job_id) == "succeeded"
    after_resume = agents_and_results(resumed, job_id)
    resumed.close()

    clean_settings = agent_settings.replace(database_url=f"sqlite:///{tmp_path}/clean.db")
    clean = bootstrap(clean_settings, hasher=fast_hasher)
    clean_job = queue_agents_import(clean, tmp_path)
    assert run_queued_import(clean, clean_job) == "succeeded"
    assert after_resume == agents_and_results(clean, clean_job)
    assert after_resume[0][0] == ("succeeded", AGENTS, AGENTS, 0, 0)
    clean.close()


def test_a_figure_said_while_the_batch_holds_the_job_row_is_dropped_instead_of_waited_for(
        agent_settings: Settings, fast_hasher: PasswordHasher) -> None:
    """A step inside the batch's own transaction (a batch planned again as it is written hashes again) cannot
    wait for that transaction's lock: it would wait for itself. The figure is dropped; the commit says it."""
    services = bootstrap(agent_settings, hasher=fast_hasher)
    store = services.store
    job_id = store.start_job("users", file_name="agents.csv", actor="admin@example.com", dry_run=False, options={})
    engine = store.engine  # type: ignore[attr-defined]
    with engine.begin() as batch:  # as apply_batch does first: the job's row, written, so locked until the commit
        batch.execute(import_jobs.update().where(import_jobs.c.id == job_id).values(rows_done=0))
        store.record_progress(job_id, 7)  # from the same thread, while that transaction is open
    assert job_row(engine, job_id)[2] == 0  # dropped, and the batch's transaction went on

    store.record_progress(job_id, 7)
    assert job_row(engine, job_id)[2] == 7  # with nobody holding the row, it is written
    services.close()
