"""The pages with the Flask test client: mapping suggestions and checks, saved mappings, the preview that
writes nothing, start, result, notifications, history, escaping, CSRF; and `register()` in another host."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

from flask import Flask, session
from sqlalchemy import func, select

from adapters.db.models import contacts
from adapters.jobs import run_queued_import
from adapters.web import Notice, register
from tests.adapters.web.conftest import ADMIN, SUPPORT_ADMIN, counts, files_in

PEOPLE = ("E-mail Address,Given Name,Famly Name,Org\n"
          "ann@example.com,Ann,Lee,Acme\n"
          "not-an-email,Bob,Stone,Acme\n"
          "cy@example.com,<script>alert('x')</script>,Young,Acme\n")


def engine_of(app):  # type: ignore[no-untyped-def]
    return app.extensions["contact_importer"].services.store.engine


def contact_count(app) -> int:  # type: ignore[no-untyped-def]
    with engine_of(app).connect() as connection:
        return connection.execute(select(func.count()).select_from(contacts)).scalar_one()


def selected(page_html: str) -> dict[str, str]:
    """Each column's header → the field selected for it."""
    found = {}
    for header, body in re.findall(r'data-header="([^"]*)">(.*?)</select>', page_html, re.S):
        choice = re.search(r'<option value="([^"]*)" selected', body)
        found[html.unescape(header)] = choice.group(1) if choice else ""
    return found


def uploaded(browser, csv_text: str = PEOPLE) -> str:  # type: ignore[no-untyped-def]
    response = browser.upload_page(csv_text)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def test_the_mapping_page_suggests_exact_alias_and_fuzzy_matches_with_their_confidence(app, browser_for):
    admin = browser_for(ADMIN)
    page = admin.client.get(uploaded(admin)).text
    assert selected(page) == {"E-mail Address": "email", "Given Name": "first_name", "Famly Name": "last_name",
                              "Org": ""}
    assert "known name" in page  # the aliases
    assert re.search(r"similar name, \d+% sure", page)  # "Famly Name" ~ "family name"
    assert "ignored" in page and "Ann" in page  # unmapped column shown as ignored; first values shown


def test_an_unmapped_required_field_blocks_the_next_step_with_a_clear_message(app, browser_for):
    admin = browser_for(ADMIN)
    mapping_url = uploaded(admin)
    before = counts(engine_of(app))
    response = admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "", "map-1": "first_name",
                                                    "map-2": "first_name", "map-3": ""})
    assert response.status_code == 400
    page = html.unescape(response.text)  # the core's words, as the command line and the API say them
    assert "No column maps to email: the file needs a column headed 'email'" in page
    assert "Both 'Given Name' and 'Famly Name' are mapped to first_name; each field takes one column." in page
    assert counts(engine_of(app))["import_jobs"] == before["import_jobs"]


def test_a_saved_mapping_is_suggested_again_for_a_file_with_the_same_headers(app, browser_for):
    admin = browser_for(ADMIN)
    mapping_url = uploaded(admin)
    admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "email", "map-1": "last_name",
                                         "map-2": "first_name", "map-3": "", "save_as": "Backwards CRM"})
    second = admin.client.get(uploaded(admin, PEOPLE.replace("ann@", "dee@"))).text
    assert "saved mapping “Backwards CRM”" in second
    assert selected(second)["Given Name"] == "last_name" and selected(second)["Famly Name"] == "first_name"
    other_headers = admin.client.get(uploaded(admin, "Email,First\na@example.com,A\n")).text
    assert "Backwards CRM" not in other_headers


def test_the_preview_shows_counts_and_rows_and_writes_nothing_until_start(app, browser_for, web_settings):
    admin = browser_for(ADMIN)
    mapping_url = uploaded(admin)
    response = admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "email", "map-1": "first_name",
                                                    "map-2": "last_name", "map-3": ""})
    preview = admin.client.get(response.headers["Location"]).text
    assert "Would import 2 customers: 2 created, 0 updated, 1 failed. Nothing has been written yet." in preview
    assert re.search(r'id="count-created">2<', preview) and re.search(r'id="count-failed">1<', preview)
    assert "is not a valid email address" in preview  # the error in place, in its row
    assert contact_count(app) == 0
    assert len(files_in(web_settings.upload_dir)) == 1  # kept for Start, outside the web root, private
    kept = Path(web_settings.upload_dir) / files_in(web_settings.upload_dir)[0]
    assert kept.stat().st_mode & 0o777 == 0o600 and "static" not in kept.parts
    assert admin.client.get(f"/importer/static/{kept.name}").status_code == 404

    upload_id = mapping_url.split("/")[3]
    started = admin.client.post(f"/importer/uploads/{upload_id}/start", data={"csrf_token": admin.csrf})
    result = admin.client.get(started.headers["Location"]).text
    assert "Imported 2 customers: 2 created, 0 updated, 1 failed" in result
    assert 'id="error-report"' in result
    assert contact_count(app) == 2
    assert files_in(web_settings.upload_dir) == []  # deleted when the import ended


def test_an_update_preview_shows_old_and_new_values_and_options_apply(app, browser_for):
    admin = browser_for(ADMIN)
    admin.post_import("email,first_name,last_name\nann@example.com,Ann,Lee\n")
    mapping_url = uploaded(admin, "email,first_name,last_name\nann@example.com,Annie,\nnew@example.com,,\n")
    preview_url = admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "email",
                                                       "map-1": "first_name", "map-2": "last_name"}).headers["Location"]
    preview = admin.client.get(preview_url).text
    assert "<del>Ann</del> → <ins>Annie</ins>" in preview
    assert "needs a first name" in preview  # the new row without one
    with_default = admin.client.post(preview_url.split("?")[0], data={"csrf_token": admin.csrf,
                                                                      "default-first_name": "Friend"})
    again = admin.client.get(with_default.headers["Location"]).text
    assert "Would import 2 customers: 1 created, 1 updated, 0 failed" in again


def test_user_supplied_text_is_escaped_on_every_page(app, browser_for):
    admin = browser_for(ADMIN)
    evil_name = "<script>alert('x')</script>"
    mapping_url = admin.upload_page(PEOPLE, file_name="<img src=x onerror=alert(1)>.csv").headers["Location"]
    pages = [admin.client.get(mapping_url).text]
    preview_url = admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "email",
                                                       "map-1": "first_name", "map-2": "last_name"}).headers["Location"]
    pages.append(admin.client.get(preview_url).text)
    upload_id = mapping_url.split("/")[3]
    job_url = admin.client.post(f"/importer/uploads/{upload_id}/start",
                                data={"csrf_token": admin.csrf}).headers["Location"]
    pages += [admin.client.get(job_url).text, admin.client.get("/importer/history").text,
              admin.client.get("/notifications").text]
    for text in pages:
        assert evil_name not in text and "<img src=x" not in text
    assert html.escape(evil_name, quote=False) in pages[1] or "&lt;script&gt;" in pages[1]


def test_a_form_without_its_csrf_token_is_refused_and_stores_nothing(app, browser_for, web_settings):
    admin = browser_for(ADMIN)
    before = counts(engine_of(app))
    response = admin.client.post("/importer/new/customers", data={"file": (io.BytesIO(PEOPLE.encode()), "p.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 400 and "This form has expired" in response.text
    assert counts(engine_of(app)) == before and files_in(web_settings.upload_dir) == []
    wrong = admin.client.post("/sign-out", data={"csrf_token": "forged"})
    assert wrong.status_code == 302 and admin.client.get("/importer/new").status_code == 200  # still signed in


def test_a_support_admin_cannot_open_the_agents_import(app, browser_for):
    support = browser_for(SUPPORT_ADMIN)
    choices = support.client.get("/importer/new").text
    assert 'id="choose-customers"' in choices and 'id="choose-users"' not in choices
    assert support.client.get("/importer/new/users").status_code == 403
    before = counts(engine_of(app))
    response = support.client.post("/importer/new/users", data={
        "csrf_token": support.csrf, "file": (io.BytesIO(b"email,first_name,password,role\nx@example.com,X,pw-123456,admin\n"),
                                             "a.csv")}, content_type="multipart/form-data")
    assert response.status_code == 403 and counts(engine_of(app)) == before


def test_pages_need_a_signed_in_person(app):
    response = app.test_client().get("/importer/new")
    assert response.status_code == 302 and "/sign-in?next=" in response.headers["Location"]


def test_the_bell_counts_unread_notifications_and_history_lists_the_import(app, browser_for):
    admin = browser_for(ADMIN)
    admin.post_import(PEOPLE)
    assert admin.client.get("/notifications/count").json == {"unread": 1}
    page = admin.client.get("/importer/history").text
    assert 'id="bell-count" >1<' in page or re.search(r'id="bell-count"\s*>1<', page)
    assert ADMIN in page and "people.csv" in page and "partial" in page
    listed = admin.client.get("/notifications").text
    assert "Imported 2 customers: 2 created, 0 updated, 1 failed" in listed
    assert admin.client.get("/notifications/count").json == {"unread": 0}


def test_a_helpdesk_mounts_the_importer_with_register_and_gets_notified(web_settings, web_services, tmp_path):
    """The entry point in plugin.toml, in a host of its own: its users, its notification area."""
    helpdesk = Flask("helpdesk")
    helpdesk.secret_key = "helpdesk-secret"
    notices: list[Notice] = []
    state = register(helpdesk, settings=web_settings, notify=notices.append,
                     current_user=lambda: {"id": 7, "email": "boss@helpdesk.test", "name": "Boss",
                                           "role": session.get("role", "agent")})
    client = helpdesk.test_client()
    with client.session_transaction() as stored:
        stored["role"] = "support_admin"
        stored["contact_importer_csrf"] = "token-1"
    response = client.post("/api/v1/imports", headers={"X-CSRF-Token": "token-1"}, content_type="multipart/form-data",
                           data={"kind": "customers", "file": (io.BytesIO(PEOPLE.encode()), "p.csv")})
    assert response.status_code == 202
    assert run_queued_import(state.services, response.json["job"]) == "partial"  # what the worker runs
    assert client.get("/importer/history").status_code == 200
    assert [(notice.recipient, notice.message) for notice in notices] == [
        ("boss@helpdesk.test", "Imported 2 customers: 2 created, 0 updated, 1 failed")]
    assert notices[0].link.endswith(f"/importer/jobs/{response.json['job']}")
    client.get("/importer/history")
    assert len(notices) == 1  # delivered once
    with client.session_transaction() as stored:
        stored["role"] = "agent"
    assert client.get("/importer/new").status_code == 403
    state.services.store.engine.dispose()


def test_an_admin_imports_agents_through_the_pages_and_passwords_never_show(app, browser_for):
    admin = browser_for(ADMIN)
    assert 'id="choose-users"' in admin.client.get("/importer/new").text
    secret = "very-secret-99"
    mapping_url = uploaded_kind(admin, f"Email,First Name,Password,Role\nnew.agent@example.com,Nia,{secret},agent\n"
                                       f"bad-address,Bo,{secret},agent\n", "users")
    page = admin.client.get(mapping_url).text
    assert selected(page) == {"Email": "email", "First Name": "first_name", "Password": "password", "Role": "role"}
    assert 'name="default-password"' not in admin.client.post(
        mapping_url, data={"csrf_token": admin.csrf, "map-0": "email", "map-1": "first_name", "map-2": "password",
                           "map-3": "role"}, follow_redirects=True).text
    upload_id = mapping_url.split("/")[3]
    job_page = admin.client.post(f"/importer/uploads/{upload_id}/start", data={"csrf_token": admin.csrf},
                                 follow_redirects=True).text
    assert "Imported 1 agent: 1 created, 0 updated, 1 failed" in job_page
    job_id = int(re.search(r"Import (\d+):", job_page).group(1))
    report = admin.client.get(f"/api/v1/imports/{job_id}/errors.csv").text
    assert secret not in job_page and secret not in report and "(hidden)" in report


def uploaded_kind(browser, csv_text: str, kind: str) -> str:  # type: ignore[no-untyped-def]
    response = browser.upload_page(csv_text, kind=kind)
    assert response.status_code == 302, response.text
    return response.headers["Location"]
