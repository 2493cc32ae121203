"""The API tokens page (`tokens.manage` in plugin.toml: admins and support admins): make a token, list tokens with
their owner, expiry and last use, revoke one after asking. Each view parses, calls one services.people use case (as
`contact-importer tokens` does), renders.

Who may act on whose token is the use case's rule: an admin on everybody's, anyone else on their own. A new token is
shown once, on the page that answers the form (never in a redirect, a URL or a log); only its hash is kept.
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, redirect, render_template, request, url_for

from adapters.web import blueprint as shared
from adapters.web.page_base import error_page, pages, visitor
from adapters.web.security import WebUser
from plugin.services.people import MAX_TOKEN_DAYS, TOKEN_NAME_LENGTH, PeopleError
from plugin.services.undo import ADMIN, Actor

PERMISSION = "tokens.manage"
STATE_MARKS = {"active": "✓", "expired": "○", "revoked": "✗"}  # the word is always said; the mark and colour repeat it


@pages.before_request
def only_token_holders():  # type: ignore[no-untyped-def]
    """The tokens pages are for the roles plugin.toml gives `tokens.manage`."""
    if not (request.endpoint or "").startswith("contact_importer.token"):
        return None
    user = shared.signed_in_user()
    if user is None or may_manage_tokens(user):
        return None  # nobody signed in: check_visitor sends them to sign in
    return error_page(403, "Not allowed", "Your role has no API tokens. Ask an admin if a program needs one.")


def may_manage_tokens(user: WebUser | None) -> bool:
    return shared.importer().permissions.allows(user, PERMISSION)


@pages.context_processor
def token_globals() -> dict[str, object]:
    return {"may_manage_tokens": may_manage_tokens}


def _actor() -> Actor:
    user = visitor()
    return Actor(user.email, user.role)


def _tokens_page(*, created: tuple[str, str, datetime] | None = None, problem: str = "", status: int = 200,
                 form: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    people = shared.importer().services.people
    actor = _actor()
    seen = people.tokens_seen_by(actor)
    revoked_id = request.args.get("revoked", type=int)
    return render_template("contact_importer/tokens.html", tokens=seen, now=people.now(),
                           marks=STATE_MARKS, is_admin=actor.role == ADMIN, created=created, problem=problem,
                           form=form or {}, token_days=shared.importer().settings.token_days,
                           max_days=MAX_TOKEN_DAYS, name_length=TOKEN_NAME_LENGTH,
                           revoked=next((token for token in seen if token.id == revoked_id), None)), status


@pages.get("/tokens")
def tokens():  # type: ignore[no-untyped-def]
    return _tokens_page()


@pages.post("/tokens")
def token_create():  # type: ignore[no-untyped-def]
    actor = _actor()
    form = {"name": request.form.get("name", ""), "email": request.form.get("email", "").strip(),
            "days": request.form.get("days", "").strip()}
    days_text = form["days"]
    if days_text and not days_text.isdigit():
        return _tokens_page(problem=f"The days a token works is a whole number from 1 to {MAX_TOKEN_DAYS}.",
                            status=400, form=form)
    owner = form["email"] or actor.name  # the form asks admins only; the use case refuses anybody else's
    try:
        token, account, expires_at = shared.importer().services.people.create_token(
            owner, name=form["name"], days=int(days_text) if days_text else None, by=actor)
    except PeopleError as error:
        return _tokens_page(problem=f"No token was made: {error.message}", status=403 if error.code ==
                            "token.not_yours" else 400, form=form)
    return _tokens_page(created=(token, account.email, expires_at))


def _token_or_404(token_id: int):  # type: ignore[no-untyped-def]
    for token in shared.importer().services.people.tokens_seen_by(_actor()):
        if token.id == token_id:
            return token
    abort(404)  # somebody else's token is not there for a support admin, as an unknown one is not


@pages.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
def token_revoke(token_id: int):  # type: ignore[no-untyped-def]
    """GET asks first, saying what stops working; POST revokes."""
    token = _token_or_404(token_id)
    people = shared.importer().services.people
    if request.method == "GET":
        return render_template("contact_importer/token_revoke.html", token=token, state=token.state(people.now()))
    try:
        people.revoke_token(token_id, by=_actor())
    except PeopleError as error:
        return error_page(409 if error.code == "token.revoked" else 403, "The token was not revoked", error.message)
    return redirect(url_for(".tokens", revoked=token_id))
