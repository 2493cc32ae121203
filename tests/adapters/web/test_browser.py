"""Real Chromium (Debian's, through Playwright) against the standalone host and a real worker process."""

from __future__ import annotations

import csv
import io

import pytest

from tests.adapters.web.conftest import PASSWORD, SUPPORT_ADMIN, screenshot, watch_the_bar

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS = 3000  # with one row per batch the worker needs a few seconds: the bar has time to move
SCRIPT_NAME = "<script>alert('x')</script>"


def customers_file() -> str:
    """Headers a CRM export might have: two known, one misspelt beyond a guess, one to ignore."""
    lines = ["E-mail Address,Given Name,Nachname,Lieblingsfarbe"]
    for number in range(1, ROWS + 1):
        email = f"broken-{number}" if number % 150 == 0 else f"person{number}@example.com"
        first = SCRIPT_NAME if number == 1 else f"First{number}"
        lines.append(f"{email},{first},Last{number},blue")
    return "\n".join(lines) + "\n"


def sign_in(page, base_url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/importer/new")


def test_a_support_admin_imports_customers_from_upload_to_notification(live_server, page, web_settings,
                                                                        start_worker):
    start_worker(web_settings.replace(batch_size=1), "--workers", "1")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(live_server + "/")
    page.wait_for_selector("#sign-in-form")
    screenshot(page, "01-sign-in")
    sign_in(page, live_server, SUPPORT_ADMIN)
    assert page.locator("#choose-users").count() == 0  # a support admin imports customers, not agents
    screenshot(page, "02-choose")
    page.click("#choose-customers")

    # 1. Import: requirements, sample, drop the file on the box
    page.wait_for_selector("#dropzone")
    assert "5,000 rows" in page.inner_text(".ci-requirements")
    assert page.get_attribute("#sample-download", "href").endswith("/api/v1/templates/customers.csv")
    page.evaluate("""([name, text]) => {
        const data = new DataTransfer();
        data.items.add(new File([text], name, {type: "text/csv"}));
        document.querySelector('#dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));
    }""", ["crm-export.csv", customers_file()])
    assert page.inner_text("#file-name") == "crm-export.csv"
    screenshot(page, "03-import")
    page.click("#upload-button")

    # 2. Mapping: suggestions, a required field check, one mapping fixed by hand
    page.wait_for_selector("#mapping-form")
    assert page.input_value("#map-0") == "email" and page.input_value("#map-1") == "first_name"
    assert page.input_value("#map-2") == ""  # "Nachname" matches nothing
    page.select_option("#map-0", "")
    assert page.is_visible("#required-message") and page.is_disabled("#mapping-next")
    assert "Map a column to email" in page.inner_text("#required-message")
    page.select_option("#map-0", "email")
    page.select_option("#map-2", "last_name")
    assert not page.is_disabled("#mapping-next")
    page.fill("#save_as", "CRM export")
    screenshot(page, "04-mapping")
    page.click("#mapping-next")

    # 3. Preview: the dry run, nothing written
    page.wait_for_selector("#preview-summary", timeout=60_000)
    summary = page.inner_text("#preview-summary")
    assert summary.startswith(f"Would import {ROWS - 20:,} customers: {ROWS - 20:,} created, 0 updated, 20 failed")
    assert page.inner_text("#count-failed") == "20"
    assert page.get_by_text(SCRIPT_NAME).first.is_visible()  # shown as text, never run
    screenshot(page, "05-preview")
    page.click("#start-import")

    # 4. Progress: the bar moves through intermediate values, survives a reload, reaches 100
    page.wait_for_url("**/importer/jobs/*")
    watch_the_bar(page)
    # Until the polling itself has moved the bar to a value between: the page may open on one already
    # (rendered by the server), and the observer only sees the values that come after.
    page.wait_for_function("() => window.seen.some(v => v > 0 && v < 100)", timeout=30_000)
    assert " of 3,000 rows" in page.inner_text("#progress")
    page.wait_for_function("() => document.querySelector('#eta').textContent.includes('left')")
    screenshot(page, "06-progress")
    seen_before_reload = page.evaluate("window.seen")
    page.reload()
    page.wait_for_selector("#bar")
    page.wait_for_selector("#result-summary", timeout=60_000)
    assert any(0 < value < 100 for value in seen_before_reload), seen_before_reload
    assert page.get_attribute("#bar", "value") == "100"
    result = page.inner_text("#result-summary")
    assert result == f"Imported {ROWS - 20:,} customers: {ROWS - 20:,} created, 0 updated, 20 failed"
    assert page.get_by_text(SCRIPT_NAME).first.is_visible()
    screenshot(page, "07-result")
    page.click("#show-failed")
    page.wait_for_url("**show=failed")
    assert page.locator("#rows tbody tr").count() == 20
    assert "is not a valid email address" in page.inner_text("#rows")
    screenshot(page, "07b-result-failed-rows")

    # 5. The notification, and the error report
    page.wait_for_function("() => document.querySelector('#bell-count').textContent.trim() === '1'")
    with page.expect_download() as download_info:
        page.click("#error-report")
    report = download_info.value.path().read_text()
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[0] == ["E-mail Address", "Given Name", "Nachname", "Lieblingsfarbe", "row", "column", "message"]
    assert [row[4] for row in rows[1:]] == [str(number + 1) for number in range(150, ROWS + 1, 150)]
    assert {row[5] for row in rows[1:]} == {"E-mail Address"}
    assert rows[1][:4] == ["broken-150", "First150", "Last150", "blue"]
    page.click("#bell")
    page.wait_for_selector("#notifications")
    assert result in page.inner_text("#notifications")
    screenshot(page, "08-notification")

    # 6. History
    page.goto(live_server + "/importer/history")
    history = page.inner_text("#history")
    assert "crm-export.csv" in history and SUPPORT_ADMIN in history and "partial" in history
    screenshot(page, "09-history")

    # a support admin cannot open the agents import
    response = page.goto(live_server + "/importer/new/users")
    assert response.status == 403 and "Not allowed" in page.inner_text("#error-page")
    screenshot(page, "10-agents-forbidden")
    assert dialogs == []  # no script from the file ever ran
