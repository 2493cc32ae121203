"""The pages in real Chromium (Debian's, through Playwright) as a support team uses them: every page checked with
axe-core (0 serious or critical findings), tables that fit 1280 px, statuses told in words, the import flow by
keyboard alone, the admin pages reached from the navigation. Screenshots of every page go to artifacts/."""

from __future__ import annotations


import pytest

from tests.adapters.web.conftest import ADMIN, PASSWORD, SUPPORT_ADMIN, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BLOCKING = ("serious", "critical")
CUSTOMERS = ("email,first_name,last_name,company,labels,groups\n"
             "ann@example.com,Ann,Lee,Acme Ltd,VIP:Trial,Support\n"
             "bob@example.org,Bob,Stone,Beta GmbH,Trial,\n"
             "not-an-email,Cy,Young,,,\n")


def accessibility_findings(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical findings on the page as it is now: rule, impact and where."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            f"{[node['target'] for node in violation['nodes']][:3]}"
            for violation in violations if violation["impact"] in BLOCKING]


def look_at(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Screenshot the page, then check it fits 1280 px and axe-core finds nothing serious or critical."""
    screenshot(page, name)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: {overflow}px wider than the window"
    wide = page.evaluate("""() => [...document.querySelectorAll('table')]
        .filter(table => table.getBoundingClientRect().right > table.parentElement.getBoundingClientRect().right + 1)
        .map(table => table.id || table.className)""")
    assert wide == [], f"{name}: tables overflow their box: {wide}"
    findings = accessibility_findings(page)
    assert findings == [], f"{name}: " + "\n".join(findings)


def open_options(page) -> None:  # type: ignore[no-untyped-def]
    """Open the preview's Options (it is open already when rows failed)."""
    if not page.evaluate("() => document.querySelector('#options').open"):
        page.click("#options summary")


def sign_in(page, base_url: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base_url + "/")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/importer/new")


def test_every_page_of_an_import_and_of_the_admin_pages_is_accessible_and_fits(live_server, page, web_settings,
                                                                                 start_worker, web_services):
    start_worker(web_settings, "--workers", "1")
    web_services.teams.add(["Support"])
    sign_in(page, live_server, ADMIN)
    look_at(page, "p01-choose")
    page.click("#choose-customers")
    page.wait_for_selector("#dropzone")
    page.click("text=All columns")
    look_at(page, "p02-upload")
    page.set_input_files("#file", files=[{"name": "crm.csv", "mimeType": "text/csv", "buffer": CUSTOMERS.encode()}])
    page.click("#upload-button")
    page.wait_for_selector("#mapping-form")
    look_at(page, "p03-mapping")
    page.click("#mapping-next")
    page.wait_for_selector("#preview-summary", timeout=60_000)
    open_options(page)
    page.check("#option-create-labels")
    page.check("#option-create-companies")
    page.check("#option-create-groups")
    page.click("#update-preview")
    page.wait_for_selector("#preview-summary", timeout=60_000)
    assert page.inner_text("#count-failed") == "1"
    look_at(page, "p04-preview")
    page.click("#start-import")
    page.wait_for_selector("#result-summary", timeout=60_000)
    summary = page.inner_text("#result-summary")
    assert summary == "Imported 2 customers: 2 created, 0 updated, 1 failed"
    assert page.inner_text("#status-text") == ""  # the summary is said once
    look_at(page, "p05-result")

    page.goto(live_server + "/importer/history")
    history = page.inner_text("#history")
    assert "partial" in history and "preview" not in history  # previews are not imports
    look_at(page, "p06-history")
    page.click("#show-previews")
    page.wait_for_selector("#hide-previews")
    assert "preview" in page.inner_text("#history")
    look_at(page, "p07-history-with-previews")

    page.click("#nav-customers")
    page.wait_for_selector("#customer-search")
    page.fill("#search-company", "acme")
    page.click("#search-button")
    page.wait_for_selector("#customers")
    assert page.locator("#customers tbody tr").count() == 1
    look_at(page, "p08-customers")
    page.click("text=ann@example.com")
    page.wait_for_selector("#customer-details")
    assert "Acme Ltd" in page.inner_text("#customer-details")
    assert "Imported by import" in page.inner_text("#customer-origin")
    look_at(page, "p09-customer")
    page.click("#nav-companies")
    page.wait_for_selector("#companies")
    look_at(page, "p10-companies")
    page.click("#nav-teams")
    page.wait_for_selector("#teams")
    look_at(page, "p11-teams")
    page.click("#teams >> text=Support")
    page.wait_for_selector("#add-members-form")
    page.fill("#member-emails", SUPPORT_ADMIN)
    page.click("#add-members")
    page.wait_for_selector("#team-agents")
    look_at(page, "p12-team")
    page.click("#remove-team")
    page.wait_for_selector("#remove-question")
    assert "1 agent" in page.inner_text("#remove-question")  # and 1 customer: ann's group
    look_at(page, "p13-team-remove")
    page.goto(live_server + "/importer/history")
    page.click("#history a >> nth=0")
    page.wait_for_selector("#undo-import")
    page.click("#undo-import")
    page.wait_for_selector("#undo-steps")
    assert "Ann Lee <ann@example.com>" in page.inner_text("#undo-steps")
    look_at(page, "p14-undo")


def test_an_import_by_keyboard_alone_from_upload_to_result(live_server, page, web_settings, start_worker):
    """Tab and Enter only: the one thing a keyboard cannot do in a test is pick from the system's file dialog, so
    the file is put into the focused file input as that dialog would."""
    start_worker(web_settings, "--workers", "1")
    sign_in(page, live_server, SUPPORT_ADMIN)

    def tab_to(selector: str, most: int = 40) -> None:
        for _ in range(most):
            page.keyboard.press("Tab")
            if page.evaluate("(selector) => document.activeElement === document.querySelector(selector)", selector):
                return
        raise AssertionError(f"{selector} cannot be reached with Tab")

    tab_to("#choose-customers")
    page.keyboard.press("Enter")
    page.wait_for_selector("#dropzone")
    tab_to("#file")
    page.set_input_files("#file", files=[{"name": "keys.csv", "mimeType": "text/csv",
                                          "buffer": b"email,first_name\nkey@example.com,Kay\n"}])
    tab_to("#upload-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#mapping-form")
    tab_to("#mapping-next")
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview-summary", timeout=60_000)
    tab_to("#start-import")
    look_at(page, "k01-preview-focused")
    page.keyboard.press("Enter")
    page.wait_for_selector("#result-summary", timeout=60_000)
    assert page.inner_text("#result-summary") == "Imported 1 customer: 1 created, 0 updated, 0 failed"
    look_at(page, "k02-result")


def test_statuses_are_told_in_words_not_by_colour_alone(live_server, page, web_services):
    for csv_text in ("email,first_name\nok@example.com,Ok\n", "email,first_name\nbad,Bad\ngood@example.com,Good\n"):
        web_services.imports.import_file("customers", __import__("io").BytesIO(csv_text.encode()), actor=ADMIN)
    sign_in(page, live_server, ADMIN)
    page.goto(live_server + "/importer/history")
    badges = page.locator("#history .ci-badge").all_inner_texts()
    assert any("succeeded" in badge for badge in badges) and any("partial" in badge for badge in badges), badges
    page.emulate_media(forced_colors="active")  # the words stay when colours are replaced
    assert "partial" in page.inner_text("#history")
    look_at(page, "s01-history-forced-colours")


def test_the_duplicate_question_stands_after_updating_the_preview_with_nothing_changed(live_server, page,
                                                                                       web_settings, start_worker):
    start_worker(web_settings, "--workers", "1")
    sign_in(page, live_server, ADMIN)
    people = {"name": "same.csv", "mimeType": "text/csv", "buffer": b"email,first_name\nsame@example.com,Sam\n"}
    for attempt in range(2):
        page.goto(live_server + "/importer/new/customers")
        page.set_input_files("#file", files=[people])
        page.click("#upload-button")
        page.wait_for_selector("#mapping-form")
        page.click("#mapping-next")
        page.wait_for_selector("#preview-summary", timeout=60_000)
        if attempt == 0:
            page.click("#start-import")
            page.wait_for_selector("#result-summary", timeout=60_000)
    assert page.is_visible("#duplicate-warning")
    open_options(page)
    page.click("#update-preview")
    page.wait_for_selector("#preview-summary", timeout=60_000)
    assert page.is_visible("#duplicate-warning") and page.inner_text("#start-import") == "Yes, import it again"
    look_at(page, "d01-duplicate-question")
