"""Sign-in throttling and server-side sessions, against real `contact-importer serve` processes sharing a database."""

from __future__ import annotations

import io
import re
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from adapters.db.people import web_sessions, web_sign_in_failures
from plugin.services.people import People
from tests.adapters.web.conftest import ADMIN, AGENT, PASSWORD, SUPPORT_ADMIN
from tests.adapters.web.serving import clean_environment, run_cli, serve  # noqa: F401  (fixture)

ADMIN_PASSWORD = "admin-password-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def host_folder(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = clean_environment(database_url=f"sqlite:///{tmp_path}/contacts.db", secret_key="k" * 40,
                            queue_path=str(tmp_path / "queue.db"), upload_dir=str(tmp_path / "uploads"))
    for email in (ADMIN, "second@example.com"):
        made = run_cli(tmp_path, env, "users", "create-admin", email, "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
    return tmp_path, env


def attempt(base_url: str, email: str, password: str, client: requests.Session | None = None) -> requests.Response:
    client = client or requests.Session()
    token = CSRF.search(client.get(base_url + "/sign-in", timeout=30).text).group(1)  # type: ignore[union-attr]
    return client.post(base_url + "/sign-in", data={"email": email, "password": password, "csrf_token": token},
                       allow_redirects=False, timeout=60)


@pytest.mark.slow
def test_failed_sign_ins_lock_the_account_for_every_host_process_with_429_retry_after_and_a_page(serve, host_folder):
    folder, env = host_folder
    first, second = serve(folder, env, "--no-worker"), serve(folder, env, "--no-worker")
    started = time.monotonic()
    answers = [attempt(first.url, ADMIN, f"wrong-{n}").status_code for n in range(5)]
    wrong_seconds = time.monotonic() - started
    assert answers == [400] * 5
    refused = attempt(second.url, ADMIN, ADMIN_PASSWORD)  # the right password, on the other process
    print(f"throttling: 5 wrong passwords in {wrong_seconds:.2f} s; the 6th attempt (right password, other "
          f"process) answered {refused.status_code} Retry-After {refused.headers.get('Retry-After')}")
    assert refused.status_code == 429
    assert 800 < int(refused.headers["Retry-After"]) <= 900  # sign_in_lock_minutes = 15 from the first failure
    assert "Too many failed attempts. Try again in 15 minutes." in refused.text
    assert attempt(first.url, ADMIN.upper(), ADMIN_PASSWORD).status_code == 429  # the same account, any case
    assert attempt(first.url, "second@example.com", ADMIN_PASSWORD).status_code == 302  # other accounts sign in


@pytest.mark.slow
def test_failed_sign_ins_from_one_address_lock_it_whatever_the_emails(serve, host_folder):
    folder, env = host_folder
    served = serve(folder, env, "--no-worker")
    assert {attempt(served.url, f"nobody{n}@example.com", "guess").status_code for n in range(20)} == {400}
    refused = attempt(served.url, "second@example.com", ADMIN_PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


@pytest.mark.slow
def test_failed_api_tokens_lock_the_address_with_429(serve, host_folder):
    folder, env = host_folder
    token = run_cli(folder, env, "tokens", "create", ADMIN).stdout.strip()
    served = serve(folder, env, "--no-worker")
    statuses = {requests.get(served.url + "/api/v1/imports", headers={"Authorization": f"Bearer cit_wrong{n}"},
                             timeout=30).status_code for n in range(20)}
    assert statuses == {401}
    refused = requests.get(served.url + "/api/v1/imports", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["code"] == "auth.throttled"


@pytest.mark.slow
def test_a_wrong_password_takes_as_long_for_an_unknown_email_as_for_a_known_one(serve, host_folder):
    folder, env = host_folder
    served = serve(folder, env, "--no-worker")
    attempt(served.url, "warm-up@example.com", "x")
    known, unknown = [], []
    for n in range(4):  # under both limits: 4 for the account, 9 for the address
        for email, times in ((ADMIN, known), (f"unknown{n}@example.com", unknown)):
            client = requests.Session()
            client.get(served.url + "/sign-in", timeout=30)
            started = time.monotonic()
            assert attempt(served.url, email, "not-the-password", client).status_code == 400
            times.append(time.monotonic() - started)
    ratio = statistics.median(unknown) / statistics.median(known)
    print(f"sign-in timing: known {statistics.median(known):.3f} s, unknown {statistics.median(unknown):.3f} s")
    assert 0.5 < ratio < 2


@pytest.mark.slow
def test_sign_out_ends_the_session_for_every_copy_of_its_cookie(serve, host_folder):
    folder, env = host_folder
    served = serve(folder, env, "--no-worker")
    person = requests.Session()
    assert attempt(served.url, ADMIN, ADMIN_PASSWORD, person).status_code == 302
    copy = requests.Session()
    copy.cookies.update(person.cookies)
    history = served.url + "/importer/history"
    assert copy.get(history, allow_redirects=False, timeout=30).status_code == 200
    old_csrf = CSRF.search(copy.get(history, timeout=30).text).group(1)  # type: ignore[union-attr]
    own_csrf = CSRF.search(person.get(history, timeout=30).text).group(1)  # type: ignore[union-attr]
    assert person.post(served.url + "/sign-out", data={"csrf_token": own_csrf}, allow_redirects=False,
                       timeout=30).status_code == 302
    assert copy.get(history, allow_redirects=False, timeout=30).status_code == 302  # to sign-in
    started = copy.post(served.url + "/api/v1/imports", headers={"X-CSRF-Token": old_csrf},
                        data={"kind": "customers"},
                        files={"file": ("people.csv", io.BytesIO(b"email\nann@example.com\n"))}, timeout=30)
    assert started.status_code == 401


@pytest.mark.parametrize(("email", "change"), [
    (AGENT, "active\nfalse"),  # deactivated
    (SUPPORT_ADMIN, "role\nagent"),  # demoted
    (AGENT, "password\nan-entirely-new-one"),  # another password
])
def test_deactivation_demotion_or_a_new_password_ends_the_agents_sessions_at_once(browser_for, web_services,
                                                                                  email, change):
    browser = browser_for(email)
    assert browser.client.get("/notifications").status_code == 200
    header, value = change.split("\n")
    report = web_services.imports.import_file("users", io.BytesIO(f"email,{header}\n{email},{value}\n".encode()),
                                              file_name="change.csv", actor="admin")
    assert (report.updated, report.failed) == (1, 0), report.as_dict()
    assert browser.client.get("/notifications").status_code == 302  # back to sign-in
    assert browser.client.get("/notifications/count").status_code == 401


def test_an_unchanged_agent_keeps_their_session(browser_for, web_services):
    browser = browser_for(AGENT)
    web_services.imports.import_file("users", io.BytesIO(f"email,first_name\n{AGENT},Alexandra\n".encode()),
                                     file_name="rename.csv", actor="admin")
    assert browser.client.get("/notifications").status_code == 200


def test_a_session_ends_after_its_idle_time_and_after_its_lifetime(web_services):
    clock = [datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)]
    settings = web_services.settings.replace(session_hours=2, session_idle_minutes=30)
    web_services.settings = settings
    people = People(web_services, now=lambda: clock[0])
    idle = people.sign_in(ADMIN, PASSWORD, address="192.0.2.1").session
    busy = people.sign_in(ADMIN, PASSWORD, address="192.0.2.1").session
    for _ in range(7):  # busy: a request every 20 minutes for 2 h 20 min
        clock[0] += timedelta(minutes=20)
        assert (people.session_account(busy) is not None) == (clock[0] - datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
                                                               < timedelta(hours=2))
        if clock[0] - datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc) == timedelta(minutes=20):
            assert people.session_account(idle) is not None  # 20 minutes idle: still fine
    assert people.session_account(idle) is None  # more than 30 minutes since its last request


def test_a_sign_in_forgets_sessions_past_their_lifetime_and_failures_past_the_lock(web_services):
    clock = [datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)]
    people = People(web_services, now=lambda: clock[0])
    people.sign_in(ADMIN, PASSWORD, address="192.0.2.1")
    people.sign_in("nobody@example.com", "guess", address="192.0.2.2")
    engine = web_services.store.engine

    def rows(table) -> int:  # type: ignore[no-untyped-def]
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    assert (rows(web_sessions), rows(web_sign_in_failures)) == (1, 2)
    clock[0] += timedelta(hours=web_services.settings.session_hours, seconds=1)
    people.sign_in(AGENT, PASSWORD, address="192.0.2.3")
    assert (rows(web_sessions), rows(web_sign_in_failures)) == (1, 0)  # only the new session is left
