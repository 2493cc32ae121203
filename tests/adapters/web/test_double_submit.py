"""The same file submitted twice (a double click, a second upload) is recognised and the person is asked first:
same bytes, kind, mapping and options, by the same person, within duplicate_upload_minutes."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from adapters.bootstrap import bootstrap
from adapters.db.models import import_jobs
from adapters.db.uploads import web_uploads
from adapters.jobs import make_import_queue
from adapters.passwords import Argon2Hasher
from adapters.web.host import create_app
from tests.adapters.web.conftest import ADMIN, FAST_HASHES, SUPPORT_ADMIN, Browser, add_people, counts, files_in

PEOPLE = "email,first_name,last_name\nann@example.com,Ann,Lee\nbob@example.org,Bob,Stone\n"


def engine_of(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["contact_importer"].services.store.engine


def imports_started(app: Flask) -> int:
    return counts(engine_of(app))["import_jobs"]


# ---- the API


def test_the_same_file_again_is_409_with_the_earlier_job_and_queues_nothing(app, browser_for, web_settings):
    admin = browser_for(ADMIN)
    first = admin.post_import(PEOPLE)
    assert first.status_code == 202
    before = counts(engine_of(app))
    second = admin.post_import(PEOPLE, file_name="renamed.csv")
    assert second.status_code == 409, second.json
    assert (second.json["code"], second.json["job"]) == ("upload.duplicate", first.json["job"])
    assert re.fullmatch(rf"You imported this same file less than a minute ago \(import #{first.json['job']}\): "
                        r"send confirm_duplicate=true to import it again\.", second.json["message"])
    after = counts(engine_of(app))
    assert (after["import_jobs"], after["web_queued_imports"]) == (before["import_jobs"], before["web_queued_imports"])
    assert files_in(web_settings.upload_dir) == []  # the refused copy is not kept


def test_confirm_duplicate_imports_the_same_file_again(app, browser_for):
    admin = browser_for(ADMIN)
    first = admin.post_import(PEOPLE)
    again = admin.post_import(PEOPLE, confirm_duplicate="true")
    assert again.status_code == 202, again.json
    assert again.json["job"] != first.json["job"]
    document = admin.client.get(f"/api/v1/imports/{again.json['job']}").json
    assert (document["status"], document["unchanged"]) == ("succeeded", 2)


@pytest.mark.parametrize("change", [
    pytest.param({"csv_text": PEOPLE + "cy@example.com,Cy,Young\n"}, id="other-bytes"),
    pytest.param({"mapping": '{"last_name": ""}'}, id="other-mapping"),
    pytest.param({"options": '{"create_labels": true}'}, id="other-options"),
    pytest.param({"dry_run": "true"}, id="a-dry-run"),
])
def test_a_different_file_mapping_options_or_a_dry_run_is_not_a_duplicate(app, browser_for, change):
    admin = browser_for(ADMIN)
    assert admin.post_import(PEOPLE).status_code == 202
    csv_text = change.pop("csv_text", PEOPLE)
    assert admin.post_import(csv_text, **change).status_code == 202


def test_another_person_importing_the_same_file_is_not_asked(app, browser_for):
    assert browser_for(ADMIN).post_import(PEOPLE).status_code == 202
    assert browser_for(SUPPORT_ADMIN).post_import(PEOPLE).status_code == 202


def test_a_dry_run_first_does_not_make_the_real_import_a_duplicate(app, browser_for):
    admin = browser_for(ADMIN)
    assert admin.post_import(PEOPLE, dry_run="true").status_code == 202
    assert admin.post_import(PEOPLE).status_code == 202


@pytest.mark.parametrize(("minutes", "status"), [(0, 202), (10, 409)])
def test_the_window_is_the_duplicate_upload_minutes_setting(web_settings, tmp_path, minutes, status):
    settings = web_settings.replace(duplicate_upload_minutes=minutes)
    services = bootstrap(settings, hasher=Argon2Hasher(**FAST_HASHES))
    add_people(services)
    app = create_app(settings, services=services, queue=make_import_queue(services, immediate=True))
    admin = Browser(app.test_client())
    admin.sign_in(ADMIN)
    assert admin.post_import(PEOPLE).status_code == 202
    assert admin.post_import(PEOPLE).status_code == status
    services.store.engine.dispose()  # type: ignore[attr-defined]


def test_an_import_older_than_the_window_is_not_a_duplicate(app, browser_for):
    admin = browser_for(ADMIN)
    first = admin.post_import(PEOPLE).json["job"]
    with engine_of(app).begin() as connection:  # as if it had been started 11 minutes ago
        created = connection.execute(select(import_jobs.c.created_at)
                                     .where(import_jobs.c.id == first)).scalar_one()
        connection.execute(update(import_jobs).where(import_jobs.c.id == first)
                           .values(created_at=created - timedelta(minutes=11)))
    assert admin.post_import(PEOPLE).status_code == 202


def test_the_upload_keeps_the_files_sha256(app, browser_for):
    browser_for(ADMIN).post_import(PEOPLE, dry_run="true")
    with engine_of(app).connect() as connection:
        hashes = connection.execute(select(web_uploads.c.file_hash)).scalars().all()
    assert hashes == [hashlib.sha256(PEOPLE.encode()).hexdigest()]


# ---- the pages: upload → mapping → preview → start, twice


def upload_and_preview(browser: Browser, csv_text: str = PEOPLE) -> str:
    """The page flow up to the finished preview; returns the preview page's path."""
    response = browser.upload_page(csv_text)
    assert response.status_code == 302, response.text
    mapping_path = response.headers["Location"]
    form = {"csrf_token": browser.csrf, "map-0": "email", "map-1": "first_name", "map-2": "last_name"}
    response = browser.client.post(mapping_path, data=form)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def start_path(preview_path: str) -> str:
    return preview_path.split("/preview")[0] + "/start"


def test_the_preview_of_the_same_file_asks_before_it_runs_again_and_start_needs_the_confirmation(app, browser_for):
    admin = browser_for(ADMIN)
    first_preview = upload_and_preview(admin)
    assert "duplicate-warning" not in admin.client.get(first_preview).text
    response = admin.client.post(start_path(first_preview), data={"csrf_token": admin.csrf})
    first_job = int(response.headers["Location"].rsplit("/", 1)[1])

    second_preview = upload_and_preview(admin)
    page = admin.client.get(second_preview).text
    assert (f"You imported this same file less than a minute ago (import #{first_job})" in page
            and "import it again?" in page and 'name="confirm_duplicate"' in page), page
    before = imports_started(app)
    response = admin.client.post(start_path(second_preview), data={"csrf_token": admin.csrf})
    assert response.status_code == 302 and "/preview" in response.headers["Location"]  # asked, not started
    assert imports_started(app) == before
    response = admin.client.post(start_path(second_preview), data={"csrf_token": admin.csrf, "confirm_duplicate": "1"})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    assert imports_started(app) == before + 1


def test_the_preview_of_a_different_file_does_not_ask(app, browser_for):
    admin = browser_for(ADMIN)
    first_preview = upload_and_preview(admin)
    admin.client.post(start_path(first_preview), data={"csrf_token": admin.csrf})
    other_preview = upload_and_preview(admin, PEOPLE + "cy@example.com,Cy,Young\n")
    assert "duplicate-warning" not in admin.client.get(other_preview).text
