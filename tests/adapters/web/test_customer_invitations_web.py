"""Customer invitations from the web: the API's options.invite, the preview's checkbox (the Flask test client,
then Chromium against the standalone host, a real worker process and a real SMTP server), and the preview saying
so when invite is asked without smtp_url."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.settings import Settings
from tests.adapters.test_invitations_import import token_in
from tests.adapters.web.conftest import ADMIN, PASSWORD, screenshot
from tests.adapters.web.serving import wait_until
from tests.smtp import Outbox, running_smtp

CUSTOMERS = "email,first_name,last_name\nana@example.com,Ana,Lima\nben@example.com,Ben,\n"
LINK = re.compile(r"(http://\S+/agents/set-password\?token=[\w-]+)")
UNMET = "smtp_url is not set, so no invitation is mailed"


@pytest.fixture
def smtp() -> Iterator[tuple[Outbox, str]]:
    with running_smtp() as running:
        yield running


@pytest.fixture
def web_settings(tmp_path: Path, smtp: tuple[Outbox, str]) -> Settings:
    """The web fixtures' settings (tests/adapters/web/conftest.py), mailing through the test's SMTP server."""
    from tests.adapters.web.conftest import web_settings as plain

    return plain.__wrapped__(tmp_path).replace(smtp_url=smtp[1])  # type: ignore[attr-defined]


def uploaded_preview(admin, csv_text: str) -> str:  # type: ignore[no-untyped-def]
    """Upload a customers file, map it as suggested; the preview's address."""
    mapping_url = admin.upload_page(csv_text).headers["Location"]
    return admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "email", "map-1": "first_name",
                                                "map-2": "last_name"}).headers["Location"]


def test_the_api_option_invite_mails_the_created_customers(app, browser_for, smtp):
    mailbox, _ = smtp
    admin = browser_for(ADMIN)
    admin.post_import("email,first_name\nben@example.com,Benjamin\n")  # already a customer before the invite
    response = admin.post_import(CUSTOMERS, options=json.dumps({"invite": True}))
    assert response.status_code == 202, response.json
    document = admin.client.get(f"/api/v1/imports/{response.json['job']}").json
    assert (document["created"], document["updated"]) == (1, 1)
    assert [message["To"].addresses[0].addr_spec for message in mailbox.messages] == ["ana@example.com"]
    assert admin.post_import(CUSTOMERS, options=json.dumps({"invite": "perhaps"})).json["code"] == "options.invalid"


def test_the_preview_and_the_api_say_when_invite_is_asked_without_smtp(app, browser_for, smtp,
                                                                                      web_services):
    mailbox, _ = smtp
    admin = browser_for(ADMIN)
    preview_url = uploaded_preview(admin, CUSTOMERS)
    assert 'id="option-invite"' in admin.client.get(preview_url).text
    web_services.settings = web_services.settings.replace(smtp_url="")  # as a host without SMTP would show it
    asked = admin.client.post(preview_url.split("?")[0], data={"csrf_token": admin.csrf, "invite": "true"})
    assert UNMET in admin.client.get(asked.headers["Location"]).text
    assert mailbox.messages == []  # a preview mails nobody
    started = admin.post_import(CUSTOMERS, options=json.dumps({"invite": True}))
    assert started.status_code == 202 and UNMET in started.json["notes"][0]
    assert admin.post_import("email\nzed@example.com\n").json["notes"] == []  # nothing asked, nothing said


@pytest.mark.browser
@pytest.mark.slow
def test_in_chromium_the_preview_checkbox_starts_an_import_that_invites_and_the_link_sets_a_password(
        live_server, page, web_settings, web_services, start_worker, smtp):
    mailbox, _ = smtp
    start_worker(web_settings.replace(public_url=live_server), "--workers", "1")  # it mails the links
    page.goto(live_server + "/")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/importer/new")
    page.goto(live_server + "/importer/new/customers")
    page.set_input_files("#file", files=[{"name": "customers.csv", "mimeType": "text/csv",
                                          "buffer": CUSTOMERS.encode()}])
    page.click("#upload-button")
    page.wait_for_selector("#mapping-form")
    page.click("#mapping-next")
    page.wait_for_selector("#preview-summary", timeout=60_000)
    page.click("#options summary")
    page.check("#option-invite")
    screenshot(page, "customer-invite-option")
    page.click("#update-preview")
    page.wait_for_selector("#preview-summary", timeout=60_000)
    assert page.is_checked("#option-invite")
    assert page.locator("#option-invite-unmet").count() == 0  # smtp_url is set
    page.click("#start-import")
    page.wait_for_url("**/importer/jobs/*")
    wait_until(lambda: len(mailbox.messages) == 2, what="two invitations")
    [to_ana] = mailbox.to("ana@example.com")
    link = LINK.search(to_ana.get_content())
    assert link is not None and link.group(1).startswith(live_server) and token_in(to_ana) in link.group(1)

    page.goto(link.group(1))
    page.fill("#password", "Ana-chose-this-1")
    page.fill("#confirm", "Ana-chose-this-1")
    page.click("#set-password")
    assert "customer portal" in page.inner_text("#password-set")
    screenshot(page, "customer-password-set")
    assert web_services.people.verify("ana@example.com", "Ana-chose-this-1")
    page.goto(link.group(1))
    assert "does not work any more" in page.inner_text("#invitation-unusable")
