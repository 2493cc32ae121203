"""The job task on its own: an interrupted import runs again safely, the reaper puts back stalled ones."""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from adapters.db import import_queue, worker_claims
from adapters.db.catalog import utc_now
from adapters.db.models import contacts, import_jobs
from adapters.db.store import ClaimLost
from adapters.jobs import MAX_ATTEMPTS, holder_is_dead, make_import_queue, reap_imports, run_queued_import
from adapters.web.host import create_app
from tests.adapters.web.conftest import ADMIN, Browser, customers_csv, files_in


class Interrupted(BaseException):
    """Stands in for a worker killed in the middle of an import: not an Exception, which the import would
    catch and end its job as failed (plugin.ended_early); like SIGKILL, nothing of the import runs after it."""


@pytest.fixture
def queued(web_settings, web_services):  # type: ignore[no-untyped-def]
    """An app whose queue nobody consumes: imports stay queued until a test runs them."""
    app = create_app(web_settings, services=web_services, queue=make_import_queue(web_services))
    admin = Browser(app.test_client())
    admin.sign_in(ADMIN)
    return admin


def contact_count(services) -> int:  # type: ignore[no-untyped-def]
    with services.store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(contacts)).scalar_one()


def test_an_import_cut_short_resumes_after_its_last_batch_and_counts_as_one_run(queued, web_services, web_settings):
    job_id = queued.post_import(customers_csv(12)).json["job"]
    request = import_queue.get_queued_import(web_services.store.engine, job_id)

    def stop_after_first_batch(done: int, total: int) -> None:
        if done:
            raise Interrupted

    with pytest.raises(Interrupted), open(request.upload.path, "rb") as source:
        web_services.imports.import_file("customers", source, file_name="p.csv", actor=ADMIN, job_id=job_id,
                                 progress=stop_after_first_batch)
    assert contact_count(web_services) == web_settings.batch_size  # one batch was committed
    assert run_queued_import(web_services, job_id) == "succeeded"
    assert contact_count(web_services) == 12
    document = queued.client.get(f"/api/v1/imports/{job_id}").json
    assert (document["rows"], document["created"], document["unchanged"], document["failed"]) == (12, 12, 0, 0)
    assert run_queued_import(web_services, job_id) == "succeeded"  # a duplicate delivery does nothing
    assert contact_count(web_services) == 12 and files_in(web_settings.upload_dir) == []


def test_the_reaper_puts_back_imports_that_stopped_making_progress(queued, web_services):
    engine = web_services.store.engine
    quiet, lively = (queued.post_import(customers_csv(rows)).json["job"] for rows in (3, 4))  # not a double submit
    long_ago = web_services.store.now() - timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(update(import_jobs).where(import_jobs.c.id == quiet)
                           .values(status="running", heartbeat_at=long_ago))
        connection.execute(update(import_jobs).where(import_jobs.c.id == lively).values(
            status="running", heartbeat_at=web_services.store.now()))
    enqueued: list[int] = []
    assert reap_imports(web_services, enqueue=enqueued.append) == [quiet]
    assert enqueued == [quiet]
    assert run_queued_import(web_services, quiet) == "succeeded"


def test_a_missing_upload_fails_the_import_with_a_message(queued, web_services):
    job_id = queued.post_import(customers_csv(3)).json["job"]
    request = import_queue.get_queued_import(web_services.store.engine, job_id)
    Path(request.upload.path).unlink()
    assert run_queued_import(web_services, job_id) == "failed"
    document = queued.client.get(f"/api/v1/imports/{job_id}").json
    assert document["code"] == "upload.missing" and "upload it again" in document["message"]


def claim_for(pid: int, token: str = "other-worker") -> worker_claims.WorkerClaim:
    return worker_claims.WorkerClaim(token, socket.gethostname(), pid)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()  # gone, and waited for: no zombie
    return process.pid


def claim(services, job_id: int, holder: worker_claims.WorkerClaim) -> bool:  # type: ignore[no-untyped-def]
    return worker_claims.claim_job(services.store.engine, job_id, holder, is_dead=holder_is_dead,
                               stale_before=utc_now() - timedelta(minutes=services.settings.stale_import_minutes))


def test_an_import_a_live_worker_holds_is_not_run_by_another(queued, web_services):
    job_id = queued.post_import(customers_csv(3)).json["job"]
    assert claim(web_services, job_id, claim_for(os.getpid()))  # this test's process: alive
    assert not claim(web_services, job_id, claim_for(os.getpid(), "a-third-worker"))
    assert run_queued_import(web_services, job_id) == "busy"
    assert reap_imports(web_services, enqueue=lambda _: None) == []  # its heartbeat is fresh, its holder alive
    assert contact_count(web_services) == 0


def test_an_import_held_by_a_dead_process_of_this_machine_is_taken_back_at_once(queued, web_services):
    job_id = queued.post_import(customers_csv(3)).json["job"]
    assert claim(web_services, job_id, claim_for(dead_pid()))
    enqueued: list[int] = []
    assert reap_imports(web_services, enqueue=enqueued.append) == [job_id]
    assert reap_imports(web_services, enqueue=enqueued.append) == []  # taken back once: enqueued once
    assert enqueued == [job_id]
    assert run_queued_import(web_services, job_id) == "succeeded" and contact_count(web_services) == 3


def test_a_worker_that_lost_its_claim_writes_nothing_more(queued, web_services):
    job_id = queued.post_import(customers_csv(12)).json["job"]
    request = import_queue.get_queued_import(web_services.store.engine, job_id)
    assert claim(web_services, job_id, claim_for(os.getpid(), "the-new-holder"))
    with pytest.raises(ClaimLost), web_services.store.holding_claim(job_id, "the-old-holder"), \
            open(request.upload.path, "rb") as source:
        web_services.imports.import_file("customers", source, file_name="p.csv", actor=ADMIN, job_id=job_id)
    with web_services.store.engine.connect() as connection:
        rows_done = connection.execute(select(import_jobs.c.rows_done)
                                       .where(import_jobs.c.id == job_id)).scalar_one()
    assert contact_count(web_services) == 0 and rows_done == 0  # the batch that found out was rolled back


def test_an_import_whose_worker_died_too_often_fails_with_a_message(queued, web_services):
    job_id = queued.post_import(customers_csv(3)).json["job"]
    for attempt in range(MAX_ATTEMPTS):
        assert claim(web_services, job_id, claim_for(dead_pid(), f"worker-{attempt}"))
    assert reap_imports(web_services, enqueue=lambda _: None) == []
    document = queued.client.get(f"/api/v1/imports/{job_id}").json
    assert (document["status"], document["code"]) == ("failed", "import.worker_lost")
    assert f"stopped {MAX_ATTEMPTS} times" in document["message"]
