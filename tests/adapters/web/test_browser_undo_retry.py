"""The result page's "Retry failed rows" and "Undo this import" buttons in real Chromium (Playwright)."""

from __future__ import annotations

import io

import pytest

from tests.adapters.web.conftest import ADMIN, SUPPORT_ADMIN, job_id_from, screenshot
from tests.adapters.web.test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_support_admin_retries_the_failed_rows_then_undoes_the_import(live_server, page, web_services):
    report = web_services.imports.import_file("customers", io.BytesIO(b"email,first_name\nann@example.com,Ann\nbob@,Bob\n"),
                                           file_name="people.csv", actor=SUPPORT_ADMIN)
    sign_in(page, live_server, SUPPORT_ADMIN)
    page.goto(f"{live_server}/importer/jobs/{report.job}")
    page.wait_for_selector("#retry-form")
    fixed = b"email,first_name,row,column,message\nbob@example.com,Bob,3,email,was bad\n"
    page.set_input_files("#retry-file", files=[{"name": "fixed.csv", "mimeType": "text/csv", "buffer": fixed}])
    page.click("#retry-button")
    page.wait_for_url("**/importer/jobs/*")
    assert job_id_from(page.url) != report.job  # the retry is a job of its own

    page.goto(f"{live_server}/importer/jobs/{report.job}")
    page.click("#undo-import")
    page.wait_for_selector("#undo-steps")
    assert "1 removed" in page.inner_text("#undo-summary")
    screenshot(page, "undo-dry-run")
    page.click("#undo-confirm")
    page.wait_for_url("**/importer/jobs/*")
    undo_job = job_id_from(page.url)
    assert undo_job != report.job
    assert "undo of import" in page.inner_text("h1")
    assert web_services.history.get_job(undo_job).status == "succeeded"
    assert page.inner_text("#result-summary") == f"Undid import {report.job}: 1 removed, 0 restored, 0 left alone"
    assert page.inner_text("#count-removed") == "1" and page.locator("#count-created").count() == 0


def test_a_support_admin_is_offered_no_undo_or_retry_of_another_persons_import(live_server, page, web_services):
    report = web_services.imports.import_file("customers", io.BytesIO(b"email,first_name\nann@example.com,Ann\nbob@,Bob\n"),
                                           file_name="people.csv", actor=ADMIN)
    sign_in(page, live_server, SUPPORT_ADMIN)
    page.goto(f"{live_server}/importer/jobs/{report.job}")
    page.wait_for_selector("#result-summary")
    assert page.locator("#undo-import").count() == 0 and page.locator("#retry-form").count() == 0
    response = page.goto(f"{live_server}/importer/jobs/{report.job}/undo")
    assert response is not None and response.status == 403
    assert "needs the admin role" in page.inner_text("body")
