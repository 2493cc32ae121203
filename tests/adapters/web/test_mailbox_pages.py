"""The mailbox pages against a real Dovecot (tests/adapters/imap/conftest.py) and a real database: an admin adds,
polls, reads the skips of, edits and removes a mailbox through the Flask test client; a wrong password or folder
saves nothing and says so; support admins and agents get 403 and change nothing."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from adapters.db.models import contacts, labels
from adapters.imap.access import AccessRefused, access_check
from adapters.web import mailbox_pages
from tests.adapters.imap import conftest as imap_fixtures
from tests.adapters.imap.conftest import ImapServer
from tests.adapters.imap.test_poll import message
from tests.adapters.web.conftest import ADMIN, AGENT, SUPPORT_ADMIN, screenshot

pytestmark = pytest.mark.imap

PASSWORD_ENV = "MAILPAGES_IMAP_PASSWORD"
imap_server = imap_fixtures.imap_server  # the real Dovecot, and a new folder of it for each test
folder = imap_fixtures.folder


def form(server: ImapServer, folder_name: str, **changes: str) -> dict[str, str]:
    fields = {"name": "support", "host": server.host, "port": str(server.port), "user": server.user,
              "password_env": PASSWORD_ENV, "folder": folder_name, "own_addresses": "help@example.com",
              "label": "From mail"}  # no "tls": the test server is plain text on loopback
    fields.update(changes)
    return fields


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page's words, without tags and runs of white space."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))


@pytest.fixture
def admin(browser_for, imap_server, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(PASSWORD_ENV, imap_server.password)
    return browser_for(ADMIN)


def post(browser, path: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return browser.client.post(path, data={"csrf_token": browser.csrf, **(data or {})})


def emails(services) -> set[str]:  # type: ignore[no-untyped-def]
    with services.store.engine.connect() as connection:
        return set(connection.execute(select(contacts.c.email)).scalars())


def test_an_admin_adds_a_mailbox_from_the_page_after_logging_in_to_the_real_server(admin, imap_server, folder,
                                                                                   web_services):
    page = admin.client.get("/importer/mailboxes/new")
    assert page.status_code == 200
    words = text_of(page)
    assert "never typed here, stored in the database or shown on a page" in words
    assert all(f'for="mailbox-{field}"' in page.text for field in ("name", "host", "port", "tls", "user",
                                                                     "password-env", "folder", "own-addresses",
                                                                     "label"))
    added = post(admin, "/importer/mailboxes/new", form(imap_server, folder))
    assert added.status_code == 302, text_of(added)
    (mailbox,) = web_services.capture.mailboxes()
    assert (mailbox.name, mailbox.folder, mailbox.password_env, mailbox.tls, mailbox.own_addresses,
            mailbox.label) == ("support", folder, PASSWORD_ENV, False, ("help@example.com",), "From mail")
    listed = text_of(admin.client.get(added.headers["Location"]))
    assert "Mailbox support added." in listed
    assert f"{imap_server.user} on {imap_server.host}:{imap_server.port} (no TLS)" in listed
    assert f"password in {PASSWORD_ENV} (set for this server)" in listed
    assert "New: not polled yet" in listed and "never" in listed and "not read yet" in listed
    assert 'type="password"' not in page.text  # only the variable's name is asked for


def test_a_wrong_password_folder_or_variable_saves_nothing_and_the_page_says_what_failed(admin, imap_server, folder,
                                                                                        web_services, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "nope")
    wrong = post(admin, "/importer/mailboxes/new", form(imap_server, folder))
    assert wrong.status_code == 400
    assert "Mailbox support was not saved: wrong user name or password." in text_of(wrong)
    assert "nope" not in wrong.text
    assert 'value="support"' in wrong.text  # the form is kept
    monkeypatch.setenv(PASSWORD_ENV, imap_server.password)
    nowhere = post(admin, "/importer/mailboxes/new", form(imap_server, "Nowhere"))
    assert (nowhere.status_code, "was not saved: no such folder." in text_of(nowhere)) == (400, True)
    unset = post(admin, "/importer/mailboxes/new", form(imap_server, folder, password_env="MAILPAGES_UNSET"))
    assert "the environment variable MAILPAGES_UNSET is not set" in text_of(unset)
    assert "MAILPAGES_UNSET is not set for this server process right now" in text_of(unset)
    not_a_name = post(admin, "/importer/mailboxes/new", form(imap_server, folder, password_env="my password"))
    assert "'my password' is not an environment variable name" in text_of(not_a_name)
    no_csrf = admin.client.post("/importer/mailboxes/new", data=form(imap_server, folder))
    assert no_csrf.status_code == 400
    assert web_services.capture.mailboxes() == []
    with web_services.store.engine.connect() as connection:
        assert connection.execute(select(labels.c.name).where(labels.c.name == "From mail")).all() == []


def test_poll_now_captures_real_mail_and_the_list_and_skips_page_show_what_it_came_to(admin, imap_server, folder,
                                                                                       web_services, monkeypatch):
    assert post(admin, "/importer/mailboxes/new", form(imap_server, folder)).status_code == 302
    imap_server.append(folder, message(b"John Doe <john@example.com>", number=1),
                       message(b"help@example.com", number=2),
                       message(b"noreply@example.net", b"Auto-Submitted: auto-replied\n", number=3))
    polled = post(admin, "/importer/mailboxes/support/poll")
    assert polled.status_code == 200
    words = text_of(polled)
    assert "3 new messages read: 1 captured, 0 already known, 2 skipped (0 failed)." in words
    assert "john@example.com John Doe" in words
    assert emails(web_services) >= {"john@example.com"}

    imap_server.append(folder, message(b"john@example.com", number=4))
    again = text_of(post(admin, "/importer/mailboxes/support/poll"))
    assert "1 new message read: 0 captured, 1 already known, 0 skipped (0 failed)." in again

    (mailbox,) = web_services.capture.mailboxes()
    listed = text_of(admin.client.get("/importer/mailboxes"))
    assert f"Working {mailbox.last_poll_at:%Y-%m-%d %H:%M} UTC {mailbox.uidvalidity}/4 1 2" in listed

    skips = admin.client.get("/importer/mailboxes/support/skips")
    assert skips.status_code == 200
    rows = re.findall(r"<tr><td>(\d+)</td>.*?</tr>", skips.text, re.DOTALL)
    assert rows == ["1", "2"]
    assert "own address" in skips.text and "auto reply" in skips.text and "noreply@example.net" in skips.text
    only = text_of(admin.client.get("/importer/mailboxes/support/skips?email=noreply@example.net"))
    assert "auto reply" in only and "own address" not in only
    monkeypatch.setattr(mailbox_pages, "SKIPS_PER_PAGE", 1)
    first = admin.client.get("/importer/mailboxes/support/skips")
    assert "auto reply" in first.text and "own address" not in first.text and 'id="skips-next"' in first.text
    last = admin.client.get("/importer/mailboxes/support/skips?page=2")
    assert "own address" in last.text and 'id="skips-next"' not in last.text  # a full last page has no next


def test_a_poll_that_fails_says_what_failed_and_the_list_shows_the_error_in_words(admin, imap_server, folder,
                                                                                   monkeypatch):
    assert post(admin, "/importer/mailboxes/new", form(imap_server, folder)).status_code == 302
    monkeypatch.setenv(PASSWORD_ENV, "nope")
    failed = text_of(post(admin, "/importer/mailboxes/support/poll"))
    assert "Failed: wrong user name or password." in failed and "The worker tries again at" in failed
    listed = text_of(admin.client.get("/importer/mailboxes"))
    assert "Failing (1 failed poll in a row; next try" in listed
    assert "Last error: wrong user name or password." in listed


def test_an_admin_edits_a_mailbox_and_a_change_that_cannot_log_in_changes_nothing(admin, imap_server, folder,
                                                                                   web_services, monkeypatch):
    assert post(admin, "/importer/mailboxes/new", form(imap_server, folder)).status_code == 302
    imap_server.append(folder, message(b"ann@example.com", number=1))
    post(admin, "/importer/mailboxes/support/poll")
    page = admin.client.get("/importer/mailboxes/support/edit")
    assert page.status_code == 200
    assert f"{PASSWORD_ENV} is set for this server process right now" in text_of(page)
    assert 'value="help@example.com"' not in page.text and "help@example.com</textarea>" in page.text

    refused = post(admin, "/importer/mailboxes/support/edit", form(imap_server, "Nowhere"))
    assert (refused.status_code, "Mailbox support was not changed: no such folder." in text_of(refused)) == (400, True)
    assert web_services.capture.mailbox("support").folder == folder

    monkeypatch.setenv("MAILPAGES_OTHER", imap_server.password)
    changed = post(admin, "/importer/mailboxes/support/edit",
                   form(imap_server, "INBOX", password_env="MAILPAGES_OTHER", label="Support",
                        own_addresses="help@example.com\nsales@example.com"))
    assert changed.status_code == 302, text_of(changed)
    mailbox = web_services.capture.mailbox("support")
    assert (mailbox.folder, mailbox.password_env, mailbox.label, mailbox.own_addresses) == (
        "INBOX", "MAILPAGES_OTHER", "Support", ("help@example.com", "sales@example.com"))
    assert (mailbox.uidvalidity, mailbox.last_uid) == (None, None)  # another folder is read from its start
    assert "Mailbox support changed" in text_of(admin.client.get(changed.headers["Location"]))


def test_remove_asks_first_and_the_captured_customers_stay(admin, imap_server, folder, web_services):
    assert post(admin, "/importer/mailboxes/new", form(imap_server, folder)).status_code == 302
    imap_server.append(folder, message(b"ann@example.com", number=1))
    post(admin, "/importer/mailboxes/support/poll")
    asked = admin.client.get("/importer/mailboxes/support/remove")
    assert asked.status_code == 200
    assert "What stays: every customer it captured" in text_of(asked)
    assert web_services.capture.mailboxes() != []  # asking removes nothing
    removed = post(admin, "/importer/mailboxes/support/remove")
    assert removed.status_code == 302
    assert web_services.capture.mailboxes() == []
    assert "ann@example.com" in emails(web_services)
    assert "The customers it captured stay." in text_of(admin.client.get(removed.headers["Location"]))
    assert admin.client.get("/importer/mailboxes/support/remove").status_code == 404


@pytest.mark.parametrize("email", [SUPPORT_ADMIN, AGENT])
def test_support_admins_and_agents_get_403_on_every_mailbox_page_and_change_nothing(admin, browser_for, imap_server,
                                                                                   folder, web_services, email):
    assert post(admin, "/importer/mailboxes/new", form(imap_server, folder)).status_code == 302
    assert ">Mailboxes</a>" in admin.client.get("/importer/history").text
    other = browser_for(email)
    before = web_services.capture.mailboxes()
    for path in ("/importer/mailboxes", "/importer/mailboxes/new", "/importer/mailboxes/support/edit",
                 "/importer/mailboxes/support/skips", "/importer/mailboxes/support/remove"):
        assert other.client.get(path).status_code == 403, path
    for path, data in (("/importer/mailboxes/new", form(imap_server, folder, name="mine")),
                       ("/importer/mailboxes/support/edit", form(imap_server, "INBOX")),
                       ("/importer/mailboxes/support/poll", {}), ("/importer/mailboxes/support/remove", {})):
        assert post(other, path, data).status_code == 403, path
    assert web_services.capture.mailboxes() == before
    if email == SUPPORT_ADMIN:
        assert ">Mailboxes</a>" not in other.client.get("/importer/history").text


def fill_mailbox_form(page, server: ImapServer, name: str, folder_name: str, password_env: str) -> None:  # type: ignore[no-untyped-def]
    """The add form in Chromium, for the test server (plain text on loopback: no TLS)."""
    page.fill("#mailbox-name", name)
    page.fill("#mailbox-host", server.host)
    page.fill("#mailbox-port", str(server.port))
    page.uncheck("#mailbox-tls")
    page.fill("#mailbox-user", server.user)
    page.fill("#mailbox-password-env", password_env)
    page.fill("#mailbox-folder", folder_name)


@pytest.mark.browser
@pytest.mark.slow
def test_an_admin_adds_a_mailbox_and_polls_it_in_chromium(live_server, page, imap_server, folder, web_services,
                                                          monkeypatch):
    from tests.adapters.web.test_browser import sign_in

    monkeypatch.setenv(PASSWORD_ENV, imap_server.password)  # the live server runs in this process
    sign_in(page, live_server, ADMIN)
    page.click("nav.ci-subnav >> text=Mailboxes")
    page.wait_for_selector("#no-mailboxes")
    screenshot(page, "mailbox-01-list-empty")

    page.click("#add-mailbox")
    fill_mailbox_form(page, imap_server, "support", "Nowhere", PASSWORD_ENV)
    page.fill("#mailbox-own-addresses", "help@example.com")
    page.fill("#mailbox-label", "From mail")
    screenshot(page, "mailbox-02-add")
    page.click("#mailbox-save")
    page.wait_for_selector("#mailbox-problems")
    assert "was not saved: no such folder." in page.inner_text("#mailbox-problems")
    assert f"{PASSWORD_ENV} is set for this server process right now" in page.inner_text("#mailbox-variable-state")
    screenshot(page, "mailbox-03-add-refused")
    page.fill("#mailbox-folder", folder)
    page.click("#mailbox-save")
    page.wait_for_selector("#mailbox-notice")
    assert "New: not polled yet" in page.inner_text("#mailboxes")
    screenshot(page, "mailbox-04-list")

    imap_server.append(folder, message(b"John Doe <john@example.com>", number=1),
                       message(b"noreply@example.net", b"Auto-Submitted: auto-replied\n", number=2))
    page.click("button[aria-label='Poll support now']")
    page.wait_for_selector("#poll-result")
    assert "2 new messages read: 1 captured, 0 already known, 1 skipped (0 failed)." in page.inner_text("#poll-result")
    screenshot(page, "mailbox-05-polled")
    assert "john@example.com" in emails(web_services)

    page.click("text=Skipped messages of support")
    page.wait_for_selector("#skips")
    assert "noreply@example.net" in page.inner_text("#skips")
    screenshot(page, "mailbox-06-skips")

    page.click("text=Back to the mailboxes")
    assert "Working" in page.inner_text("#mailboxes")
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")  # the password changed on the server's side
    page.click("button[aria-label='Poll support now']")
    page.wait_for_selector("#poll-error")
    assert "Failed: wrong user name or password." in page.inner_text("#poll-error")
    screenshot(page, "mailbox-07-poll-failed")
    page.click("text=Back to the mailboxes")
    assert "Failing (1 failed poll in a row" in page.inner_text("#mailboxes")
    assert "Last error: wrong user name or password." in page.inner_text("#mailboxes")
    screenshot(page, "mailbox-07-list-failing")
    page.click("a[aria-label='Edit support']")
    page.wait_for_selector("#mailbox-form")
    screenshot(page, "mailbox-08-edit")
    page.click("text=Cancel")
    page.click("a[aria-label='Remove support']")
    page.wait_for_selector("#remove-stays")
    screenshot(page, "mailbox-09-remove")
    page.click("#remove-confirm")
    page.wait_for_selector("#no-mailboxes")
    assert "The customers it captured stay." in page.inner_text("#mailbox-notice")
    screenshot(page, "mailbox-10-removed")


def test_the_use_cases_behind_the_pages_count_page_and_change_mailboxes_on_sqlite_and_postgresql(services, imap_server,
                                                                                               folder):
    from adapters.imap.poller import poll_mailbox

    environ = {PASSWORD_ENV: imap_server.password}
    capture = services.capture
    for name, where in (("support", folder), ("quiet", "INBOX")):
        capture.add_mailbox(name=name, host=imap_server.host, port=imap_server.port, user=imap_server.user,
                            password_env=PASSWORD_ENV, tls=False, folder=where, own_addresses=["help@example.com"],
                            check=access_check(environ), now=datetime.now(UTC))
    imap_server.append(folder, message(b"John Doe <john@example.com>", number=1), message(b"help@example.com", number=2),
                       message(b"noreply@example.net", b"Auto-Submitted: auto-replied\n", number=3))
    assert not poll_mailbox(services, "support", environ=environ).has_failed
    tallies = {item.mailbox.name: (item.tally.captured, item.tally.skipped) for item in capture.overview()}
    assert tallies == {"quiet": (0, 0), "support": (1, 2)}
    newest, older = capture.skips("support", limit=1), capture.skips("support", limit=1, offset=1)
    assert [skip.uid for skip in newest + older] == [3, 2]
    assert capture.skips("support", limit=1, offset=2) == []

    position = capture.mailbox("support").uidvalidity, capture.mailbox("support").last_uid
    same_place = capture.change_mailbox("support", host=imap_server.host, port=imap_server.port,
                                        user=imap_server.user, password_env=PASSWORD_ENV, tls=False, folder=folder,
                                        label="Mail", check=access_check(environ), now=datetime.now(UTC))
    assert ((same_place.uidvalidity, same_place.last_uid), same_place.label, same_place.own_addresses) == (
        position, "Mail", ())
    moved = capture.change_mailbox("support", host=imap_server.host, port=imap_server.port, user=imap_server.user,
                                   password_env=PASSWORD_ENV, tls=False, folder="INBOX", now=datetime.now(UTC))
    assert (moved.folder, moved.uidvalidity, moved.last_uid) == ("INBOX", None, None)
    with pytest.raises(AccessRefused, match="no such folder"):
        capture.change_mailbox("support", host=imap_server.host, port=imap_server.port, user=imap_server.user,
                               password_env=PASSWORD_ENV, tls=False, folder="Nowhere", check=access_check(environ),
                               now=datetime.now(UTC))
    assert capture.mailbox("support").folder == "INBOX"
