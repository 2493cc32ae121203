"""API tokens expire and are listed; hostile file shapes are refused before anything is stored; passwords are
never shown on the mapping page and abandoned uploads do not wait a day."""

from __future__ import annotations

import io
import stat
import time
from datetime import timedelta
from pathlib import Path

import requests
from click.testing import CliRunner
from sqlalchemy import update

from adapters.cli import cli
from adapters.db import tokens
from adapters.db.catalog import utc_now
from adapters.db.uploads import web_uploads
from adapters.jobs import reap_imports
from tests.adapters.web.conftest import ADMIN, AGENT, counts, files_in


def _cli(settings, *args):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--database-url", settings.database_url, *args], catch_exceptions=False)


def test_tokens_create_with_expires_in_and_tokens_list_shows_owner_created_expires_and_last_use(app, web_settings):
    made = _cli(web_settings, "tokens", "create", ADMIN, "--name", "crm sync", "--expires-in", "7")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[0]
    assert app.test_client().get("/api/v1/imports", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = _cli(web_settings, "tokens", "list").stdout.splitlines()
    assert listed[0] == "id\towner\tname\tcreated\texpires\tlast used\tstate"
    _, owner, name, created, expires, last_used, state = listed[1].split("\t")
    assert (owner, name, state) == (ADMIN, "crm sync", "active")
    assert expires == f"{utc_now() + timedelta(days=7):%Y-%m-%d %H:%M}"[:13] + expires[13:]
    assert last_used != "-" and created != "-"


def test_a_new_token_expires_after_token_days_by_default(web_services):
    token, _, expires_at = web_services.people.create_token(ADMIN)
    assert abs(expires_at - (utc_now() + timedelta(days=web_services.settings.token_days))) < timedelta(minutes=1)
    assert web_services.people.token_owner(token, address="192.0.2.9").email == ADMIN


def test_an_expired_or_revoked_token_gets_401(app, web_services, web_settings):
    engine = web_services.store.engine
    expired = tokens.create_token(engine, ADMIN, expires_at=utc_now() - timedelta(seconds=1))
    revoked = tokens.create_token(engine, AGENT)
    assert _cli(web_settings, "tokens", "revoke", AGENT).stdout.strip() == "1 token(s) revoked."
    client = app.test_client()
    for token in (expired, revoked):
        response = client.get("/api/v1/imports", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
    states = [line.split("\t")[-1] for line in _cli(web_settings, "tokens", "list").stdout.splitlines()[1:]]
    assert states == ["expired", "revoked"]


def test_a_million_column_header_is_refused_in_under_a_second_and_writes_nothing(live_server, web_services,
                                                                                 web_settings):
    token = tokens.create_token(web_services.store.engine, ADMIN)
    before = counts(web_services.store.engine)
    body = b"," * 1_000_000 + b"\na@example.com\n"
    started = time.monotonic()
    response = requests.post(live_server + "/api/v1/imports", headers={"Authorization": f"Bearer {token}"},
                             data={"kind": "customers"}, files={"file": ("bomb.csv", io.BytesIO(body))}, timeout=30)
    seconds = time.monotonic() - started
    assert response.status_code == 400 and response.json()["code"] == "file.too_many_columns", response.text
    assert seconds < 1.0
    assert counts(web_services.store.engine) == before
    assert files_in(web_settings.upload_dir) == []


def test_a_header_without_rows_is_refused_as_no_rows(browser_for, web_services):
    response = browser_for(ADMIN).post_import("email,first_name\n")
    assert response.status_code == 400 and response.json["code"] == "file.no_rows"


def test_the_mapping_and_preview_pages_never_show_a_password_column(browser_for):
    admin = browser_for(ADMIN)
    uploaded = admin.upload_page("email,first_name,password\nnew@example.com,Nia,S3cure-pass!\n"
                                 "short@example.com,Sho,S3c\n", kind="users")
    assert uploaded.status_code == 302, uploaded.text
    page = admin.client.get(uploaded.headers["Location"])
    assert page.status_code == 200
    assert "new@example.com" in page.text  # other samples are shown
    assert "S3cure-pass!" not in page.text and ">S3c<" not in page.text
    assert "(hidden)" in page.text
    preview = admin.client.post(uploaded.headers["Location"], follow_redirects=True,
                                data={"csrf_token": admin.csrf, "map-0": "email", "map-1": "first_name",
                                      "map-2": "password"})
    assert preview.status_code == 200
    assert "shorter than 6 characters" in preview.text  # the short password's row error, without the password
    assert "S3cure-pass!" not in preview.text and "S3c<" not in preview.text


def test_an_abandoned_upload_is_deleted_within_minutes(browser_for, web_services, web_settings):
    admin = browser_for(ADMIN)
    admin.upload_page("email,first_name,password\nnew@example.com,Nia,S3cure-pass!\n", kind="users")
    assert len(files_in(web_settings.upload_dir)) == 1
    reap_imports(web_services, enqueue=lambda job: None)
    assert len(files_in(web_settings.upload_dir)) == 1  # still being mapped
    with web_services.store.engine.begin() as connection:
        connection.execute(update(web_uploads).values(
            created_at=utc_now() - timedelta(minutes=web_settings.abandoned_upload_minutes + 1)))
    reap_imports(web_services, enqueue=lambda job: None)  # the reaper runs every minute in each worker
    assert files_in(web_settings.upload_dir) == []
    assert web_settings.abandoned_upload_minutes <= 15


def test_an_agents_upload_rests_on_disk_encrypted_and_still_imports(browser_for, web_settings, web_services):
    admin = browser_for(ADMIN)
    uploaded = admin.upload_page("email,first_name,password\nnew@example.com,Nia,S3cure-pass!\n", kind="users")
    (stored,) = Path(web_settings.upload_dir).iterdir()
    data = stored.read_bytes()
    assert b"S3cure-pass!" not in data and b"new@example.com" not in data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    mapping_url = uploaded.headers["Location"]
    admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "email", "map-1": "first_name",
                                         "map-2": "password"})
    upload_id = mapping_url.split("/")[3]
    started = admin.client.post(f"/importer/uploads/{upload_id}/start", data={"csrf_token": admin.csrf},
                                follow_redirects=True)
    assert "Imported 1 agent: 1 created" in started.text
    assert web_services.people.check_password("new@example.com", "S3cure-pass!") is not None
