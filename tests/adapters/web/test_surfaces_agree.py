"""The command line, the API and the pages agree: the same mapping for the same file, every declared option
reachable in each, the same message for a bad option value, and no command-line flag in a page or API message."""

from __future__ import annotations

import html
import json
import re

import pytest
from click.testing import CliRunner

from adapters.cli import cli
from plugin.options import OptionType, options_of
from tests.adapters.web.conftest import ADMIN
from tests.adapters.web.test_pages import selected, uploaded
from tests.core.test_mapping import GOOGLE_HEADERS, GOOGLE_ROW

GOOGLE_EXPORT = ",".join(GOOGLE_HEADERS) + "\n" + ",".join(GOOGLE_ROW.get(header, "") for header in GOOGLE_HEADERS) + "\n"
CLI_FLAG = re.compile(r"--(?:create|replace|default|no|all|row|region|side|invitations)[a-z-]*")


def run_cli(web_settings, tmp_path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--database-url", web_settings.database_url, *args], catch_exceptions=False)


def csv_file(tmp_path, text: str, name: str = "people.csv") -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def preview_of(admin, csv_text: str, kind: str = "customers") -> str:  # type: ignore[no-untyped-def]
    """The preview page's URL after the suggested mapping was taken as it is."""
    mapping_url = uploaded(admin, csv_text) if kind == "customers" else _uploaded(admin, csv_text, kind)
    suggested = selected(admin.client.get(mapping_url).text)
    form = {f"map-{index}": target for index, target in enumerate(suggested.values())}
    response = admin.client.post(mapping_url, data={"csrf_token": admin.csrf, **form})
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def _uploaded(admin, csv_text: str, kind: str) -> str:  # type: ignore[no-untyped-def]
    response = admin.upload_page(csv_text, kind=kind)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def test_a_google_export_maps_the_same_on_the_command_line_the_api_and_the_page(app, browser_for, web_settings,
                                                                                 tmp_path):
    admin = browser_for(ADMIN)
    result = run_cli(web_settings, tmp_path, "import", "customers", csv_file(tmp_path, GOOGLE_EXPORT), "--dry-run",
                     "--json", "--create-companies")
    on_the_command_line = {column["column"]: column["field"] or "" for column in json.loads(result.stdout)["mapping"]}
    response = admin.post_import(GOOGLE_EXPORT, dry_run="true")
    document = admin.client.get(f"/api/v1/imports/{response.json['job']}").json
    through_the_api = {column["column"]: column["field"] or "" for column in document["mapping"]}
    on_the_page = selected(admin.client.get(uploaded(admin, GOOGLE_EXPORT)).text)
    assert on_the_page == on_the_command_line == through_the_api
    assert on_the_page["Organization 1 - Title"] == ""  # not company_id: 'Sales Manager' is no company id
    assert on_the_page["E-mail 1 - Value"] == "email" and on_the_page["Organization 1 - Name"] == "company"


def test_every_declared_option_is_a_flag_a_form_field_and_an_api_option(app, browser_for, web_settings, tmp_path):
    admin = browser_for(ADMIN)
    help_text = run_cli(web_settings, tmp_path, "import", "--help").stdout
    schema = admin.client.get("/api/v1/openapi.json").json
    api_options = schema["paths"]["/imports"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"][
        "properties"]["options"]["properties"]
    samples = {"customers": "email,first_name\na@example.com,A\n", "users": "email,first_name\nb@example.com,B\n",
               "companies": "name,domains\nAcme,acme.com\n", "leads": "email,first_name\nc@example.com,C\n"}
    for kind in app.extensions["contact_importer"].services.kinds.values():
        page = html.unescape(admin.client.get(preview_of(admin, samples[kind.name], kind.name)).text)
        for option in options_of(kind):
            assert option.cli_flag in help_text, option.name
            assert option.name in api_options, option.name
            if option.type is OptionType.FIELD_VALUES:
                assert 'name="default-first_name"' in page or 'name="default-domains"' in page
            else:
                assert f'name="{option.name}"' in page and option.label in page, option.name
    assert {"create_teams", "invitations", "replace_teams", "side_effects", "row_limit"} <= set(api_options)


def test_agents_imported_through_the_api_and_the_page_can_create_teams(app, browser_for):
    admin = browser_for(ADMIN)
    response = admin.post_import("email,first_name,teams\nnew@example.com,New,Night shift\n", kind="users",
                                 options=json.dumps({"create_teams": True, "invitations": False}))
    assert response.status_code == 202, response.json
    document = admin.client.get(f"/api/v1/imports/{response.json['job']}").json
    assert (document["created"], document["failed"]) == (1, 0), document["errors"]

    preview_url = preview_of(admin, "email,first_name,teams\nother@example.com,Other,Weekend\n", "users")
    assert "1 failed" in admin.client.get(preview_url).text  # no team Weekend yet
    again = admin.client.post(preview_url.split("?")[0], data={"csrf_token": admin.csrf, "create_teams": "true"})
    assert "Would import 1 agent: 1 created, 0 updated, 0 failed" in admin.client.get(again.headers["Location"]).text


def test_no_page_or_api_message_names_a_command_line_flag(app, browser_for):
    admin = browser_for(ADMIN)
    csv_text = "email,first_name,labels,company\nann@example.com,Ann,VIP,Initech\n"
    response = admin.post_import(csv_text, dry_run="true")
    document = admin.client.get(f"/api/v1/imports/{response.json['job']}").json
    messages = [error["message"] for error in document["errors"]]
    assert {error["code"] for error in document["errors"]} == {"labels.unknown", "company.unknown"}
    assert all(not CLI_FLAG.search(message) for message in messages), messages
    assert any("“Create labels that do not exist yet”" in message for message in messages)
    assert document["options_that_help"] == ["create_labels", "create_companies"]  # the API's way to set them
    page = html.unescape(admin.client.get(preview_of(admin, csv_text)).text)
    assert "There is no label named 'VIP'" in page and "“Create labels that do not exist yet”" in page
    assert not CLI_FLAG.search(page), CLI_FLAG.search(page)
    assert "choose “Create labels that do not exist yet” under Options" in page


@pytest.mark.parametrize(("flag", "name", "value", "message"), [
    ("--region", "region", "XX", "'XX' is not a region; use two letters such as GB, US or DE."),
    ("--row-limit", "row_limit", "0", "'0' is not a whole number of at least 1."),
])
def test_a_bad_option_value_gets_the_same_message_everywhere(app, browser_for, web_settings, tmp_path, flag, name,
                                                             value, message):
    admin = browser_for(ADMIN)
    csv_text = "email,first_name\nann@example.com,Ann\n"
    result = run_cli(web_settings, tmp_path, "import", "customers", csv_file(tmp_path, csv_text), flag, value)
    assert result.exit_code == 2 and message in result.stderr and flag in result.stderr
    response = admin.post_import(csv_text, options=json.dumps({name: value}))
    assert response.status_code == 400
    assert response.json == {"code": "options.invalid", "message": f"options.{name}: {message}"}
    preview_url = preview_of(admin, csv_text)
    page = admin.client.post(preview_url.split("?")[0], data={"csrf_token": admin.csrf, name: value})
    assert page.status_code == 400 and message in html.unescape(page.text)
