"""An invited agent, end to end: an agents import through `contact-importer serve`, the invitation mailed by its
worker to a real SMTP server (aiosmtpd), the set-password page in Chromium, then sign-in; used, replaced and
expired links; `invitations resend`."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from adapters.bootstrap import bootstrap
from adapters.db.invitations import create_invitation
from adapters.db.catalog import utc_now
from adapters.db.tokens import agent_id_for_email
from adapters.passwords import Argon2Hasher
from plugin.settings import load_settings
from tests.adapters.test_invitations_import import smtp  # noqa: F401  (fixture)
from tests.adapters.web.conftest import screenshot
from tests.adapters.web.serving import clean_environment, run_cli, serve, wait_until  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINK = re.compile(r"(http://\S+/agents/set-password\?token=[\w-]+)")
INVITED = "nia@example.com"


def link_in(message) -> str:  # type: ignore[no-untyped-def]
    found = LINK.search(message.get_body(preferencelist=("plain",)).get_content())
    assert found, message
    return found.group(1)


def test_an_invited_agent_sets_a_password_in_chromium_then_signs_in(serve, smtp, page, tmp_path):  # noqa: F811
    mailbox, smtp_url = smtp
    env = clean_environment(database_url=f"sqlite:///{tmp_path}/contacts.db", secret_key="k" * 40, smtp_url=smtp_url,
                            queue_path=str(tmp_path / "queue.db"), upload_dir=str(tmp_path / "uploads"))
    assert run_cli(tmp_path, env, "users", "create-admin", "admin@example.com", "--password-stdin",
                   stdin="admin-password-1\n").returncode == 0
    token = run_cli(tmp_path, env, "tokens", "create", "admin@example.com").stdout.strip()
    served = serve(tmp_path, env)  # public_url unset: links start with the address served
    started = requests.post(served.url + "/api/v1/imports", headers={"Authorization": f"Bearer {token}"},
                            data={"kind": "users"}, timeout=30,
                            files={"file": ("agents.csv", io.BytesIO(f"email,first_name\n{INVITED},Nia\n".encode()))})
    assert started.status_code == 202, started.text
    wait_until(lambda: mailbox.to(INVITED), what="the invitation mail")
    link = link_in(mailbox.to(INVITED)[0])
    assert link.startswith(served.url + "/agents/set-password?token=")

    page.goto(link)
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("#set-password")
    assert "shorter than 6 characters" in page.inner_text("#set-password-problem")  # the import's rule
    page.fill("#password", "Nia-chose-this-1")
    page.fill("#confirm", "Nia-chose-this-1")
    page.click("#set-password")
    page.wait_for_url("**/sign-in?welcome=1")
    screenshot(page, "invitation-password-set")
    page.fill("#email", INVITED)
    page.fill("#password", "Nia-chose-this-1")
    page.click("#sign-in")
    page.wait_for_url("**/importer/**")
    assert INVITED in page.inner_text("#signed-in-as")

    page.goto(link)  # a second use
    assert "does not work any more" in page.inner_text("#invitation-unusable")
    assert "invitations resend" in page.inner_text("#invitation-unusable")
    assert requests.get(link, timeout=30).status_code == 410


def test_the_set_password_form_needs_its_csrf_token(serve, tmp_path):
    env, link = _pending_invitation(tmp_path)
    served = serve(tmp_path, env, "--no-worker")
    url = served.url + link
    answer = requests.post(url, data={"password": "Long-enough-1", "confirm": "Long-enough-1"}, timeout=30)
    assert answer.status_code == 400 and "The form expired" in answer.text
    assert requests.get(url, timeout=30).status_code == 200  # the link still works


def test_invitations_resend_mails_a_new_link_and_the_old_one_stops_working(serve, smtp, tmp_path):  # noqa: F811
    mailbox, smtp_url = smtp
    env, old_link = _pending_invitation(tmp_path)
    env["CONTACT_IMPORTER_SMTP_URL"] = smtp_url
    served = serve(tmp_path, env, "--no-worker")
    assert requests.get(served.url + old_link, timeout=30).status_code == 200
    resent = run_cli(tmp_path, env, "invitations", "resend", INVITED)
    assert resent.returncode == 0, resent.stderr
    assert f"Mailed a new link to {INVITED}" in resent.stdout
    new_link = link_in(wait_until(lambda: mailbox.to(INVITED), what="the new mail")[0])  # type: ignore[index]
    assert requests.get(served.url + old_link, timeout=30).status_code == 410
    assert requests.get(served.url + new_link.removeprefix("http://127.0.0.1:5000"), timeout=30).status_code == 200
    refused = run_cli(tmp_path, env, "invitations", "resend", "admin@example.com")
    assert refused.returncode == 1 and "no pending invitation" in refused.stderr


def test_an_expired_link_gets_the_page_saying_how_to_get_a_new_one(serve, tmp_path):
    env, _ = _pending_invitation(tmp_path)
    settings = load_settings(environ=env)
    services = bootstrap(settings, hasher=Argon2Hasher(memory_cost=1024, time_cost=1))
    engine = services.store.engine  # type: ignore[attr-defined]
    agent = agent_id_for_email(engine, INVITED)
    assert agent is not None
    expired = create_invitation(engine, agent, hours=1, now=lambda: utc_now() - timedelta(hours=2))
    engine.dispose()
    served = serve(tmp_path, env, "--no-worker")
    answer = requests.get(f"{served.url}/agents/set-password?token={expired.token}", timeout=30)
    assert answer.status_code == 410
    assert "contact-importer invitations resend" in answer.text


def _pending_invitation(folder: Path) -> tuple[dict[str, str], str]:
    """A database with an admin and an invited agent; the path of a fresh link of theirs."""
    env = clean_environment(database_url=f"sqlite:///{folder}/contacts.db", secret_key="k" * 40,
                            queue_path=str(folder / "queue.db"), upload_dir=str(folder / "uploads"))
    assert run_cli(folder, env, "users", "create-admin", "admin@example.com", "--password-stdin",
                   stdin="admin-password-1\n").returncode == 0
    agents = folder / "agents.csv"
    agents.write_text(f"email,first_name\n{INVITED},Nia\n")
    imported = run_cli(folder, env, "import", "users", str(agents))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    printed = run_cli(folder, env, "invitations", "resend", INVITED).stdout.strip()
    assert printed.startswith("http://127.0.0.1:5000/agents/set-password?token=")  # no smtp_url: printed
    return env, printed.removeprefix("http://127.0.0.1:5000")
