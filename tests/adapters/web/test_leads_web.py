"""Leads through the API and the web importer, the same way as customers."""

from __future__ import annotations

from tests.adapters.web.conftest import ADMIN, SUPPORT_ADMIN
from tests.adapters.web.test_surfaces_agree import preview_of

LEADS = "Email,First Name,Last Name\nlea@example.com,Lea,Lane\nmo@example.com,Mo,Moss\n"


def test_leads_import_through_the_api_and_export_as_leads(app, browser_for):  # type: ignore[no-untyped-def]
    admin = browser_for(ADMIN)
    response = admin.post_import(LEADS, kind="leads", file_name="leads.csv")
    assert response.status_code == 202, response.json
    document = admin.client.get(f"/api/v1/imports/{response.json['job']}").json
    assert (document["kind"], document["status"], document["created"]) == ("leads", "succeeded", 2)
    _headers, rows = app.extensions["contact_importer"].services.imports.export("leads")
    assert [row[1] for row in rows] == ["lea@example.com", "mo@example.com"]


def test_the_web_importer_previews_a_leads_file_as_it_does_customers(app, browser_for):  # type: ignore[no-untyped-def]
    admin = browser_for(ADMIN)
    page = admin.client.get(preview_of(admin, LEADS, kind="leads")).text
    assert "lea@example.com" in page and "mo@example.com" in page


def test_a_support_admin_imports_leads_as_they_import_customers(app, browser_for):  # type: ignore[no-untyped-def]
    response = browser_for(SUPPORT_ADMIN).post_import(LEADS, kind="leads", file_name="leads.csv")
    assert response.status_code == 202, response.json
