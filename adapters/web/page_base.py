"""The importer's pages' blueprint and what every page shares: who may visit, the CSRF check, the error pages,
the templates' globals. The import flow (pages.py) and the admin pages (admin_pages.py) add their views to it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from adapters.web import blueprint as shared
from adapters.web.security import WebUser, add_security_headers, csrf_token, is_csrf_valid
from plugin.display import shown_field, shown_record, shown_value
from plugin.read import describe_size

pages = Blueprint("contact_importer", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


pages.after_request(add_security_headers)


@pages.before_request
def check_visitor():  # type: ignore[no-untyped-def]
    state = shared.importer()
    request.max_content_length = state.settings.max_file_bytes + shared.MULTIPART_ALLOWANCE
    if request.endpoint == "contact_importer.static":
        return None
    user = shared.signed_in_user()
    if user is None:
        if state.login_endpoint:
            return redirect(url_for(state.login_endpoint, next=request.full_path))
        abort(401)
    if not shared.permitted_kinds(user):
        abort(403)
    if request.method not in SAFE_METHODS and not is_csrf_valid():
        return error_page(400, "This form has expired", "Go back, reload the page and try again.")
    shared.deliver_notifications()
    return None


@pages.context_processor
def page_globals() -> dict[str, object]:
    state = shared.importer()
    return {"importer_base": state.base_template, "csrf_token": csrf_token,
            "importer_user": shared.signed_in_user(), "describe_size": describe_size,
            "shown_value": shown_value, "shown_field": shown_field,
            "shown_record": shown_record, "breakable_address": breakable_address, "when": when}


def when(moment: datetime | None) -> str:
    """A stored time as the pages say it: "2026-12-05 21:53 UTC", or "never"."""
    if moment is None:
        return "never"
    return f"{(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC):%Y-%m-%d %H:%M} UTC"


ADDRESS_PIECES = re.compile(r"[^@./]+[@/]*|\.[^@./]*[@/]*|[@/]+")  # "ann.lee@help.example": ann|.lee@|help|.example


def breakable_address(text: str) -> Markup:
    """An e-mail address or a URL that may go on to a new line only after an @ or a slash or before a dot, never
    in the middle of a word or at a hyphen: its pieces cannot break, and a <wbr> between them may. Copying it gives
    the address as it is."""
    pieces = ADDRESS_PIECES.findall(text) or [text]
    return Markup("<wbr>").join(Markup('<span class="ci-nowrap">%s</span>') % escape(piece) for piece in pieces)


def error_page(status: int, title: str, message: str):  # type: ignore[no-untyped-def]
    return render_template("contact_importer/error.html", status=status, title=title, message=message), status


@pages.errorhandler(400)
def bad_request(_error):  # type: ignore[no-untyped-def]
    return error_page(400, "That request was not understood", "Go back and try again.")


@pages.errorhandler(401)
def unauthorized(_error):  # type: ignore[no-untyped-def]
    return error_page(401, "Please sign in", "Sign in to the helpdesk to import contacts.")


@pages.errorhandler(403)
def forbidden(_error):  # type: ignore[no-untyped-def]
    return error_page(403, "Not allowed", "Your role does not allow this. Ask an admin if you need it.")


@pages.errorhandler(404)
def not_found(_error):  # type: ignore[no-untyped-def]
    return error_page(404, "Not found", "There is no such page, upload or import. It may have been removed.")


@pages.errorhandler(413)
def too_large(_error):  # type: ignore[no-untyped-def]
    limit = describe_size(shared.importer().settings.max_file_bytes)
    return error_page(413, "The file is too large",
                      f"Files of at most {limit} can be imported at once. Split the file into smaller ones and "
                      "import them one after another.")


@pages.errorhandler(500)
def internal_error(_error):  # type: ignore[no-untyped-def]
    return error_page(500, "Something went wrong", "The problem has been logged. Please try again in a moment.")


def visitor() -> WebUser:
    user = shared.signed_in_user()
    assert user is not None  # check_visitor made sure
    return user


def page_number() -> int:
    """?page=, from 1; anything else is the first page."""
    return max(request.args.get("page", 1, type=int) or 1, 1)
