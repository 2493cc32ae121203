"""The API tokens page in real Chromium: reached from the navigation, a token made there (by keyboard) is shown
once and works as its owner, only its hash is kept, the list says its name, owner, expiry and last use, and revoking
asks first and stops it at once. A support admin sees and revokes only their own tokens. Every page passes axe-core
(0 serious or critical findings), every input has a label, states are said in words."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from adapters.db.tokens import web_api_tokens
from tests.adapters.web.conftest import ADMIN, SUPPORT_ADMIN
from tests.adapters.web.test_browser_pages import look_at, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(field => !field.labels.length && !field.getAttribute('aria-label')).map(field => field.id || field.name)"""


def look_at_form(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """look_at, and every input has a label."""
    assert page.evaluate(UNLABELLED) == [], f"{name}: inputs without a label"
    look_at(page, name)


def tab_to(page, selector: str, most: int = 40) -> None:  # type: ignore[no-untyped-def]
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement === document.querySelector(selector)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def api_status(page, base_url: str, token: str) -> int:  # type: ignore[no-untyped-def]
    """GET /api/v1/imports with the token as a script sends it (no cookies)."""
    context = page.context.browser.new_context()
    try:
        response = context.request.get(base_url + "/api/v1/imports", headers={"Authorization": f"Bearer {token}"})
        return response.status
    finally:
        context.close()


def stored_hashes(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.store.engine.connect() as connection:
        return list(connection.execute(select(web_api_tokens.c.token_hash)).scalars())


def test_an_admin_makes_a_token_that_is_shown_once_works_and_is_revoked_after_asking(live_server, page,
                                                                                     web_services):
    sign_in(page, live_server, ADMIN)
    page.click("#nav-tokens")
    page.wait_for_selector("#token-form")
    assert page.is_visible("#no-tokens")
    look_at_form(page, "t01-tokens")
    page.focus("#nav-tokens")  # from the navigation on, by keyboard alone
    tab_to(page, "#token-name")
    page.keyboard.type("Nightly CRM sync")
    tab_to(page, "#token-email")
    page.keyboard.press("Control+A")
    page.keyboard.type(SUPPORT_ADMIN)
    tab_to(page, "#token-days")
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    tab_to(page, "#token-create")
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-token")
    token = page.input_value("#new-token")
    assert token.startswith("cit_") and "not shown again" in page.inner_text("#new-token-box")
    look_at_form(page, "t02-token-made")
    assert hashlib.sha256(token.encode()).hexdigest() in stored_hashes(web_services)
    assert all(token not in stored for stored in stored_hashes(web_services))  # only the hash is kept

    assert api_status(page, live_server, token) == 200  # it works, as the support admin
    page.goto(live_server + "/importer/tokens")
    assert token not in page.content()  # shown once
    row = page.locator("#tokens tbody tr", has_text="Nightly CRM sync")
    cells = row.inner_text()
    assert SUPPORT_ADMIN in cells and "active" in cells
    expires, last_used = row.locator("td >> nth=2").inner_text(), row.locator("td >> nth=3").inner_text()
    assert expires.endswith(" UTC") and last_used.endswith(" UTC")  # used just now

    row.locator("a[href$='/revoke']").click()
    page.wait_for_selector("#revoke-confirm")
    assert "refused at once" in page.inner_text("#revoke-what")
    look_at_form(page, "t03-token-revoke-asks")
    assert api_status(page, live_server, token) == 200  # asking revoked nothing
    page.click("#revoke-confirm")
    page.wait_for_selector("#token-notice")
    assert "revoked" in page.locator("#tokens tbody tr", has_text="Nightly CRM sync").inner_text()
    assert page.locator("#tokens tbody tr", has_text="Nightly CRM sync").locator("a[href$='/revoke']").count() == 0
    look_at_form(page, "t04-token-revoked")
    assert api_status(page, live_server, token) == 401


def test_a_support_admin_sees_makes_and_revokes_only_their_own_tokens(live_server, page, web_services):
    web_services.people.create_token(ADMIN, name="Admin's export script")
    web_services.people.create_token(SUPPORT_ADMIN, name="My report")
    admin_token_id = next(token.id for token in web_services.people.list_tokens() if token.email == ADMIN)
    sign_in(page, live_server, SUPPORT_ADMIN)
    page.click("#nav-tokens")
    page.wait_for_selector("#tokens")
    listed = page.inner_text("#tokens")
    assert "My report" in listed and "Admin's export script" not in listed and ADMIN not in listed
    assert page.locator("#token-email").count() == 0  # their own tokens: no owner to choose
    page.fill("#token-name", "Second report")
    page.click("#token-create")
    page.wait_for_selector("#new-token")
    assert f"It works for {SUPPORT_ADMIN}" in page.inner_text("#new-token-box")
    look_at_form(page, "t05-support-admin-tokens")
    response = page.goto(live_server + f"/importer/tokens/{admin_token_id}/revoke")
    assert response is not None and response.status == 404
    assert all(token.revoked_at is None for token in web_services.people.list_tokens())
