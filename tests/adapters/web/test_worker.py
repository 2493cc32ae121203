"""Jobs driven by a real `contact-importer worker` process: on the SQLite queue and on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
import uuid

import pytest
from sqlalchemy import func, select

from adapters.db.models import contacts, import_jobs, import_rows
from adapters.jobs import make_huey, make_import_queue
from adapters.web.host import create_app
from tests.conftest import reachable_redis_url
from tests.adapters.web.conftest import ADMIN, WORKER, Browser, customers_csv, files_in, wait_for, worker_environment


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.slow)])
def queue_settings(request, web_settings):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield web_settings
        return
    settings = web_settings.replace(redis_url=reachable_redis_url(), queue_name=f"worker-{uuid.uuid4().hex}")
    yield settings
    make_huey(settings).storage.flush_all()  # only this test's queue: the Redis database is shared


@pytest.fixture
def queued_app(queue_settings, web_services):  # type: ignore[no-untyped-def]
    web_services.settings = queue_settings
    return create_app(queue_settings, services=web_services, queue=make_import_queue(web_services))


def job(browser: Browser, job_id: int) -> dict:
    return browser.client.get(f"/api/v1/imports/{job_id}").json


@pytest.mark.parametrize("worker_type", ["thread", "process"])
def test_a_worker_process_runs_an_api_import_to_the_end(queued_app, queue_settings, start_worker, worker_type):
    admin = Browser(queued_app.test_client())
    admin.sign_in(ADMIN)
    response = admin.post_import(customers_csv(40, bad_every=10), file_name=f"{uuid.uuid4().hex}.csv")
    assert response.status_code == 202
    job_id = response.json["job"]
    assert job(admin, job_id)["status"] == "queued"  # nobody has taken it yet
    assert len(files_in(queue_settings.upload_dir)) == 1
    start_worker(queue_settings, "--worker-type", worker_type)
    done = wait_for(lambda: (found := job(admin, job_id))["is_finished"] and found, what="the import to end")
    assert (done["status"], done["created"], done["failed"]) == ("partial", 36, 4)
    assert done["progress"]["percent"] == 100
    # The worker deletes the upload and notifies just after it records the result.
    wait_for(lambda: files_in(queue_settings.upload_dir) == [], timeout=10, what="the upload to be deleted")
    wait_for(lambda: admin.client.get("/notifications/count").json == {"unread": 1}, timeout=10, what="the notification")


def test_sigterm_stops_the_running_import_after_its_batch_and_the_next_worker_finishes_it(
        queued_app, queue_settings, start_worker, web_services):
    slow = queue_settings.replace(batch_size=1)  # many small batches: the import runs for a few seconds
    web_services.settings = slow
    admin = Browser(queued_app.test_client())
    admin.sign_in(ADMIN)
    worker = start_worker(slow, "--workers", "1")
    job_id = admin.post_import(customers_csv(1500)).json["job"]
    wait_for(lambda: 0 < job(admin, job_id)["progress"]["done"] < 1000, what="the import to be under way")
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(20) == 0, worker.output()  # at once: it does not wait for the whole import
    assert f"import {job_id} stopped after" in worker.output()
    stopped = job(admin, job_id)
    assert stopped["status"] == "running" and 0 < stopped["progress"]["done"] < 1500
    with web_services.store.engine.connect() as connection:
        assert connection.execute(select(import_jobs.c.claimed_by)
                                  .where(import_jobs.c.id == job_id)).scalar_one() is None
    start_worker(slow, "--workers", "1")  # takes the import from the queue, where the stopped worker put it
    done = wait_for(lambda: (found := job(admin, job_id))["is_finished"] and found, timeout=120,
                    what="the import to end")
    assert (done["status"], done["rows"], done["created"], done["unchanged"]) == ("succeeded", 1500, 1500, 0)
    with web_services.store.engine.connect() as connection:
        results = connection.execute(select(import_rows.c.action, func.count())
                                     .where(import_rows.c.job_id == job_id)
                                     .group_by(import_rows.c.action)).all()
        stored = connection.execute(select(func.count()).select_from(contacts)).scalar_one()
    assert dict(results) == {"created": 1500} and stored == 1500


def test_serve_prints_the_url_and_how_to_sign_in_runs_a_worker_and_stops_on_sigterm(web_settings, tmp_path):
    env = worker_environment(web_settings, CONTACT_IMPORTER_SECRET_KEY="serve-test-" + "k" * 32)
    server = subprocess.Popen([WORKER, "serve", "--port", "0"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        url_line = server.stdout.readline().strip()
        assert url_line.startswith("Contact importer: http://127.0.0.1:"), url_line
        how = server.stdout.readline()
        assert "contact-importer users create-admin EMAIL" in how
        url = url_line.split(": ", 1)[1]
        with urllib.request.urlopen(url + "/sign-in") as response:
            assert response.status == 200 and "script-src 'self'" in response.headers["Content-Security-Policy"]
        worker_line = server.stdout.readline()
        assert "worker process" in worker_line and "SQLite queue" in worker_line
        worker_pid = int(worker_line.split("worker process ")[1].split()[0])
        os.kill(worker_pid, 0)  # running
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
        wait_for(lambda: not _is_running(worker_pid), timeout=15, what="the worker to stop")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)
        server.stdout.close()


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has stopped
        return stat.read().split()[2] != "Z"
