"""The admin pages besides imports: teams (admins), customers and companies (admins and support admins).

Who may import a kind may look after its records here: the customers and companies pages follow the customers and
companies imports' permissions, the teams pages the agents import's (teams are what agents belong to). Agents get
403, as for every importer page. Each view parses, calls one use case, renders."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from adapters.web import blueprint as shared
from adapters.web.page_base import error_page, page_number, pages, visitor
from adapters.web.security import WebUser
from plugin.ports.records import CustomerQuery
from plugin.ports.teams import TeamSummary
from plugin.catalog import CatalogProblem
from plugin.words import count_of

TEAM_MEMBERS_PER_PAGE = 50


def may_look_after(user: WebUser | None, kind_name: str) -> bool:
    """Whether this person may see and change the records of a kind: whoever may import it."""
    services = shared.importer().services
    return kind_name in services.kinds and shared.importer().permissions.may_import(user, services.kind(kind_name).title)


def _require(kind_name: str) -> None:
    if not may_look_after(visitor(), kind_name):
        abort(403)


def admin_sections(user: WebUser | None) -> list[tuple[str, str]]:
    """(endpoint, label) of the admin pages this person may open: the navigation's links."""
    sections = [("contact_importer.customers", "Customers", "customers"),
                ("contact_importer.companies", "Companies", "companies"),
                ("contact_importer.teams", "Teams", "users")]
    return [(endpoint, label) for endpoint, label, kind in sections if may_look_after(user, kind)]


@pages.context_processor
def admin_globals() -> dict[str, object]:
    return {"admin_sections": admin_sections(shared.signed_in_user()), "count_of": count_of}


# ---- teams


def _team_or_404(team_id: int) -> TeamSummary:
    for team in shared.importer().services.teams.list_teams():
        if team.id == team_id:
            return team
    abort(404)


def _teams_page(problem: str = "", status: int = 200):  # type: ignore[no-untyped-def]
    teams = shared.importer().services.teams.list_teams()
    return render_template("contact_importer/teams.html", teams=teams, problem=problem), status


@pages.get("/teams")
def teams():  # type: ignore[no-untyped-def]
    _require("users")
    return _teams_page()


@pages.post("/teams")
def add_team():  # type: ignore[no-untyped-def]
    _require("users")
    name = request.form.get("name", "")
    try:
        ids = shared.importer().services.teams.add([name])
    except CatalogProblem as problem:  # TeamProblem too: a name that cannot be, a name taken, an unknown agent
        return _teams_page(str(problem), 400)
    return redirect(url_for(".team", team_id=next(iter(ids.values()))))


def _team_page(team: TeamSummary, problem: str = "", status: int = 200):  # type: ignore[no-untyped-def]
    number = page_number()
    shown = shared.importer().services.teams.show(team.name, limit=TEAM_MEMBERS_PER_PAGE, page=number)
    has_next = max(team.agents, team.customers) > number * TEAM_MEMBERS_PER_PAGE
    return render_template("contact_importer/team.html", team=shown.team, shown=shown, problem=problem,
                           page=number, has_next=has_next), status


@pages.get("/teams/<int:team_id>")
def team(team_id: int):  # type: ignore[no-untyped-def]
    _require("users")
    return _team_page(_team_or_404(team_id))


@pages.post("/teams/<int:team_id>/rename")
def rename_team(team_id: int):  # type: ignore[no-untyped-def]
    _require("users")
    current = _team_or_404(team_id)
    try:
        shared.importer().services.teams.rename(current.name, request.form.get("name", ""))
    except CatalogProblem as problem:
        return _team_page(current, str(problem), 400)
    return redirect(url_for(".team", team_id=team_id))


@pages.route("/teams/<int:team_id>/remove", methods=["GET", "POST"])
def remove_team(team_id: int):  # type: ignore[no-untyped-def]
    """GET asks first, saying how many agents and customers belong to the team; POST removes it."""
    _require("users")
    current = _team_or_404(team_id)
    if request.method == "GET":
        return render_template("contact_importer/team_remove.html", team=current)
    try:
        shared.importer().services.teams.remove(current.name)
    except CatalogProblem as problem:
        return error_page(409, "The team cannot be removed", str(problem))
    return redirect(url_for(".teams", removed=current.name))


@pages.post("/teams/<int:team_id>/members")
def add_team_members(team_id: int):  # type: ignore[no-untyped-def]
    _require("users")
    current = _team_or_404(team_id)
    emails = [email for email in request.form.get("emails", "").replace(",", " ").split() if email]
    if not emails:
        return _team_page(current, "Give the email of at least one agent.", 400)
    try:
        shared.importer().services.teams.add_agents(current.name, emails)
    except CatalogProblem as problem:
        return _team_page(current, str(problem), 400)
    return redirect(url_for(".team", team_id=team_id))


@pages.post("/teams/<int:team_id>/members/remove")
def remove_team_member(team_id: int):  # type: ignore[no-untyped-def]
    _require("users")
    current = _team_or_404(team_id)
    try:
        shared.importer().services.teams.remove_agents(current.name, [request.form.get("email", "")])
    except CatalogProblem as problem:
        return _team_page(current, str(problem), 400)
    return redirect(url_for(".team", team_id=team_id))


# ---- customers and companies


@pages.get("/customers")
def customers():  # type: ignore[no-untyped-def]
    _require("customers")
    query = CustomerQuery(request.args.get("q", "")[:200], request.args.get("company", "")[:200],
                          request.args.get("label", "")[:200])
    records = shared.importer().services.records
    found = records.find_customers(query, page=page_number())
    return render_template("contact_importer/customers.html", query=query, rows=found, labels=records.labels(),
                           args={"q": query.text, "company": query.company, "label": query.label})


@pages.get("/customers/<int:customer_id>")
def customer(customer_id: int):  # type: ignore[no-untyped-def]
    _require("customers")
    if not 0 < customer_id <= shared.LARGEST_ID:
        abort(404)
    view = shared.importer().services.records.customer(customer_id, page=page_number())
    if view is None:
        abort(404)
    may_see_imports = may_look_after(visitor(), "customers")
    return render_template("contact_importer/customer.html", view=view, customer=view.customer, rows=view.history,
                           may_see_imports=may_see_imports, args={})


@pages.get("/companies")
def companies():  # type: ignore[no-untyped-def]
    _require("companies")
    text = request.args.get("q", "")[:200]
    found = shared.importer().services.records.find_companies(text, page=page_number())
    return render_template("contact_importer/companies.html", text=text, rows=found, args={"q": text})
