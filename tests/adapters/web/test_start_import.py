"""Starting a web import is one transaction: the job and its queued import are committed together, then enqueued.
A failure before the commit leaves nothing; a failure after it (the queue is down) leaves a queued import the
reaper enqueues again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from adapters.db.catalog import utc_now
from adapters.db.import_queue import web_queued_imports
from adapters.db.models import contacts, import_jobs
from adapters.jobs import make_import_queue, reap_imports, run_queued_import
from adapters.web import blueprint
from adapters.web.host import create_app
from adapters.web.security import as_web_user
from tests.adapters.web.conftest import ADMIN, Browser, customers_csv


class QueueDown(ConnectionError):
    """The queue's broker refused the job (Redis gone, the SQLite queue file locked)."""


def refuse(job_id: int) -> None:
    raise QueueDown(f"could not enqueue import {job_id}")


def queued_jobs_without_their_request(engine: Engine) -> list[int]:
    """Jobs waiting for a worker that no worker or reaper could ever run: nothing says what they are to do."""
    with engine.connect() as connection:
        return list(connection.execute(
            select(import_jobs.c.id).outerjoin(web_queued_imports,
                                               web_queued_imports.c.job_id == import_jobs.c.id)
            .where(web_queued_imports.c.job_id.is_(None), import_jobs.c.status == "queued")).scalars())


def queued_jobs(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(select(import_jobs.c.id).where(import_jobs.c.status == "queued"))
                    .scalars())


@pytest.fixture
def broken_queue_app(web_settings, web_services):  # type: ignore[no-untyped-def]
    queue = make_import_queue(web_services)
    queue.enqueue = refuse  # type: ignore[method-assign]
    return create_app(web_settings, services=web_services, queue=queue)


def test_an_import_whose_enqueue_fails_stays_queued_and_the_reaper_enqueues_and_finishes_it(
        broken_queue_app, web_services):  # type: ignore[no-untyped-def]
    admin = Browser(broken_queue_app.test_client())
    admin.sign_in(ADMIN)
    engine = web_services.store.engine
    assert admin.post_import(customers_csv(3)).status_code == 500
    [job_id] = queued_jobs(engine)
    assert queued_jobs_without_their_request(engine) == []
    with engine.begin() as connection:  # as if the queue had been down longer than stale_import_minutes
        connection.execute(update(web_queued_imports).where(web_queued_imports.c.job_id == job_id)
                           .values(enqueued_at=utc_now() - timedelta(hours=1)))
    enqueued: list[int] = []
    assert reap_imports(web_services, enqueue=enqueued.append) == [job_id] == enqueued
    assert run_queued_import(web_services, job_id) == "succeeded"
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(contacts)).scalar_one() == 3


def test_a_start_that_fails_before_its_queued_import_is_written_leaves_no_job(broken_queue_app, web_services):  # type: ignore[no-untyped-def]
    engine = web_services.store.engine
    path = f"{web_services.settings.upload_dir}/people.csv"
    upload = web_services.uploads.add(web_services.uploads.new_id(), kind="customers", file_name="people.csv",
                                      actor=ADMIN, path=path, size=1, headers=["email"])
    options = web_services.imports.read_options("customers", {})
    unstorable = {"email": object()}  # the queued import's mapping cannot be written: its insert fails
    with broken_queue_app.test_request_context():
        actor = as_web_user(web_services.people.account_for_email(ADMIN))
        with pytest.raises(Exception) as raised:
            blueprint.start_import(upload, actor=actor, is_dry_run=False, mapping=unstorable,  # type: ignore[arg-type]
                                   options=options)
    assert not isinstance(raised.value, QueueDown)  # it failed before the enqueue
    assert queued_jobs(engine) == []
    assert queued_jobs_without_their_request(engine) == []
