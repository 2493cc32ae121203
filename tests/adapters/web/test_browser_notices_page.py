"""The notices page in real Chromium, with a real webhook listener and a real SMTP server: a support admin turns on
the e-mail for their own imports there and their next import mails them; an admin sees the webhook's URL (never its
secret), where the settings come from, and the deliveries with their status in words and their attempts. Every page
passes axe-core (0 serious or critical findings) and every input has a label."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.adapters.notice_servers import running_listener, running_smtp
from tests.adapters.web.conftest import ADMIN, SUPPORT_ADMIN
from tests.adapters.web.test_browser_pages import sign_in
from tests.adapters.web.test_browser_tokens_page import look_at_form, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "never-on-a-page-7c1e"
PEOPLE = "email,first_name\nzoe@example.org,Zoe\n"


@pytest.fixture
def listener():  # type: ignore[no-untyped-def]
    with running_listener() as heard:
        yield heard


@pytest.fixture
def outbox():  # type: ignore[no-untyped-def]
    with running_smtp() as (messages, url):
        messages.url = url
        yield messages


@pytest.fixture
def web_settings(web_settings, listener, outbox):  # type: ignore[no-untyped-def]
    """The web fixtures' settings with the webhook and e-mail set up, as plugin.toml or the environment would."""
    return web_settings.replace(webhook_url=listener.url, webhook_secret=SECRET, smtp_url=outbox.url,
                                public_url="https://help.example", notice_attempts=3, notice_retry_seconds=60)


def import_as(services, person: str) -> int:  # type: ignore[no-untyped-def]
    report = services.imports.import_file("customers", io.BytesIO(PEOPLE.encode()), file_name="crm.csv", actor=person)
    return int(report.job)


def test_a_support_admin_turns_on_the_email_for_their_imports_and_their_next_import_mails_them(
        live_server, page, web_services, outbox):
    sign_in(page, live_server, SUPPORT_ADMIN)
    page.click("#nav-notices")
    page.wait_for_selector("#email-form")
    assert page.is_checked("#email-default") and "do not get" in page.inner_text("#email-now")
    assert page.locator("#deliveries, #notice-setup").count() == 0  # the webhook and deliveries are the admins'
    look_at_form(page, "n01-notices-support-admin")
    page.focus("#nav-notices")
    tab_to(page, "#email-default")  # the radio group is one Tab stop; arrows move in it
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.is_checked("#email-on")
    tab_to(page, "#email-save")
    page.keyboard.press("Enter")
    page.wait_for_selector("#notices-saved")
    assert "you get an e-mail" in page.inner_text("#notices-saved") and page.is_checked("#email-on")
    look_at_form(page, "n02-notices-saved")
    assert web_services.notices.email_wanted(SUPPORT_ADMIN)

    import_as(web_services, SUPPORT_ADMIN)
    web_services.notices.send_due()
    assert len(outbox.to(SUPPORT_ADMIN)) == 1

    page.check("#email-off")
    page.click("#email-save")
    page.wait_for_selector("#notices-saved")
    assert "do not get" in page.inner_text("#notices-saved")
    import_as(web_services, SUPPORT_ADMIN)
    web_services.notices.send_due()
    assert len(outbox.to(SUPPORT_ADMIN)) == 1  # no second mail


def test_an_admin_sees_the_webhook_without_its_secret_and_each_delivery_with_its_status_and_attempts(
        live_server, page, web_services, listener):
    web_services.notices.send_due()  # the setup's agents import, told about first
    listener.answers = [200, 500, 200]  # in turn, counted from that first request
    job = import_as(web_services, ADMIN)
    web_services.notices.send_due()  # the listener answers 500: tried again later
    sign_in(page, live_server, ADMIN)
    page.click("#nav-notices")
    page.wait_for_selector("#notice-setup")
    assert listener.url in page.inner_text("#webhook-url")
    assert page.inner_text("#webhook-secret") == "set (never shown)" and SECRET not in page.content()
    assert "plugin.toml" in page.inner_text("#settings-source") and "not changed on this page" in page.inner_text(
        "#settings-source")
    assert page.locator("#notice-setup input, #notice-setup textarea").count() == 0  # nothing to edit here
    row = page.locator(f"#deliveries tbody tr:has(a:text-is('#{job}'))")
    assert "webhook" in row.inner_text()
    assert "pending" in row.inner_text() and "HTTP 500" in row.inner_text()
    assert row.locator("td >> nth=3").inner_text() == "1"  # attempts
    look_at_form(page, "n03-notices-admin-pending")

    web_services.notices.send_due(now=lambda: datetime.now(UTC) + timedelta(minutes=5))  # the retry: 200
    page.reload()
    row = page.locator(f"#deliveries tbody tr:has(a:text-is('#{job}'))")
    assert "delivered" in row.inner_text() and row.locator("td >> nth=3").inner_text() == "2"
    page.emulate_media(forced_colors="active")  # the words stay when colours are replaced
    assert "delivered" in page.inner_text("#deliveries")
    look_at_form(page, "n04-notices-admin-delivered")
