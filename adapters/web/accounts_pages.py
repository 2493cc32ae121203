"""The page an invitation's link opens: an invited agent or customer chooses a password; an agent then signs in
here, a customer in the host's customer portal.

Registered by init_app at /agents/set-password (SET_PASSWORD_PATH), so the standalone host and any helpdesk
that mounts the importer serve it. The link is one-time and expires (invitation_hours); the password follows
the agents import's rule (password_min_length); the form carries a CSRF token. A used, replaced or expired
link gets a page (410) saying how to get a new one.
"""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for

from adapters.web.blueprint import importer
from adapters.web.security import csrf_token, is_csrf_valid
from plugin.ports.people import AGENT
from plugin.services.people import SET_PASSWORD_PATH, PeopleError

logger = logging.getLogger(__name__)

accounts_pages = Blueprint("contact_importer_accounts", __name__, template_folder="templates")


@accounts_pages.context_processor
def page_globals() -> dict[str, object]:
    return {"importer_base": importer().base_template, "csrf_token": csrf_token}


def _unusable_link():  # type: ignore[no-untyped-def]
    return render_template("contact_importer/invitation_unusable.html"), 410


@accounts_pages.route(SET_PASSWORD_PATH, methods=["GET", "POST"])
def set_password():  # type: ignore[no-untyped-def]
    people = importer().services.people
    token = request.args.get("token", "")
    expires_at = people.invitation_expiry(token) if token else None
    if expires_at is None:
        return _unusable_link()
    problem = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if not is_csrf_valid():
            problem = "The form expired; please try again."
        elif password != request.form.get("confirm", ""):
            problem = "The two passwords differ; type the same password twice."
        else:
            try:
                person = people.accept_invitation(token, password)
            except PeopleError as error:
                if error.code == "invitation.unusable":
                    return _unusable_link()
                problem = error.message
            else:
                logger.info("%s %s set their password through an invitation", person.invitee, person.id)
                login = importer().login_endpoint
                if login and person.invitee == AGENT:
                    return redirect(url_for(login, welcome=1))
                return render_template("contact_importer/password_set.html", email=person.email,
                                       invitee=person.invitee)
    return render_template("contact_importer/set_password.html", problem=problem, expires_at=expires_at,
                           min_length=importer().settings.password_min_length), 400 if problem else 200
