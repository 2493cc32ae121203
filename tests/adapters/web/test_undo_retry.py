"""Undo and retry on the web: the result page's buttons and the API routes, with the Flask test client."""

from __future__ import annotations

import io

from flask import Flask

from tests.adapters.web.conftest import ADMIN, AGENT, SUPPORT_ADMIN, counts

PEOPLE = "Email Address,First\nann@example.com,Ann\nnot-an-email,Bob\ncy@example.com,Cy\n"


def engine_of(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["contact_importer"].engine


def test_the_result_page_offers_undo_and_retry_and_the_undo_shows_its_dry_run_first(app, browser_for):
    admin = browser_for(ADMIN)
    job_id = admin.post_import(PEOPLE).json["job"]
    page = admin.client.get(f"/importer/jobs/{job_id}").text
    assert 'id="undo-import"' in page and 'id="retry-form"' in page
    before = counts(engine_of(app))
    preview = admin.client.get(f"/importer/jobs/{job_id}/undo")
    assert preview.status_code == 200
    assert "2 removed, 0 restored, 0 left alone" in preview.text and 'id="undo-confirm"' in preview.text
    assert counts(engine_of(app)) == before  # the dry run wrote nothing
    done = admin.client.post(f"/importer/jobs/{job_id}/undo", data={"csrf_token": admin.csrf})
    assert done.status_code == 302
    assert counts(engine_of(app))["contacts"] == before["contacts"] - 2
    undo_page = admin.client.get(done.headers["Location"]).text
    assert f"undo of import {job_id}" in undo_page and 'id="undo-import"' not in undo_page
    assert 'id="undo-import"' not in admin.client.get(f"/importer/jobs/{job_id}").text  # undone once


def test_retry_from_the_result_page_reports_under_the_original_row(app, browser_for):
    admin = browser_for(ADMIN)
    job_id = admin.post_import(PEOPLE).json["job"]
    report = admin.client.get(f"/api/v1/imports/{job_id}/errors.csv").text
    fixed = report.replace("not-an-email,", "bob@example.com,").encode()
    response = admin.client.post(f"/importer/jobs/{job_id}/retry", content_type="multipart/form-data",
                                 data={"csrf_token": admin.csrf, "file": (io.BytesIO(fixed), "fixed.csv")})
    assert response.status_code == 302
    retry_id = int(response.headers["Location"].rsplit("/", 1)[1])
    rows = admin.client.get(f"/api/v1/imports/{retry_id}/rows").json["rows"]
    assert [(row["row"], row["action"]) for row in rows] == [(3, "created")]
    page = admin.client.get(f"/importer/jobs/{retry_id}").text
    assert f'This is a retry of import {job_id}: <a href="/importer/jobs/{job_id}">' in page


def test_the_api_undoes_with_a_dry_run_first_and_refuses_a_second_undo(app, browser_for):
    admin = browser_for(ADMIN)
    job_id = admin.post_import(PEOPLE).json["job"]
    headers = {"X-CSRF-Token": admin.csrf}
    dry = admin.client.post(f"/api/v1/imports/{job_id}/undo?dry_run=true", headers=headers)
    assert dry.status_code == 200 and (dry.json["removed"], dry.json["undo_job"]) == (2, None)
    done = admin.client.post(f"/api/v1/imports/{job_id}/undo", headers=headers)
    assert done.status_code == 200 and done.json["undo_job"] is not None
    again = admin.client.post(f"/api/v1/imports/{job_id}/undo", headers=headers)
    assert (again.status_code, again.json["code"]) == (409, "undo.already")


def test_the_api_retry_refuses_rows_that_did_not_fail_and_queues_nothing(app, browser_for):
    admin = browser_for(ADMIN)
    job_id = admin.post_import(PEOPLE).json["job"]
    before = counts(engine_of(app))
    body = b"Email Address,First,row,column,message\nann@example.com,Ann,2,x,y\n"
    response = admin.client.post(f"/api/v1/imports/{job_id}/retry", headers={"X-CSRF-Token": admin.csrf},
                                 content_type="multipart/form-data", data={"file": (io.BytesIO(body), "f.csv")})
    assert (response.status_code, response.json["code"]) == (400, "retry.not_failed")
    assert counts(engine_of(app)) == before


def test_who_may_not_read_an_import_may_not_undo_or_retry_it(app, browser_for):
    job_id = browser_for(ADMIN).post_import("email,first_name\nnew@example.com,New\n", kind="users").json["job"]
    before = counts(engine_of(app))
    for email, status in ((SUPPORT_ADMIN, 403), (AGENT, 403)):
        other = browser_for(email)
        assert other.client.post(f"/api/v1/imports/{job_id}/undo", headers={"X-CSRF-Token": other.csrf}).status_code == status
    assert browser_for(None).client.post(f"/api/v1/imports/{job_id}/undo").status_code == 401
    assert counts(engine_of(app)) == before


def test_the_openapi_document_describes_undo_and_retry(app, browser_for):
    paths = browser_for(None).client.get("/api/v1/openapi.json").json["paths"]
    assert {"/imports/{job_id}/undo", "/imports/{job_id}/retry"} <= set(paths)
