"""The standalone host: a tiny helpdesk around the importer with sign-in (agents) and a notification bell.

`create_app(settings=None)` builds it; `contact-importer serve` runs it on 127.0.0.1:5000 beside a worker.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from adapters.bootstrap import bootstrap, settings_from_environment
from adapters.sealed_files import load_secret_key
from adapters.jobs import ImportQueue
from adapters.web import init_app
from adapters.web.security import (SignInThrottled, add_security_headers, csrf_token, is_csrf_valid, throttled_json,
                                   throttled_message)
from plugin.ports.people import Account
from plugin.services import Services
from plugin.settings import Settings

logger = logging.getLogger(__name__)

SESSION_TOKEN = "session"  # the server-side session's token (adapters/db/people.py keeps only its hash)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("contact_importer.index")


def _is_api_path(path: str) -> bool:
    """A URL under the API's prefix: answered in JSON even when no API route matched it (a 404 or 405)."""
    api_root = url_for("contact_importer_api.openapi").rsplit("/", 1)[0]
    return path == api_root or path.startswith(api_root + "/")


def throttled_page(retry_after: int):  # type: ignore[no-untyped-def]
    """429 with Retry-After: a page for people, JSON for the API."""
    if _is_api_path(request.path):
        return throttled_json(SignInThrottled(retry_after))
    page = render_template("host/throttled.html", message=throttled_message(retry_after), retry_after=retry_after)
    return page, 429, {"Retry-After": str(retry_after)}


def create_app(settings: Settings | None = None, *, services: Services | None = None,
               queue: ImportQueue | None = None) -> Flask:
    """The standalone host: sign-in against agents, the importer mounted at /importer, a bell."""
    settings = settings or (services.settings if services else settings_from_environment())
    services = services or bootstrap(settings)
    app = Flask(__name__, template_folder="templates", static_folder=None)
    app.config.update(SECRET_KEY=load_secret_key(settings), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", PROPAGATE_EXCEPTIONS=False)

    people = services.people

    def signed_in_agent() -> Account | None:
        if "host_agent" not in g:
            g.host_agent = people.session_account(session.get(SESSION_TOKEN))
        return g.host_agent  # type: ignore[no-any-return]

    def agent_for_email(email: str) -> Account | None:
        return people.account_for_email(email)

    init_app(app, services, queue=queue, current_user=signed_in_agent, load_user=agent_for_email,
             base_template="host/base.html", login_endpoint="sign_in")

    @app.context_processor
    def host_globals() -> dict[str, object]:
        agent = signed_in_agent() if request.endpoint != "static" else None
        active = agent if agent is not None and agent.is_active else None
        return {"host_agent": active, "csrf_token": csrf_token,
                "unread": services.uploads.unread_count(active.email) if active else 0}

    @app.after_request
    def secure(response):  # type: ignore[no-untyped-def]
        return add_security_headers(response)

    @app.get("/")
    def home():  # type: ignore[no-untyped-def]
        return redirect(url_for("contact_importer.index") if signed_in_agent() else url_for("sign_in"))

    @app.route("/sign-in", methods=["GET", "POST"])
    def sign_in():  # type: ignore[no-untyped-def]
        problem = None
        if request.method == "POST":
            if not is_csrf_valid():
                problem = "The form expired; please try again."
            else:
                attempt = people.sign_in(request.form.get("email", ""), request.form.get("password", ""),
                                         address=request.remote_addr or "")
                if attempt.retry_after:
                    logger.warning("sign-in throttled for %s s (address %s)", attempt.retry_after, request.remote_addr)
                    return throttled_page(attempt.retry_after)
                if attempt.account is not None:
                    session.clear()
                    session[SESSION_TOKEN] = attempt.session
                    logger.info("agent %s signed in", attempt.account.id)
                    return redirect(_safe_next(request.args.get("next")))
                problem = "The email or the password is wrong, or the account is not active."
        return render_template("host/sign_in.html", problem=problem), 400 if problem else 200

    @app.post("/sign-out")
    def sign_out():  # type: ignore[no-untyped-def]
        if is_csrf_valid():
            people.sign_out(session.get(SESSION_TOKEN))  # every copy of the cookie stops working
            session.clear()
        return redirect(url_for("sign_in"))

    @app.get("/notifications")
    def notifications():  # type: ignore[no-untyped-def]
        agent = signed_in_agent()
        if agent is None:
            return redirect(url_for("sign_in", next=request.path))
        shown = services.uploads.read_notifications(agent.email)
        return render_template("host/notifications.html", notifications=shown)

    @app.get("/notifications/count")
    def notification_count():  # type: ignore[no-untyped-def]
        agent = signed_in_agent()
        if agent is None:
            return jsonify(code="auth.required", message="Sign in first."), 401
        return jsonify(unread=services.uploads.unread_count(agent.email))

    @app.errorhandler(SignInThrottled)
    def sign_in_throttled(error: SignInThrottled):  # type: ignore[no-untyped-def]
        return throttled_page(error.retry_after)  # a token refused too often: JSON under the API's prefix

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        """Errors outside the importer's own handlers: a plain page (JSON for the API), never a traceback."""
        status = error.code or 500
        message = ("The problem has been logged. Please try again in a moment." if status >= 500
                   else error.description)
        if request.blueprint == "contact_importer_api" or _is_api_path(request.path):
            response = jsonify(code=f"http.{status}", message=message)
            allowed = getattr(error, "valid_methods", None)  # a 405 says which methods the path has
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
            return response, status
        return render_template("host/error.html", status=status, title=error.name, message=message), status

    return app
