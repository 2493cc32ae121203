"""Undo and retry on the web: the result page's buttons and the API routes, with the Flask test client."""

from __future__ import annotations

import io

from flask import Flask

from adapters.db.notifications import list_notifications
from tests.adapters.web.conftest import ADMIN, AGENT, SUPPORT_ADMIN, counts

PEOPLE = "Email Address,First\nann@example.com,Ann\nnot-an-email,Bob\ncy@example.com,Cy\n"


def engine_of(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["contact_importer"].services.store.engine


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
    assert f'This is a retry of <a href="/importer/jobs/{job_id}">import {job_id}</a>' in page


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


def test_an_undo_shows_as_an_undo_on_its_page_in_the_history_and_the_api_and_notifies(app, browser_for):
    admin = browser_for(ADMIN)
    job_id = admin.post_import(PEOPLE).json["job"]
    done = admin.client.post(f"/importer/jobs/{job_id}/undo", data={"csrf_token": admin.csrf})
    undo_id = int(done.headers["Location"].rsplit("/", 1)[1])
    summary = f"Undid import {job_id}: 2 removed, 0 restored, 0 left alone"
    page = admin.client.get(f"/importer/jobs/{undo_id}").text
    assert f"<h1>Undo {undo_id}: customers, the undo of import {job_id}</h1>" in page
    assert summary in page and 'id="count-removed">2<' in page and 'id="count-left-alone">0<' in page
    assert "Imported" not in page and 'id="count-created"' not in page
    undone = admin.client.get(f"/importer/jobs/{job_id}").text
    assert f'id="undone-by">Import {job_id} was undone already, by job {undo_id} (succeeded).' in undone
    history = admin.client.get("/importer/history").text
    assert f"undo of #{job_id}" in history and "2 removed, 0 restored, 0 left alone" in history
    document = admin.client.get(f"/api/v1/imports/{undo_id}").json
    assert (document["operation"], document["undo_of"], document["removed"], document["summary"]) == (
        "undo", job_id, 2, summary)
    listed = {entry["job"]: entry for entry in admin.client.get("/api/v1/imports").json["imports"]}
    assert (listed[undo_id]["operation"], listed[undo_id]["removed"]) == ("undo", 2)
    assert listed[job_id]["operation"] == "import"
    notices = list_notifications(engine_of(app), ADMIN)
    assert (notices[0].message, notices[0].job_id) == (summary, undo_id)


def test_undo_pages_show_labels_as_names_never_python_reprs(app, browser_for):
    admin = browser_for(ADMIN)
    admin.post_import("email,first_name,labels\nraj@example.org,Raj,\n")
    job_id = admin.post_import("email,first_name,labels\nraj@example.org,Raj,Demo:Trial\n", file_name="labels.csv",
                               options='{"create_labels": true}').json["job"]
    preview = admin.client.get(f"/importer/jobs/{job_id}/undo").text
    assert "labels: Demo, Trial → (empty)" in preview
    done = admin.client.post(f"/importer/jobs/{job_id}/undo", data={"csrf_token": admin.csrf})
    undo_page = admin.client.get(done.headers["Location"]).text
    import_page = admin.client.get(f"/importer/jobs/{job_id}").text
    for text in (preview, undo_page, import_page):
        assert "frozenset" not in text and "[&#39;" not in text and "True" not in text


def test_a_support_admin_sees_another_persons_import_but_may_not_undo_or_retry_it(app, browser_for):
    admin, support = browser_for(ADMIN), browser_for(SUPPORT_ADMIN)
    job_id = admin.post_import(PEOPLE).json["job"]
    before = counts(engine_of(app))
    page = support.client.get(f"/importer/jobs/{job_id}")
    assert page.status_code == 200 and 'id="undo-import"' not in page.text and 'id="retry-form"' not in page.text
    assert f"#{job_id}" in support.client.get("/importer/history").text  # the team shares the work
    for response in (support.client.get(f"/importer/jobs/{job_id}/undo"),
                     support.client.post(f"/importer/jobs/{job_id}/undo", data={"csrf_token": support.csrf})):
        assert response.status_code == 403 and "another person&#39;s import needs the admin role" in response.text
    report = admin.client.get(f"/api/v1/imports/{job_id}/errors.csv").text
    fixed = report.replace("not-an-email,", "bob@example.com,").encode()
    retry = support.client.post(f"/importer/jobs/{job_id}/retry", content_type="multipart/form-data",
                                data={"csrf_token": support.csrf, "file": (io.BytesIO(fixed), "fixed.csv")})
    assert retry.status_code == 403 and "needs the admin role" in retry.text
    headers = {"X-CSRF-Token": support.csrf}
    api_undo = support.client.post(f"/api/v1/imports/{job_id}/undo?dry_run=true", headers=headers)
    assert (api_undo.status_code, api_undo.json["code"]) == (403, "undo.not_yours")
    api_retry = support.client.post(f"/api/v1/imports/{job_id}/retry", headers=headers,
                                    content_type="multipart/form-data", data={"file": (io.BytesIO(fixed), "f.csv")})
    assert (api_retry.status_code, api_retry.json["code"]) == (403, "retry.not_yours")
    assert counts(engine_of(app)) == before


def test_a_support_admin_undoes_and_retries_their_own_import_and_an_admin_anybodys(app, browser_for):
    admin, support = browser_for(ADMIN), browser_for(SUPPORT_ADMIN)
    own = support.post_import(PEOPLE).json["job"]
    page = support.client.get(f"/importer/jobs/{own}").text
    assert 'id="undo-import"' in page and 'id="retry-form"' in page
    report = support.client.get(f"/api/v1/imports/{own}/errors.csv").text
    fixed = report.replace("not-an-email,", "bob@example.com,").encode()
    retry = support.client.post(f"/importer/jobs/{own}/retry", content_type="multipart/form-data",
                                data={"csrf_token": support.csrf, "file": (io.BytesIO(fixed), "fixed.csv")})
    assert retry.status_code == 302
    retry_id = int(retry.headers["Location"].rsplit("/", 1)[1])
    assert support.client.get(f"/api/v1/imports/{retry_id}").json["actor"] == SUPPORT_ADMIN
    done = support.client.post(f"/api/v1/imports/{own}/undo", headers={"X-CSRF-Token": support.csrf})
    assert done.status_code == 200 and done.json["removed"] == 2
    others = support.post_import(PEOPLE.replace("ann@", "ann2@").replace("cy@", "cy2@"), file_name="two.csv").json["job"]
    undone = admin.client.post(f"/api/v1/imports/{others}/undo", headers={"X-CSRF-Token": admin.csrf})
    assert undone.status_code == 200 and undone.json["removed"] == 2
    undo_job = admin.client.get(f"/api/v1/imports/{undone.json['undo_job']}").json
    assert undo_job["actor"] == ADMIN  # who undid it
    assert list_notifications(engine_of(app), SUPPORT_ADMIN)[0].message == undo_job["summary"]
