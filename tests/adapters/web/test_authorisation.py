"""The authorisation matrix: every route of the standalone host (its own pages, the importer's pages, the API and
downloads), for anonymous, agent, support_admin and admin, answers exactly the status the matrix says; a refused
call changes nothing. Routes come from app.url_map, so a route added without a line in MATRIX fails the test.

To add a route: add one `Call` to MATRIX (its path may name the resources made in `Resources`) with the status
each role gets, then run this file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import func, select

from adapters.db.agents import agents
from adapters.db.agents import agent_teams
from adapters.db.mailboxes import mailboxes
from adapters.db.models import contacts, customer_teams, import_jobs, teams
from adapters.db.import_queue import web_queued_imports
from adapters.db.notifications import web_notifications
from adapters.db.saved_mappings import web_saved_mappings
from adapters.db.tokens import create_token, web_api_tokens
from adapters.db.uploads import web_uploads
from plugin.ports.records import CustomerQuery
from tests.adapters.web.conftest import ADMIN, AGENT, SUPPORT_ADMIN, Browser, files_in

ROLES = {"anonymous": None, "agent": AGENT, "support_admin": SUPPORT_ADMIN, "admin": ADMIN}
REFUSED = frozenset({401, 403, 404, 405})  # and a redirect to the sign-in page
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
CUSTOMERS = "email,first_name,last_name\nann@example.com,Ann,Lee\nbob@example.org,Bob,Stone\n"
AGENTS = "email,first_name,last_name,role\nnew.agent@example.com,New,Agent,agent\n"
SUPPORT_CUSTOMERS = "email,first_name,last_name\ncy@example.net,Cy,Young\n"
UNDONE_AGENTS = "email,first_name,last_name,role\nbrief.agent@example.com,Brief,Agent,agent\n"


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(anonymous: int, agent: int, support_admin: int, admin: int) -> dict[str, int]:
    return {"anonymous": anonymous, "agent": agent, "support_admin": support_admin, "admin": admin}


def page(support_admin: int, admin: int) -> dict[str, int]:
    """An importer page: anonymous people are sent to sign in (302), agents may import nothing (403)."""
    return signed_in(302, 403, support_admin, admin)


def api(support_admin: int, admin: int) -> dict[str, int]:
    """An API call: anonymous is 401 auth.required, agents may import nothing (403)."""
    return signed_in(401, 403, support_admin, admin)


@dataclass(frozen=True)
class Resources:
    """What the calls act on, made by the admin and the support admin before each role's run."""

    customers_job: int  # the admin's
    support_customers_job: int  # the support admin's own
    agents_job: int
    agents_job_to_undo: int  # undone for real by the admin's POST; the other calls only look at undoing
    admin_upload: str  # customers, mapped and previewed: preview and start work on it
    admin_agents_upload: str
    support_upload: str  # the support admin's own customers upload
    team: int  # a team with the agent in it
    team_to_remove: int  # removed for real by the admin's POST
    customer: int  # ann@example.com, from the admin's customers import
    admin_token: int  # an API token of the admin's
    support_token: int  # one of the support admin's, revoked for real by the first POST that may


@dataclass(frozen=True)
class Call:
    """One request and the status each role gets; `path` is formatted with the Resources' fields."""

    rule: str  # the url_map rule this call covers
    method: str
    path: str
    expected: dict[str, int]
    form: Callable[[Browser], dict[str, object]] | None = None  # a form body (the CSRF token is always added)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def upload(csv_text: str, name: str = "people.csv") -> Callable[[Browser], dict[str, object]]:
    return lambda _browser: {"file": (io.BytesIO(csv_text.encode()), name)}


def api_upload(kind: str, csv_text: str) -> Callable[[Browser], dict[str, object]]:
    return lambda _browser: {"kind": kind, "file": (io.BytesIO(csv_text.encode()), f"{kind}.csv")}


RETRY_FILE = "email,first_name,last_name,row,column,message\nann@example.com,Ann,Lee,2,email,fixed\n"
MAPPING_FORM = {"map-0": "email", "map-1": "first_name", "map-2": "last_name"}
OTHER_CUSTOMERS = CUSTOMERS + "cy@example.com,Cy,Young\n"  # not the setup's files: no double submission
OTHER_AGENTS = AGENTS + "other.agent@example.com,Other,Agent,agent\n"

MATRIX: list[Call] = [
    # ---- the standalone host
    Call("/", "GET", "/", everyone(302)),
    Call("/sign-in", "GET", "/sign-in", everyone(200)),
    Call("/sign-in", "POST", "/sign-in", everyone(400),
         form=lambda _b: {"email": ADMIN, "password": "wrong-password"}),
    Call("/sign-out", "POST", "/sign-out", everyone(302)),
    Call("/notifications", "GET", "/notifications", signed_in(302, 200, 200, 200)),
    Call("/notifications/count", "GET", "/notifications/count", signed_in(401, 200, 200, 200)),
    Call("/agents/set-password", "GET", "/agents/set-password?token=unknown", everyone(410)),
    Call("/agents/set-password", "POST", "/agents/set-password?token=unknown", everyone(410),
         form=lambda _browser: {"password": "long-enough-9", "confirm": "long-enough-9"}),
    # ---- the importer's pages
    Call("/importer/", "GET", "/importer/", page(302, 302)),
    Call("/importer/new", "GET", "/importer/new", page(200, 200)),
    Call("/importer/new/<kind_name>", "GET", "/importer/new/customers", page(200, 200)),
    Call("/importer/new/<kind_name>", "GET", "/importer/new/users", page(403, 200)),
    Call("/importer/new/<kind_name>", "GET", "/importer/new/nothing", page(404, 404)),
    Call("/importer/new/<kind_name>", "POST", "/importer/new/customers", page(302, 302), form=upload(CUSTOMERS)),
    Call("/importer/new/<kind_name>", "POST", "/importer/new/users", page(403, 302), form=upload(AGENTS)),
    Call("/importer/uploads/<upload_id>/mapping", "GET", "/importer/uploads/{admin_upload}/mapping", page(404, 200)),
    Call("/importer/uploads/<upload_id>/mapping", "GET", "/importer/uploads/{support_upload}/mapping",
         page(200, 404)),  # an upload is its uploader's alone, even for an admin
    Call("/importer/uploads/<upload_id>/mapping", "GET", "/importer/uploads/{admin_agents_upload}/mapping",
         page(404, 200)),
    Call("/importer/uploads/<upload_id>/mapping", "POST", "/importer/uploads/{admin_upload}/mapping",
         page(404, 302), form=lambda _b: dict(MAPPING_FORM)),
    Call("/importer/uploads/<upload_id>/preview", "GET", "/importer/uploads/{admin_upload}/preview", page(404, 200)),
    Call("/importer/uploads/<upload_id>/preview", "POST", "/importer/uploads/{admin_upload}/preview",
         page(404, 302), form=lambda _b: {"create_labels": "true"}),
    Call("/importer/uploads/<upload_id>/start", "POST", "/importer/uploads/{admin_upload}/start", page(404, 302)),
    Call("/importer/jobs/<int:job_id>", "GET", "/importer/jobs/{customers_job}", page(200, 200)),
    Call("/importer/jobs/<int:job_id>", "GET", "/importer/jobs/{agents_job}", page(403, 200)),
    Call("/importer/jobs/<int:job_id>", "GET", "/importer/jobs/999999", page(404, 404)),
    Call("/importer/history", "GET", "/importer/history", page(200, 200)),
    Call("/importer/jobs/<int:job_id>", "GET", "/importer/jobs/{support_customers_job}", page(200, 200)),
    # undo: the page shows the dry run (GET) and undoes (POST); retry takes a fixed error report. The setup's
    # imports have no failed row, so a retry let through is refused for its file (400), after the role check.
    # A support admin sees every customers import but undoes and retries only their own; an admin, anybody's.
    Call("/importer/jobs/<int:job_id>/undo", "GET", "/importer/jobs/{customers_job}/undo", page(403, 200)),
    Call("/importer/jobs/<int:job_id>/undo", "GET", "/importer/jobs/{support_customers_job}/undo", page(200, 200)),
    Call("/importer/jobs/<int:job_id>/undo", "GET", "/importer/jobs/{agents_job}/undo", page(403, 200)),
    Call("/importer/jobs/<int:job_id>/undo", "POST", "/importer/jobs/{agents_job_to_undo}/undo", page(403, 302)),
    Call("/importer/jobs/<int:job_id>/retry", "POST", "/importer/jobs/{customers_job}/retry", page(403, 400),
         form=upload(RETRY_FILE, "fixed.csv")),
    Call("/importer/jobs/<int:job_id>/retry", "POST", "/importer/jobs/{support_customers_job}/retry", page(400, 400),
         form=upload(RETRY_FILE, "fixed.csv")),
    Call("/importer/jobs/<int:job_id>/retry", "POST", "/importer/jobs/{agents_job}/retry", page(403, 400),
         form=upload(RETRY_FILE, "fixed.csv")),
    # mailboxes: admins only (mailboxes.manage); the setup adds none, so one named "nobody" is 404 for an admin and
    # a form missing its server is 400 before any server is asked
    Call("/importer/mailboxes", "GET", "/importer/mailboxes", page(403, 200)),
    Call("/importer/mailboxes/new", "GET", "/importer/mailboxes/new", page(403, 200)),
    Call("/importer/mailboxes/new", "POST", "/importer/mailboxes/new", page(403, 400),
         form=lambda _b: {"name": "support", "user": "support@example.com", "password_env": "NO_SUCH_VARIABLE"}),
    Call("/importer/mailboxes/<path:name>/edit", "GET", "/importer/mailboxes/nobody/edit", page(403, 404)),
    Call("/importer/mailboxes/<path:name>/edit", "POST", "/importer/mailboxes/nobody/edit", page(403, 404),
         form=lambda _b: {"host": "imap.example.com", "user": "support@example.com", "password_env": "NO_SUCH"}),
    Call("/importer/mailboxes/<path:name>/poll", "POST", "/importer/mailboxes/nobody/poll", page(403, 404)),
    Call("/importer/mailboxes/<path:name>/skips", "GET", "/importer/mailboxes/nobody/skips", page(403, 404)),
    Call("/importer/mailboxes/<path:name>/remove", "GET", "/importer/mailboxes/nobody/remove", page(403, 404)),
    Call("/importer/mailboxes/<path:name>/remove", "POST", "/importer/mailboxes/nobody/remove", page(403, 404)),
    Call("/importer/static/<path:filename>", "GET", "/importer/static/importer.css", everyone(200)),
    # the admin pages: teams with the agents import's permission (admins), customers and companies with theirs
    Call("/importer/teams", "GET", "/importer/teams", page(403, 200)),
    Call("/importer/teams", "POST", "/importer/teams", page(403, 302), form=lambda _b: {"name": "Night shift"}),
    Call("/importer/teams/<int:team_id>", "GET", "/importer/teams/{team}", page(403, 200)),
    Call("/importer/teams/<int:team_id>", "GET", "/importer/teams/999999", page(403, 404)),
    Call("/importer/teams/<int:team_id>/rename", "POST", "/importer/teams/{team}/rename", page(403, 302),
         form=lambda _b: {"name": "Support North"}),
    Call("/importer/teams/<int:team_id>/members", "POST", "/importer/teams/{team}/members", page(403, 302),
         form=lambda _b: {"emails": SUPPORT_ADMIN}),
    Call("/importer/teams/<int:team_id>/members/remove", "POST", "/importer/teams/{team}/members/remove",
         page(403, 302), form=lambda _b: {"email": AGENT}),
    Call("/importer/teams/<int:team_id>/remove", "GET", "/importer/teams/{team_to_remove}/remove", page(403, 200)),
    Call("/importer/teams/<int:team_id>/remove", "POST", "/importer/teams/{team_to_remove}/remove", page(403, 302)),
    Call("/importer/customers", "GET", "/importer/customers?q=ann&company=&label=", page(200, 200)),
    Call("/importer/customers/<int:customer_id>", "GET", "/importer/customers/{customer}", page(200, 200)),
    Call("/importer/customers/<int:customer_id>", "GET", "/importer/customers/999999", page(404, 404)),
    Call("/importer/companies", "GET", "/importer/companies", page(200, 200)),
    # API tokens (tokens.manage): an admin makes and revokes anybody's, a support admin their own only (somebody
    # else's token is not there for them: 404); notices: everyone chooses their own e-mail
    Call("/importer/tokens", "GET", "/importer/tokens", page(200, 200)),
    Call("/importer/tokens", "POST", "/importer/tokens", page(200, 200), form=lambda _b: {"name": "sync"}),
    Call("/importer/tokens", "POST", "/importer/tokens", page(403, 200),
         form=lambda _b: {"name": "for the agent", "email": AGENT}),
    Call("/importer/tokens/<int:token_id>/revoke", "GET", "/importer/tokens/{admin_token}/revoke", page(404, 200)),
    Call("/importer/tokens/<int:token_id>/revoke", "GET", "/importer/tokens/{support_token}/revoke", page(200, 200)),
    Call("/importer/tokens/<int:token_id>/revoke", "POST", "/importer/tokens/{admin_token}/revoke", page(404, 302)),
    Call("/importer/tokens/<int:token_id>/revoke", "POST", "/importer/tokens/{support_token}/revoke", page(302, 302)),
    Call("/importer/notices", "GET", "/importer/notices", page(200, 200)),
    Call("/importer/notices/email", "POST", "/importer/notices/email", page(302, 302),
         form=lambda _b: {"email_choice": "on"}),
    # ---- the API (session with its CSRF token; tokens act as their person, see test_api.py)
    Call("/api/v1/imports", "GET", "/api/v1/imports", api(200, 200)),
    Call("/api/v1/imports", "POST", "/api/v1/imports", api(202, 202), form=api_upload("customers", OTHER_CUSTOMERS)),
    Call("/api/v1/imports", "POST", "/api/v1/imports", api(403, 202), form=api_upload("users", OTHER_AGENTS)),
    Call("/api/v1/imports/<int:job_id>", "GET", "/api/v1/imports/{customers_job}", api(200, 200)),
    Call("/api/v1/imports/<int:job_id>", "GET", "/api/v1/imports/{agents_job}", api(403, 200)),
    Call("/api/v1/imports/<int:job_id>/rows", "GET", "/api/v1/imports/{customers_job}/rows", api(200, 200)),
    Call("/api/v1/imports/<int:job_id>/rows", "GET", "/api/v1/imports/{agents_job}/rows", api(403, 200)),
    Call("/api/v1/imports/<int:job_id>/errors.csv", "GET", "/api/v1/imports/{customers_job}/errors.csv",
         api(200, 200)),
    Call("/api/v1/imports/<int:job_id>/errors.csv", "GET", "/api/v1/imports/{agents_job}/errors.csv",
         api(403, 200)),
    Call("/api/v1/imports/<int:job_id>/undo", "POST", "/api/v1/imports/{customers_job}/undo?dry_run=true",
         api(403, 200)),
    Call("/api/v1/imports/<int:job_id>/undo", "POST", "/api/v1/imports/{support_customers_job}/undo?dry_run=true",
         api(200, 200)),
    Call("/api/v1/imports/<int:job_id>/undo", "POST", "/api/v1/imports/{agents_job}/undo?dry_run=true",
         api(403, 200)),
    Call("/api/v1/imports/<int:job_id>/retry", "POST", "/api/v1/imports/{customers_job}/retry", api(403, 400),
         form=upload(RETRY_FILE, "fixed.csv")),
    Call("/api/v1/imports/<int:job_id>/retry", "POST", "/api/v1/imports/{support_customers_job}/retry",
         api(400, 400), form=upload(RETRY_FILE, "fixed.csv")),
    Call("/api/v1/imports/<int:job_id>/retry", "POST", "/api/v1/imports/{agents_job}/retry", api(403, 400),
         form=upload(RETRY_FILE, "fixed.csv")),
    Call("/api/v1/templates/<kind_name>.csv", "GET", "/api/v1/templates/customers.csv", api(200, 200)),
    Call("/api/v1/templates/<kind_name>.csv", "GET", "/api/v1/templates/users.csv", api(403, 200)),
    Call("/api/v1/openapi.json", "GET", "/api/v1/openapi.json", everyone(200)),
]


def routes_of(app: Flask) -> set[tuple[str, str]]:
    return {(rule.rule, method) for rule in app.url_map.iter_rules()
            for method in (rule.methods or set()) - IGNORED_METHODS}


def test_every_route_and_method_has_a_line_in_the_matrix(app):
    covered = {(call.rule, call.method) for call in MATRIX}
    missing = sorted(routes_of(app) - covered)
    assert not missing, f"routes without a line in MATRIX: {missing}"
    gone = sorted(covered - routes_of(app))
    assert not gone, f"MATRIX lines for routes that no longer exist: {gone}"


# ---- running the matrix


def state_of(app: Flask, upload_dir: str) -> dict[str, object]:
    """Everything a refused call must leave as it was: rows of every table a call can write, files kept."""
    engine = app.extensions["contact_importer"].services.store.engine
    with engine.connect() as connection:
        rows = {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (import_jobs, contacts, agents, web_uploads, web_queued_imports,
                              web_notifications, web_saved_mappings, web_api_tokens,
                              teams, agent_teams, customer_teams, mailboxes)}
        rows["team names"] = sorted(connection.execute(select(teams.c.name)).scalars())
        rows["tokens revoked"] = connection.execute(select(func.count()).select_from(web_api_tokens).where(
            web_api_tokens.c.revoked_at.is_not(None))).scalar_one()
        kept = connection.execute(select(func.count()).select_from(web_uploads)
                                  .where(web_uploads.c.deleted_at.is_(None), web_uploads.c.mapping.is_not(None)))
        rows["uploads mapped"] = kept.scalar_one()
    return {**rows, "files": files_in(upload_dir)}


def make_resources(app: Flask, browser_for: Callable[[str | None], Browser]) -> Resources:
    admin, support = browser_for(ADMIN), browser_for(SUPPORT_ADMIN)
    customers_job = admin.post_import(CUSTOMERS, file_name="setup.csv").json["job"]
    agents_job = admin.post_import(AGENTS, kind="users").json["job"]
    agents_job_to_undo = admin.post_import(UNDONE_AGENTS, kind="users").json["job"]
    support_customers_job = support.post_import(SUPPORT_CUSTOMERS, file_name="support.csv").json["job"]

    def page_upload(browser: Browser, csv_text: str, kind: str = "customers") -> str:
        response = browser.upload_page(csv_text, kind=kind)
        assert response.status_code == 302, response.text
        return response.headers["Location"].split("/uploads/")[1].split("/")[0]

    admin_upload = page_upload(admin, CUSTOMERS)
    mapped = admin.client.post(f"/importer/uploads/{admin_upload}/mapping", data={"csrf_token": admin.csrf,
                                                                                  **MAPPING_FORM})
    assert mapped.status_code == 302, mapped.text
    teams = app.extensions["contact_importer"].services.teams
    team_ids = teams.add(["Support", "Leaving"])
    teams.add_agents("Support", [AGENT])
    customer = app.extensions["contact_importer"].services.records.find_customers(CustomerQuery("ann@example.com"))
    people = app.extensions["contact_importer"].services.people
    tokens = {email: people.create_token(email, name="setup")[0] for email in (ADMIN, SUPPORT_ADMIN)}
    token_ids = {token.email: token.id for token in people.list_tokens() if token.name == "setup"}
    assert len(tokens) == len(token_ids) == 2
    return Resources(admin_token=token_ids[ADMIN], support_token=token_ids[SUPPORT_ADMIN], team=team_ids["Support"], team_to_remove=team_ids["Leaving"], customer=customer.items[0].id,
                     customers_job=customers_job, support_customers_job=support_customers_job, agents_job=agents_job, agents_job_to_undo=agents_job_to_undo,
                     admin_upload=admin_upload,
                     admin_agents_upload=page_upload(admin, AGENTS, "users"),
                     support_upload=page_upload(support, CUSTOMERS))


def send(browser: Browser, call: Call, resources: Resources, *, token: str | None = None):  # type: ignore[no-untyped-def]
    """The call from a browser (session and CSRF token) or, given an API token, from a script (no session)."""
    path = call.path.format(**vars(resources))
    if token is not None:
        headers = {"Authorization": f"Bearer {token}", **call.headers}
        return browser.client.open(path, method=call.method, headers=headers,
                                   data=call.form(browser) if call.form else None)
    if call.method == "GET":
        return browser.client.get(path, headers=call.headers)
    data = {"csrf_token": browser.csrf, **(call.form(browser) if call.form else {})}
    return browser.client.open(path, method=call.method, data=data, headers={"X-CSRF-Token": browser.csrf,
                                                                              **call.headers})


def is_refusal(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code in REFUSED or (response.status_code == 302
                                               and "/sign-in" in response.headers.get("Location", ""))


@pytest.fixture
def runs(app, browser_for, web_settings) -> Iterator[Callable[..., list[str]]]:
    def run(role: str, *, with_token: bool = False) -> list[str]:
        """Every call of the matrix as `role`, each from a fresh sign-in (or, with_token, the API calls with the
        role's API token and no session; anonymous sends an unknown token); the list of what went wrong."""
        resources = make_resources(app, browser_for)
        email = ROLES[role]
        engine = app.extensions["contact_importer"].services.store.engine
        token = (create_token(engine, email) if email else "cit_unknown") if with_token else None
        calls = [call for call in MATRIX if call.rule.startswith("/api/")] if with_token else MATRIX
        problems = []
        for call in calls:
            browser = browser_for(None if with_token else email)
            before = state_of(app, web_settings.upload_dir)
            response = send(browser, call, resources, token=token)
            response.close()
            expected = call.expected[role]
            if response.status_code != expected:
                problems.append(f"{call.name}: {response.status_code}, expected {expected}")
            elif is_refusal(response) and state_of(app, web_settings.upload_dir) != before:
                problems.append(f"{call.name}: refused with {expected} but changed "
                                f"{before} → {state_of(app, web_settings.upload_dir)}")
        return problems

    yield run


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_gets_exactly_the_allowed_status_and_a_refused_call_changes_nothing(runs, role):
    problems = runs(role)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", list(ROLES))
def test_an_api_token_gets_exactly_what_its_person_gets_and_a_refused_call_changes_nothing(runs, role):
    problems = runs(role, with_token=True)
    assert not problems, "\n".join(problems)
