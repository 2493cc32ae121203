"""The JSON API with the Flask test client: jobs, the CLI's --json fields, roles, tokens, CSRF, limits."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from flask import Flask

from adapters.cli import cli
from adapters.db.tokens import create_token
from adapters.jobs import make_import_queue
from adapters.web.host import create_app
from tests.adapters.web.conftest import ADMIN, AGENT, SUPPORT_ADMIN, Browser, counts, customers_csv, files_in

PEOPLE = ("Email Address,First,Surname,Notes\n"
          "ann@example.com,Ann,Lee,=HYPERLINK(\"http://evil\")\n"
          "not-an-email,Bob,Stone,hello\n"
          "cy@example.com,Cy,Young,\n")


def engine_of(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["contact_importer"].services.store.engine


def test_an_import_is_accepted_with_202_and_reads_back_with_the_cli_json_fields_and_progress(
        app, browser_for, web_settings, tmp_path):
    admin = browser_for(ADMIN)
    response = admin.post_import(PEOPLE)
    assert response.status_code == 202, response.json
    job_id = response.json["job"]
    assert response.headers["Location"].endswith(f"/api/v1/imports/{job_id}")

    document = admin.client.get(f"/api/v1/imports/{job_id}").json
    source = tmp_path / "people.csv"
    source.write_text(PEOPLE)
    result = CliRunner().invoke(cli, ["--database-url", web_settings.database_url, "import", "customers", str(source),
                                      "--json", "--dry-run"])
    cli_document = json.loads(result.output)
    assert set(cli_document) <= set(document)
    assert (document["status"], document["rows"], document["created"], document["failed"]) == ("partial", 3, 2, 1)
    assert document["errors"] == [{"row": 3, "column": "Email Address", "code": "email.invalid",
                                   "message": document["errors"][0]["message"]}]
    assert document["ignored_columns"] == ["Notes"]
    assert {name: document["progress"][name] for name in ("done", "total", "percent", "eta_seconds", "eta_text")} == {
        "done": 3, "total": 3, "percent": 100, "eta_seconds": 0, "eta_text": "done"}
    assert document["summary"] == "Imported 2 customers: 2 created, 0 updated, 1 failed"


def test_a_dry_run_through_the_api_writes_nothing_and_deletes_its_upload(app, browser_for, web_settings):
    admin = browser_for(ADMIN)
    before = counts(engine_of(app))["contacts"]
    response = admin.post_import(PEOPLE, dry_run="true")
    document = admin.client.get(f"/api/v1/imports/{response.json['job']}").json
    assert (document["status"], document["created"]) == ("dry-run", 2)
    assert counts(engine_of(app))["contacts"] == before
    assert files_in(web_settings.upload_dir) == []


def test_mapping_and_options_are_taken_from_the_request(app, browser_for):
    admin = browser_for(ADMIN)
    csv_text = "Correo,Nombre\nana@example.com,\n"
    response = admin.post_import(csv_text, mapping=json.dumps({"Correo": "email", "Nombre": "first_name"}),
                                 options=json.dumps({"defaults": {"first_name": "Unknown"}}))
    assert response.status_code == 202, response.json
    document = admin.client.get(f"/api/v1/imports/{response.json['job']}").json
    assert document["created"] == 1
    assert [column["field"] for column in document["mapping"]] == ["email", "first_name"]
    rows = admin.client.get(f"/api/v1/imports/{response.json['job']}/rows").json["rows"]
    assert {"field": "first_name", "old": None, "new": "Unknown"} in rows[0]["changes"]


@pytest.mark.parametrize(("fields", "code"), [
    ({"kind": "tickets"}, "kind.unknown"),
    ({"mapping": "{not json"}, "mapping.invalid"),
    ({"mapping": json.dumps({"Nope": "email"})}, "mapping.unknown_column"),
    ({"options": json.dumps({"all_or_nothing": "perhaps"})}, "options.invalid"),
])
def test_a_request_that_cannot_be_used_is_400_with_a_code_and_queues_nothing(app, browser_for, fields, code,
                                                                            web_settings):
    admin = browser_for(ADMIN)
    before = counts(engine_of(app))
    data = {"kind": "customers", **fields}
    response = admin.client.post("/api/v1/imports", data={**data, "file": (io.BytesIO(PEOPLE.encode()), "p.csv")},
                                 headers={"X-CSRF-Token": admin.csrf}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.json["code"] == code and response.json["message"]
    assert counts(engine_of(app)) == before
    assert files_in(web_settings.upload_dir) == []


def test_a_damaged_workbook_is_refused_before_anything_is_queued(app, browser_for, web_settings):
    admin = browser_for(ADMIN)
    before = counts(engine_of(app))
    response = admin.post_import(b"PK\x03\x04" + b"\x00" * 200, file_name="people.xlsx")
    assert (response.status_code, response.json["code"]) == (400, "file.workbook_corrupt")
    assert counts(engine_of(app)) == before
    assert files_in(web_settings.upload_dir) == []


@pytest.mark.parametrize(("email", "kind", "status"), [
    (SUPPORT_ADMIN, "users", 403),
    (AGENT, "customers", 403),
    (AGENT, "users", 403),
    (None, "customers", 401),
])
def test_a_forbidden_import_gets_403_and_changes_nothing(app, browser_for, web_settings, email, kind, status):
    caller = browser_for(email)
    before = counts(engine_of(app))
    body = "email,first_name,password,role\nnew@example.com,New,long-enough-1,admin\n"
    response = caller.post_import(body, kind=kind)
    assert response.status_code == status
    assert response.json["code"] in {"forbidden", "auth.required"}
    assert counts(engine_of(app)) == before
    assert files_in(web_settings.upload_dir) == []


def test_a_support_admin_imports_customers_but_cannot_read_an_agents_import(app, browser_for):
    admin, support = browser_for(ADMIN), browser_for(SUPPORT_ADMIN)
    agents_job = admin.post_import("email,first_name,password\nx@example.com,X,long-enough-1\n", kind="users").json["job"]
    customers_job = support.post_import(PEOPLE).json["job"]
    assert support.client.get(f"/api/v1/imports/{customers_job}").status_code == 200
    for path in (f"/api/v1/imports/{agents_job}", f"/api/v1/imports/{agents_job}/errors.csv",
                 f"/api/v1/imports/{agents_job}/rows", "/api/v1/templates/users.csv"):
        assert support.client.get(path).status_code == 403, path
    listed = {item["job"] for item in support.client.get("/api/v1/imports").json["imports"]}
    assert customers_job in listed and agents_job not in listed


def test_an_agent_sees_no_importer_page(app, browser_for):
    agent = browser_for(AGENT)
    for path in ("/importer/new", "/importer/new/customers", "/importer/history"):
        response = agent.client.get(path)
        assert response.status_code == 403, path
        assert "Not allowed" in response.text


def test_a_session_post_without_the_csrf_token_is_refused_and_changes_nothing(app, browser_for):
    admin = browser_for(ADMIN)
    before = counts(engine_of(app))
    response = admin.client.post("/api/v1/imports", data={"kind": "customers",
                                                          "file": (io.BytesIO(PEOPLE.encode()), "p.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 403 and response.json["code"] == "csrf.invalid"
    assert counts(engine_of(app)) == before


def test_an_api_token_made_on_the_command_line_acts_as_its_agent_without_csrf(app, web_settings):
    made = CliRunner().invoke(cli, ["--database-url", web_settings.database_url, "tokens", "create", SUPPORT_ADMIN])
    assert made.exit_code == 0, made.output
    token = made.output.splitlines()[0]
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    accepted = client.post("/api/v1/imports", headers=bearer, content_type="multipart/form-data",
                           data={"kind": "customers", "file": (io.BytesIO(PEOPLE.encode()), "p.csv")})
    assert accepted.status_code == 202
    assert client.get(f"/api/v1/imports/{accepted.json['job']}", headers=bearer).json["actor"] == SUPPORT_ADMIN
    refused = client.post("/api/v1/imports", headers=bearer, content_type="multipart/form-data",
                          data={"kind": "users", "file": (io.BytesIO(b"email\nz@example.com\n"), "u.csv")})
    assert refused.status_code == 403
    assert client.get("/api/v1/imports", headers={"Authorization": "Bearer cit_not-a-token"}).status_code == 401


def test_tokens_are_stored_only_as_hashes(app, web_settings):
    engine = engine_of(app)
    token = create_token(engine, ADMIN)
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("select token_hash from web_api_tokens").scalars().all()
    assert token not in stored and len(stored[0]) == 64


def test_a_token_for_an_unknown_person_is_refused_on_the_command_line(app, web_settings):
    result = CliRunner().invoke(cli, ["--database-url", web_settings.database_url, "tokens", "create",
                                      "nobody@example.com"])
    assert result.exit_code == 1 and "no active agent" in result.output


def test_the_error_report_has_the_original_columns_then_row_column_message_and_no_live_formulas(app, browser_for):
    admin = browser_for(ADMIN)
    body = "Email Address,First,Notes\nnot-an-email,=cmd|' /C calc'!A0,x\nok@example.com,Ok,y\n"
    job_id = admin.post_import(body).json["job"]
    response = admin.client.get(f"/api/v1/imports/{job_id}/errors.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Email Address", "First", "Notes", "row", "column", "message"]
    neutralised = ["not-an-email", "'=cmd|' /C calc'!A0", "x"]  # one line per error, original cells each time
    assert [row[:5] for row in rows[1:]] == [[*neutralised, "2", "Email Address"], [*neutralised, "2", "First"]]


def test_the_sample_csv_and_the_openapi_document(app, browser_for):
    admin = browser_for(ADMIN)
    sample = admin.client.get("/api/v1/templates/customers.csv")
    assert sample.status_code == 200 and sample.text.splitlines()[0].startswith("email,first_name,last_name")
    document = app.test_client().get("/api/v1/openapi.json").json  # public: describes, reveals no data
    assert document["openapi"].startswith("3.")
    routes = {rule.rule.removeprefix("/api/v1").replace("<int:job_id>", "{job_id}").replace("<kind_name>", "{kind}")
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    assert routes == set(document["paths"])


def test_an_upload_over_the_size_limit_is_413_with_a_clear_message_and_nothing_kept(
        web_settings, web_services, browser_for):
    small = web_settings.replace(max_file_bytes=1000)
    web_services.settings = small
    app = create_app(small, services=web_services, queue=make_import_queue(web_services, immediate=True))
    admin = Browser(app.test_client())
    admin.sign_in(ADMIN)
    before = counts(app.extensions["contact_importer"].services.store.engine)
    for rows in (100, 3000):  # over max_file_bytes; and over the request limit, refused before it is read
        big = customers_csv(rows)
        api = admin.post_import(big)
        assert api.status_code == 413 and api.json["code"] == "file.too_large"
        page = admin.upload_page(big)
        assert page.status_code == 413
        assert "The file is too large" in page.text and "Split the file" in page.text
        assert "Traceback" not in page.text
    assert counts(app.extensions["contact_importer"].services.store.engine) == before
    assert files_in(small.upload_dir) == []


def test_responses_carry_security_headers_and_a_csp_without_inline_script(app, browser_for):
    admin = browser_for(ADMIN)
    for path in ("/importer/new", "/api/v1/imports", "/sign-in"):
        headers = admin.client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
    page = admin.client.get("/importer/new/customers").text
    assert "<script>" not in page and "onclick" not in page and " style=" not in page


def test_an_unexpected_error_shows_no_stack_trace(app, browser_for):
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", view_func=boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text
