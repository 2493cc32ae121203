"""A sales inbox from the mailbox pages, in real Chromium against a real Dovecot: an admin adds a mailbox that captures
new correspondents as leads, the list says which mailboxes capture leads, a poll makes the writer a lead, and editing
the mailbox turns it into a customers mailbox (and back). The pages pass axe-core and every input has a label."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from adapters.db.models import contacts
from tests.adapters.imap import conftest as imap_fixtures
from tests.adapters.imap.test_poll import message
from tests.adapters.web.conftest import ADMIN
from tests.adapters.web.test_mailbox_pages import fill_mailbox_form
from tests.adapters.web.test_browser_pages import sign_in
from tests.adapters.web.test_browser_tokens_page import look_at_form

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.imap]

PASSWORD_ENV = "SALES_IMAP_PASSWORD"
imap_server = imap_fixtures.imap_server  # the real Dovecot, and a new folder of it for each test
folder = imap_fixtures.folder


def is_lead(services, email: str) -> bool | None:  # type: ignore[no-untyped-def]
    with services.store.engine.connect() as connection:
        return connection.execute(select(contacts.c.is_lead)
                                  .where(contacts.c.email == email)).scalar_one_or_none()


def mailbox_row(page, name: str) -> str:  # type: ignore[no-untyped-def]
    return page.locator("#mailboxes tbody tr", has=page.locator(f"th:text-matches('^{name}')")).inner_text()


def test_an_admin_adds_a_sales_inbox_that_captures_leads_and_edits_it_into_a_customers_mailbox(
        live_server, page, imap_server, folder, web_services, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, imap_server.password)  # the live server runs in this process
    sign_in(page, live_server, ADMIN)
    page.click("#nav-mailboxes")
    page.click("#add-mailbox")
    page.wait_for_selector("#mailbox-form")
    assert not page.is_checked("#mailbox-captures-leads")  # a support inbox unless said otherwise
    fill_mailbox_form(page, imap_server, "sales", folder, PASSWORD_ENV)
    page.focus("#mailbox-captures-leads")
    page.keyboard.press("Space")  # a checkbox, by keyboard
    assert page.is_checked("#mailbox-captures-leads")
    look_at_form(page, "ml01-add-sales-inbox")
    page.click("#mailbox-save")
    page.wait_for_selector("#mailbox-notice")
    assert "captures leads (sales inbox)" in mailbox_row(page, "sales")
    (mailbox,) = web_services.capture.mailboxes()
    assert mailbox.captures_leads

    imap_server.append(folder, message(b"Pat Prospect <pat@prospect.example>", number=1))
    page.click("button[aria-label='Poll sales now']")
    page.wait_for_selector("#poll-result")
    assert is_lead(web_services, "pat@prospect.example") is True
    page.click("text=Back to the mailboxes")
    look_at_form(page, "ml02-list-sales-inbox")

    page.click("a[aria-label='Edit sales']")
    page.wait_for_selector("#mailbox-form")
    assert page.is_checked("#mailbox-captures-leads")  # the form shows the mailbox as it is
    page.uncheck("#mailbox-captures-leads")
    look_at_form(page, "ml03-edit-to-customers")
    page.click("#mailbox-save")
    page.wait_for_selector("#mailbox-notice")
    assert "captures customers" in mailbox_row(page, "sales")
    assert not web_services.capture.mailbox("sales").captures_leads

    imap_server.append(folder, message(b"Cy Customer <cy@customer.example>", number=2))
    page.click("button[aria-label='Poll sales now']")
    page.wait_for_selector("#poll-result")
    assert is_lead(web_services, "cy@customer.example") is False

    page.goto(live_server + "/importer/mailboxes/sales/edit")
    page.check("#mailbox-captures-leads")
    page.click("#mailbox-save")
    page.wait_for_selector("#mailbox-notice")
    assert web_services.capture.mailbox("sales").captures_leads  # and back
