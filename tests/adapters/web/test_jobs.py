"""The job task on its own: an interrupted import runs again safely, the reaper puts back stalled ones."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from adapters.db import web_state
from adapters.db.models import Contact, ImportJob
from adapters.jobs import make_import_queue, reap_imports, run_queued_import
from adapters.web.host import create_app
from tests.adapters.web.conftest import ADMIN, Browser, customers_csv, files_in


class Interrupted(Exception):
    """Stands in for a worker stopped in the middle of an import."""


@pytest.fixture
def queued(web_settings, web_services):  # type: ignore[no-untyped-def]
    """An app whose queue nobody consumes: imports stay queued until a test runs them."""
    app = create_app(web_settings, services=web_services, queue=make_import_queue(web_services))
    admin = Browser(app.test_client())
    admin.sign_in(ADMIN)
    return admin


def contacts(services) -> int:  # type: ignore[no-untyped-def]
    with services.store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Contact)).scalar_one()


def test_an_import_cut_short_runs_again_without_writing_a_row_twice(queued, web_services, web_settings):
    job_id = queued.post_import(customers_csv(12)).json["job"]
    request = web_state.get_queued_import(web_services.store.engine, job_id)

    def stop_after_first_batch(done: int, total: int) -> None:
        if done:
            raise Interrupted

    with pytest.raises(Interrupted), open(request.upload.path, "rb") as source:
        web_services.import_file("customers", source, file_name="p.csv", actor=ADMIN, job_id=job_id,
                                 progress=stop_after_first_batch)
    assert contacts(web_services) == web_settings.batch_size  # one batch was committed
    assert run_queued_import(web_services, job_id) == "succeeded"
    assert contacts(web_services) == 12
    document = queued.client.get(f"/api/v1/imports/{job_id}").json
    assert (document["rows"], document["created"] + document["unchanged"], document["failed"]) == (12, 12, 0)
    assert run_queued_import(web_services, job_id) == "succeeded"  # a duplicate delivery does nothing
    assert contacts(web_services) == 12 and files_in(web_settings.upload_dir) == []


def test_the_reaper_puts_back_imports_that_stopped_making_progress(queued, web_services):
    engine = web_services.store.engine
    quiet, lively = (queued.post_import(customers_csv(rows)).json["job"] for rows in (3, 4))  # not a double submit
    long_ago = web_services.store.now() - timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(update(ImportJob).where(ImportJob.id == quiet).values(status="running", heartbeat_at=long_ago))
        connection.execute(update(ImportJob).where(ImportJob.id == lively).values(
            status="running", heartbeat_at=web_services.store.now()))
    enqueued: list[int] = []
    assert reap_imports(web_services, enqueue=enqueued.append) == [quiet]
    assert enqueued == [quiet]
    assert run_queued_import(web_services, quiet) == "succeeded"


def test_a_missing_upload_fails_the_import_with_a_message(queued, web_services):
    job_id = queued.post_import(customers_csv(3)).json["job"]
    request = web_state.get_queued_import(web_services.store.engine, job_id)
    Path(request.upload.path).unlink()
    assert run_queued_import(web_services, job_id) == "failed"
    document = queued.client.get(f"/api/v1/imports/{job_id}").json
    assert document["code"] == "upload.missing" and "upload it again" in document["message"]
