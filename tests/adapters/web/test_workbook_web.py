"""Workbooks through the API and the upload page: the same rows as CSV import the same, the option sheet, a
workbook named .csv, encrypted workbooks and .xls refused with their messages and nothing kept."""

from __future__ import annotations

import io
import json

import pytest

from plugin.kinds import FieldType
from tests.adapters.db.test_workbook_import import CSV_ROWS, SHEET_ROWS
from tests.adapters.web.conftest import ADMIN, counts, files_in
from tests.adapters.web.test_api import engine_of
from tests.catalog import add_custom_field
from tests.workbooks import ENCRYPTED_STREAMS, XLS_STREAMS, ole_file, sheet_of, workbook_bytes


def imported(admin, data: bytes, file_name: str, **fields: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = admin.post_import(data, file_name=file_name, **fields)
    assert response.status_code == 202, response.json
    return admin.client.get(f"/api/v1/imports/{response.json['job']}").json


def outcome(document: dict) -> tuple[object, ...]:  # type: ignore[type-arg]
    return (document["status"], document["created"], document["updated"], document["unchanged"], document["failed"],
            [(error["row"], error["column"], error["code"]) for error in document["errors"]])


def two_sheets() -> bytes:
    workbook = sheet_of(["email", "first_name"], ["first@example.com", "First"], title="Customers")
    workbook.create_sheet("Leads").append(["email", "first_name"])
    workbook["Leads"].append(["lead@example.com", "Lead"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_the_same_rows_as_csv_and_as_a_workbook_import_identically_through_the_api(app, browser_for):
    for variable, field_type in (("renewal", FieldType.DATE), ("seats", FieldType.NUMBER),
                                 ("member", FieldType.BOOLEAN)):
        add_custom_field(engine_of(app), variable, field_type)
    admin = browser_for(ADMIN)

    from_workbook = imported(admin, workbook_bytes(*SHEET_ROWS), "customers.xlsx")
    from_csv = imported(admin, CSV_ROWS.encode(), "customers.csv")  # the same values again: nothing changes

    assert outcome(from_workbook) == ("partial", 3, 0, 0, 1, [(4, "email", "email.invalid")])
    assert outcome(from_csv) == ("partial", 0, 0, 3, 1, [(4, "email", "email.invalid")])
    assert from_workbook["mapping"] == from_csv["mapping"]


def test_the_api_option_sheet_chooses_the_sheet_and_its_mapping_is_checked_against_it(app, browser_for, web_settings):
    admin = browser_for(ADMIN)

    document = imported(admin, two_sheets(), "two.xlsx", options=json.dumps({"sheet": "Leads"}),
                        mapping=json.dumps({"email": "email", "first_name": "first_name"}))
    missing = admin.post_import(two_sheets(), file_name="two.xlsx", options=json.dumps({"sheet": "Agents"}))

    assert outcome(document) == ("succeeded", 1, 0, 0, 0, [])
    rows = admin.client.get(f"/api/v1/imports/{document['job']}/rows").json["rows"]
    assert [change["new"] for change in rows[0]["changes"] if change["field"] == "email"] == ["lead@example.com"]
    assert (missing.status_code, missing.json["code"]) == (400, "file.no_such_sheet")
    assert files_in(web_settings.upload_dir) == []


def test_a_workbook_named_csv_is_read_as_a_workbook_through_the_api(app, browser_for):
    admin = browser_for(ADMIN)

    document = imported(admin, workbook_bytes(["email", "first_name"], ["ana@example.com", "Ana"]), "renamed.csv")

    assert outcome(document) == ("succeeded", 1, 0, 0, 0, [])


@pytest.mark.parametrize(("streams", "code", "words"), [
    (ENCRYPTED_STREAMS, "file.workbook_encrypted", "This workbook is password-protected, so it cannot be read"),
    (XLS_STREAMS, "file.workbook_xls", "This is an Excel 97-2003 workbook (.xls), which cannot be read: save it as "
                                       "Excel Workbook (.xlsx) or CSV UTF-8"),
], ids=["encrypted", "xls"])
def test_an_encrypted_workbook_and_an_xls_are_refused_by_the_api_and_nothing_is_kept(
        app, browser_for, web_settings, streams, code, words):
    admin = browser_for(ADMIN)
    before = counts(engine_of(app))

    response = admin.post_import(ole_file(*streams), file_name="people.xls")

    assert (response.status_code, response.json["code"]) == (400, code)
    assert response.json["message"].startswith(words)
    assert counts(engine_of(app)) == before
    assert files_in(web_settings.upload_dir) == []


def test_the_upload_page_takes_a_workbook_and_its_sheet_through_mapping_preview_and_start(app, browser_for):
    admin = browser_for(ADMIN)
    page = admin.client.get("/importer/new/customers").text
    assert 'accept=".csv,.txt,text/csv,.xlsx,' in page and "save them as CSV first" not in page

    response = admin.client.post("/importer/new/customers", data={
        "csrf_token": admin.csrf, "sheet": "Leads", "file": (io.BytesIO(two_sheets()), "two.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    mapping_url = response.headers["Location"]
    assert "lead@example.com" in admin.client.get(mapping_url).text  # the sample rows are the chosen sheet's
    preview_url = admin.client.post(mapping_url, data={"csrf_token": admin.csrf, "map-0": "email",
                                                       "map-1": "first_name"}).headers["Location"]
    preview = admin.client.get(preview_url).text
    assert "Would import 1 customer: 1 created" in preview
    assert 'name="sheet" id="option-sheet" value="Leads"' in preview
    upload_id = mapping_url.split("/")[3]
    started = admin.client.post(f"/importer/uploads/{upload_id}/start", data={"csrf_token": admin.csrf})
    assert "Imported 1 customer: 1 created" in admin.client.get(started.headers["Location"]).text
