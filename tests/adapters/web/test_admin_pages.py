"""The admin pages: teams (admins: list with counts, create, rename, remove asking first, members), customers
(search by email, name, company and label; a customer's page with where they came from and what imports did to
them) and companies (search by name or domain), reachable from the navigation; agents get 403."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from sqlalchemy import insert

from adapters.db.models import contacts
from plugin.kinds import FieldType
from plugin.ports.records import CustomerQuery
from tests.adapters.web.conftest import ADMIN, AGENT, SUPPORT_ADMIN

CUSTOMERS = ("email,first_name,last_name,company,labels,groups,plan\n"
             "ann@example.com,Ann,Lee,Acme Ltd,VIP:Trial,Support,gold\n"
             "bob@example.org,Bob,Stone,Beta GmbH,Trial,,silver\n"
             "cy@example.net,Cy,Young,,,,\n")


def text_of(html: str, element_id: str) -> str:
    """The text inside the element with this id, tags dropped, spaces collapsed."""
    inner = html.split(f'id="{element_id}"', 1)[1]
    inner = inner.split(">", 1)[1]
    closing = {"table": "</table>", "dl": "</dl>", "p": "</p>", "ul": "</ul>", "div": "</div>"}
    tag = re.search(rf'<(\w+)[^>]*id="{element_id}"', html).group(1)  # type: ignore[union-attr]
    inner = inner.split(closing.get(tag, f"</{tag}>"), 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", inner)).replace("&lt;", "<").replace("&gt;", ">").strip()


def imported(admin, csv_text: str, **fields: str) -> int:  # type: ignore[no-untyped-def]
    response = admin.post_import(csv_text, **fields)
    assert response.status_code == 202, response.json
    return int(response.json["job"])


def setup_customers(admin, services) -> int:  # type: ignore[no-untyped-def]
    services.catalog.add_custom_field("plan", FieldType.CHOICE, ["gold", "silver"])
    return imported(admin, CUSTOMERS, options=json.dumps({"create_labels": True, "create_companies": True,
                                                          "create_groups": True}))


# ---- navigation and roles


def test_the_navigation_links_the_admin_pages_each_role_may_open(app, browser_for):
    page = browser_for(ADMIN).client.get("/importer/history").text
    assert all(f'id="nav-{name}"' in page for name in ("customers", "companies", "teams"))
    page = browser_for(SUPPORT_ADMIN).client.get("/importer/history").text
    assert 'id="nav-customers"' in page and 'id="nav-companies"' in page and 'id="nav-teams"' not in page


def test_agents_get_403_on_every_admin_page_and_support_admins_on_teams(app, browser_for):
    agent, support = browser_for(AGENT), browser_for(SUPPORT_ADMIN)
    for path in ("/importer/teams", "/importer/customers", "/importer/companies"):
        assert agent.client.get(path).status_code == 403
    assert support.client.get("/importer/teams").status_code == 403
    assert support.client.get("/importer/customers").status_code == 200


# ---- teams


def test_an_admin_creates_renames_fills_and_removes_a_team_asked_first_with_the_counts(app, browser_for, web_services):
    admin = browser_for(ADMIN)
    created = admin.client.post("/importer/teams", data={"csrf_token": admin.csrf, "name": "Billing"})
    assert created.status_code == 302
    team_path = created.headers["Location"]
    added = admin.client.post(f"{team_path}/members", data={"csrf_token": admin.csrf, "emails": f"{AGENT}, {SUPPORT_ADMIN}"})
    assert added.status_code == 302
    page = admin.client.get(team_path).text
    assert text_of(page, "team-counts") == "0 customers and 2 agents belong to it."
    assert "Alex Agent <agent@example.com>" in text_of(page, "team-agents")
    listed = text_of(admin.client.get("/importer/teams").text, "teams")
    assert "Billing 2 0" in listed
    assert admin.client.post(f"{team_path}/members/remove", data={"csrf_token": admin.csrf,
                                                                 "email": SUPPORT_ADMIN}).status_code == 302
    assert admin.client.post(f"{team_path}/rename", data={"csrf_token": admin.csrf,
                                                         "name": "Accounts"}).status_code == 302
    assert [(team.name, team.agents) for team in web_services.teams.list_teams()] == [("Accounts", 1)]
    question = admin.client.get(f"{team_path}/remove").text
    assert text_of(question, "remove-question").startswith("0 customers and 1 agent belong to this team.")
    assert web_services.teams.list_teams() != []  # asking removed nothing
    removed = admin.client.post(f"{team_path}/remove", data={"csrf_token": admin.csrf}, follow_redirects=True)
    assert "Team “Accounts” was removed" in removed.text and web_services.teams.list_teams() == []


def test_a_teams_refusal_is_said_on_the_page_and_changes_nothing(app, browser_for, web_services):
    admin = browser_for(ADMIN)
    web_services.teams.add(["Billing", "Sales"])
    team_id = {team.name: team.id for team in web_services.teams.list_teams()}["Billing"]
    taken = admin.client.post(f"/importer/teams/{team_id}/rename", data={"csrf_token": admin.csrf, "name": "Sales"})
    assert taken.status_code == 400 and "A team named &#39;Sales&#39; already exists" in taken.text
    unknown = admin.client.post(f"/importer/teams/{team_id}/members", data={"csrf_token": admin.csrf,
                                                                            "emails": f"{AGENT} nobody@example.com"})
    assert unknown.status_code == 400 and "nobody@example.com" in unknown.text
    assert [(team.name, team.agents) for team in web_services.teams.list_teams()] == [("Billing", 0), ("Sales", 0)]
    bad = admin.client.post("/importer/teams", data={"csrf_token": admin.csrf, "name": "=cmd"})
    assert bad.status_code == 400 and 'id="team-problem"' in bad.text


# ---- customers and companies


def test_customers_are_found_by_email_name_company_and_label(app, browser_for, web_services):
    admin = browser_for(ADMIN)
    setup_customers(admin, web_services)

    def found(query: str) -> list[str]:
        page = admin.client.get(f"/importer/customers?{query}").text
        return re.findall(r'/importer/customers/\d+">([^<]+)</a>', page)

    assert found("") == ["ann@example.com", "bob@example.org", "cy@example.net"]
    assert found("q=EXAMPLE.ORG") == ["bob@example.org"]
    assert found("q=cy+young") == ["cy@example.net"]
    assert found("company=acme") == ["ann@example.com"]
    assert found("label=Trial") == ["ann@example.com", "bob@example.org"]
    assert found("label=VIP&q=bob") == []
    assert found("q=%25") == []  # a % is a character searched for, not a wildcard


def test_the_customers_list_pages_without_an_empty_last_page(app, browser_for):
    admin = browser_for(ADMIN)
    people = "email,first_name\n" + "".join(f"p{number:03}@example.com,P\n" for number in range(50))
    imported(admin, people)
    first = admin.client.get("/importer/customers").text
    assert first.count('href="/importer/customers/') == 50 and 'id="next-page"' not in first


def test_a_customers_page_shows_labels_groups_company_custom_values_origin_and_history(app, browser_for, web_services):
    admin = browser_for(ADMIN)
    first = setup_customers(admin, web_services)
    second = imported(admin, "email,company,plan\nann@example.com,Beta GmbH,silver\n")
    customer_id = web_services.records.find_customers(CustomerQuery("ann@")).items[0].id
    page = admin.client.get(f"/importer/customers/{customer_id}").text
    details = text_of(page, "customer-details")
    assert "Company Beta GmbH" in details and "Labels Trial, VIP" in details and "Groups Support" in details
    assert "plan silver" in details
    assert f'Imported by <a href="/importer/jobs/{first}">import {first}</a>' in page
    history = text_of(page, "customer-history")
    assert history.index(f"import {second}") < history.index(f"import {first}")  # newest first
    assert "company : Acme Ltd → Beta GmbH" in history and "plan : gold → silver" in history
    assert "created" in history and "company_id" not in history


def test_a_customer_captured_from_mail_says_which_mailbox(app, browser_for, web_services):
    moment = datetime.now(timezone.utc)
    with web_services.store.engine.begin() as connection:  # type: ignore[attr-defined]
        customer_id = connection.execute(insert(contacts).values(
            email="dee@example.com", email_key="dee@example.com", source="mail",
            source_detail=json.dumps({"mailbox": "support", "folder": "INBOX", "message_id": "<1@x>"}),
            created_at=moment, updated_at=moment).returning(contacts.c.id)).scalar_one()
    page = browser_for(SUPPORT_ADMIN).client.get(f"/importer/customers/{customer_id}").text
    assert "Captured from mail to mailbox support (folder INBOX)" in text_of(page, "customer-origin")
    assert "No import has changed this customer; they came from mail." in page


def test_an_unknown_customer_is_404(app, browser_for):
    assert browser_for(ADMIN).client.get("/importer/customers/424242").status_code == 404


def test_companies_are_listed_with_domains_and_customer_counts_and_found_by_name_or_domain(app, browser_for):
    admin = browser_for(ADMIN)
    imported(admin, "name,domains\nAcme Ltd,acme.com:acme.co.uk\nBeta GmbH,beta.de\n", kind="companies")
    imported(admin, "email,first_name\nann@acme.com,Ann\nal@acme.co.uk,Al\n")
    listed = text_of(admin.client.get("/importer/companies").text, "companies")
    assert "Acme Ltd acme.co.uk, acme.com 2" in listed and "Beta GmbH beta.de 0" in listed
    assert "Beta" not in text_of(admin.client.get("/importer/companies?q=CO.UK").text, "companies")
