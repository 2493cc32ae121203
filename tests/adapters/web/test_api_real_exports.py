"""The API imports real exports without a mapping, and takes defaults for custom fields and columns to clear in
its `options`; the preview page offers both."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from adapters.db.catalog import ensure_teams, utc_now
from adapters.db.export import export_customers
from tests.adapters.web.conftest import ADMIN
from tests.catalog import add_custom_field, add_labels
from tests.real_exports import (OUTLOOK_LABELS, QWIL_TEAMS, google_export, outlook_export, qwil_clients,
                                stored_as_expected)
from plugin.kinds import FieldType


def exported(engine: Engine) -> list[dict[str, str]]:
    """What `export customers` prints (the API has no export)."""
    headers, rows = export_customers(engine)
    return [{header: "" if cell is None else str(cell) for header, cell in zip(headers, row, strict=True)}
            for row in rows]


def job(admin, response) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == 202, response.json
    return admin.client.get(f"/api/v1/imports/{response.json['job']}").json


def test_real_exports_import_through_the_api_without_a_mapping(app, browser_for, web_services):  # type: ignore[no-untyped-def]
    engine = web_services.store.engine
    add_labels(engine, OUTLOOK_LABELS)
    with engine.begin() as connection:
        ensure_teams(connection, QWIL_TEAMS, now=utc_now())
    admin = browser_for(ADMIN)
    expected = []
    for (text, rows), options in ((outlook_export(100), {}), (google_export(30), {"create_labels": True}),
                                  (qwil_clients(20), {})):
        document = job(admin, admin.post_import(text, file_name="export.csv", options=json.dumps(options)))
        assert (document["status"], document["failed"]) == ("succeeded", 0), document["errors"][:3]
        expected += rows
    assert stored_as_expected(exported(engine), expected) == []
    csv_text = admin.client.get("/api/v1/templates/customers.csv").text  # the labels the template shows
    assert "* myContacts" not in csv_text and "starred" not in csv_text


def test_custom_field_defaults_and_columns_to_clear_through_the_api(app, browser_for, web_services):  # type: ignore[no-untyped-def]
    engine = web_services.store.engine
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    admin = browser_for(ADMIN)
    first = job(admin, admin.post_import("email,first_name,phone,plan\nann@example.com,Ann,+44 20 7946 0958,\n",
                                         options=json.dumps({"defaults": {"plan": "gold"}})))
    assert first["created"] == 1, first
    assert exported(engine)[0]["plan"] == "gold"
    bad = job(admin, admin.post_import("email,first_name\nbo@example.com,Bo\n",
                                       options=json.dumps({"defaults": {"plan": "bronze"}})))
    assert bad["status"] == "rejected" and "Values for empty cells" in bad["message"], bad
    cleared = job(admin, admin.post_import("email,first_name,phone,plan\nann@example.com,Ann,,\n",
                                           options=json.dumps({"clear_empty": ["phone", "plan"]})))
    assert cleared["updated"] == 1, cleared
    rows = admin.client.get(f"/api/v1/imports/{cleared['job']}/rows").json["rows"]
    assert {"field": "plan", "old": "gold", "new": None} in rows[0]["changes"]
    assert (exported(engine)[0]["phone"], exported(engine)[0]["plan"]) == ("", "")
    refused = job(admin, admin.post_import("email,first_name\nann@example.com,Ann\n",
                                           options=json.dumps({"clear_empty": ["email"]})))
    assert refused["status"] == "rejected" and "email is required and can never be cleared" in refused["message"]


def test_the_preview_page_takes_values_for_custom_fields_and_columns_to_clear(app, browser_for, web_services):  # type: ignore[no-untyped-def]
    from tests.adapters.web.test_surfaces_agree import preview_of

    engine = web_services.store.engine
    add_custom_field(engine, "plan", FieldType.CHOICE, ["gold", "silver"])
    admin = browser_for(ADMIN)
    job(admin, admin.post_import("email,first_name,phone,plan\nann@example.com,Ann,+44 20 7946 0958,silver\n"))
    preview_url = preview_of(admin, "email,first_name,phone,plan\nann@example.com,Ann,,\nbo@example.com,Bo,,\n")
    page = admin.client.get(preview_url).text
    assert 'name="default-plan"' in page and '<select multiple name="clear_empty"' in page
    offered = page.split('name="clear_empty"')[1].split("</select>")[0]
    assert 'value="phone"' in offered and 'value="plan"' in offered and 'value="mobile"' not in offered  # no column
    updated = admin.client.post(preview_url.split("?")[0], data={"csrf_token": admin.csrf, "default-plan": "gold",
                                                                 "clear_empty": ["phone"]})
    again = admin.client.get(updated.headers["Location"]).text
    assert "Would import 2 customers: 1 created, 1 updated, 0 failed" in again
    assert '<span class="ci-field">plan</span>: <del>silver</del> → <ins>gold</ins>' in again  # Ann's plan from the default
    assert '<span class="ci-field">phone</span>: <del>+442079460958</del> → <ins>(empty)</ins>' in again  # and her phone cleared
