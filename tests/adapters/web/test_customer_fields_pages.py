"""The customers' pages show each customer's status (an inactive one says so in words), account type, creation
time and external id."""

from __future__ import annotations

import json

from plugin.ports.records import CustomerQuery
from tests.adapters.web.conftest import ADMIN
from tests.adapters.web.test_admin_pages import imported, text_of

WIFOX = ("ID,First Name,Last Name,Email,Active,Type,Created\n"
         "666c2c2f32735479fd3e9a5c,John,Doe,john@example.com,True,Personal,2024-06-13T15:06:02.802Z\n"
         "66829b2e43c91e3ce480b6c4,Emma,Smith,emma@example.com,False,Business,2024-07-01T07:33:52.343Z\n")


def test_the_customers_list_says_inactive_in_words_and_shows_the_account_type(app, browser_for):
    admin = browser_for(ADMIN)
    imported(admin, WIFOX, options=json.dumps({"external_source": "wifox"}))
    listed = text_of(admin.client.get("/importer/customers").text, "customers")
    assert "emma@example.com Emma Smith business inactive" in listed
    assert "john@example.com John Doe personal active" in listed


def test_a_customers_page_shows_status_type_original_creation_time_and_external_id(app, browser_for, web_services):
    admin = browser_for(ADMIN)
    imported(admin, WIFOX, options=json.dumps({"external_source": "wifox"}))
    emma = web_services.records.find_customers(CustomerQuery("emma@")).items[0].id
    details = text_of(admin.client.get(f"/importer/customers/{emma}").text, "customer-details")
    assert "Status Inactive" in details and "Account type business" in details
    assert "Created 2024-07-01 07:33 UTC" in details
    assert "External id 66829b2e43c91e3ce480b6c4 (in wifox)" in details
