"""The mailbox pages (admins only, `mailboxes.manage`): list, add, edit, poll now, skips, remove. Each view parses,
calls one services.capture use case (or the poller's poll_mailbox, as `mailbox poll` does), renders.

A mailbox's password is never stored nor shown: the form takes the NAME of an environment variable of the
importer's processes, as `mailbox add --password-env` does, and the pages say whether it is set right now.
Its routes live on the pages blueprint (adapters.web.pages), so they share its sign-in, CSRF and error pages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

from flask import abort, redirect, render_template, request, url_for

from adapters.imap.access import AccessRefused, access_check, what_failed
from adapters.web import blueprint as shared
from adapters.web.page_base import when
from adapters.web.pages import error_page, pages
from adapters.web.security import WebUser
from plugin.ports.mailboxes import MailboxExists, MailboxRecord, MailboxStatus
from plugin.services.capture import BadMailbox, UnknownMailbox

PERMISSION = "mailboxes.manage"
SKIPS_PER_PAGE = 50
STATUS_WORDS = {  # MailboxStatus → what the list says (the colour only repeats it)
    MailboxStatus.NEW: "New: not polled yet",
    MailboxStatus.OK: "Working",
    MailboxStatus.FAILING: "Failing",
}


@pages.before_request
def only_mailbox_managers():  # type: ignore[no-untyped-def]
    """The mailbox pages are for the roles plugin.toml gives `mailboxes.manage` (admins)."""
    if not (request.endpoint or "").startswith("contact_importer.mailbox"):
        return None
    user = shared.signed_in_user()
    if user is None:
        return None  # check_visitor sends them to sign in
    if not may_manage_mailboxes(user):
        return error_page(403, "Not allowed", "Only an admin manages the support mailboxes. Ask one if a mailbox "
                                              "needs a change.")
    return None


def may_manage_mailboxes(user: WebUser | None) -> bool:
    return shared.importer().permissions.allows(user, PERMISSION)


@pages.context_processor
def mailbox_globals() -> dict[str, object]:
    return {"may_manage_mailboxes": may_manage_mailboxes, "mailbox_status": describe_status, "is_variable_set": is_variable_set,
            "what_failed": what_failed, "position": position}


def is_variable_set(name: str) -> bool:
    """Whether the server process has the environment variable now (its value is never read out)."""
    return bool(name) and name in os.environ


def position(mailbox: MailboxRecord) -> str:
    if mailbox.uidvalidity is None or mailbox.last_uid is None:
        return "not read yet"
    return f"{mailbox.uidvalidity}/{mailbox.last_uid}"


def describe_status(mailbox: MailboxRecord, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if mailbox.lease_until is not None and mailbox.lease_until > now:
        return "Being read now"
    words = STATUS_WORDS.get(mailbox.status, str(mailbox.status))
    if mailbox.status == MailboxStatus.FAILING:
        failures = f"{mailbox.failures} failed poll{'s' if mailbox.failures != 1 else ''} in a row"
        retry = f"; next try {when(mailbox.next_attempt_at)}" if mailbox.next_attempt_at else ""
        return f"{words} ({failures}{retry})"
    return words


class MailboxFields(TypedDict):
    """The keyword arguments add_mailbox and change_mailbox share."""

    host: str
    port: int | None
    user: str
    password_env: str
    tls: bool
    folder: str
    own_addresses: list[str]
    label: str | None
    captures_leads: bool


@dataclass(frozen=True, slots=True)
class MailboxForm:
    """The add and edit form as given, kept to show it again when it is refused."""

    name: str = ""
    host: str = ""
    port: str = ""
    user: str = ""
    password_env: str = ""
    tls: bool = True
    folder: str = "INBOX"
    own_addresses: str = ""
    label: str = ""
    captures_leads: bool = False

    @classmethod
    def of(cls, mailbox: MailboxRecord) -> MailboxForm:
        return cls(mailbox.name, mailbox.host, str(mailbox.port or ""), mailbox.user, mailbox.password_env,
                   mailbox.tls, mailbox.folder, "\n".join(mailbox.own_addresses), mailbox.label or "",
                   mailbox.captures_leads)

    @classmethod
    def posted(cls) -> MailboxForm:
        form = request.form
        return cls(form.get("name", "").strip(), form.get("host", "").strip(), form.get("port", "").strip(),
                   form.get("user", "").strip(), form.get("password_env", "").strip(), form.get("tls") == "on",
                   form.get("folder", "").strip() or "INBOX", form.get("own_addresses", ""),
                   form.get("label", "").strip(), form.get("captures_leads") == "on")

    def problems(self) -> list[str]:
        """What the form lacks before anything is asked of the server; the rest is the use case's."""
        missing = [what for what, value in (("the IMAP server", self.host), ("the login", self.user),
                                            ("the password's environment variable", self.password_env)) if not value]
        problems = [f"Fill in {what}." for what in missing]
        if self.port and not (self.port.isdigit() and 1 <= int(self.port) <= 65535):
            problems.append("The port is a number from 1 to 65535, or empty for the usual one.")
        return problems

    def fields(self) -> MailboxFields:
        """The use case's keyword arguments (after problems() found none)."""
        addresses = [part.strip() for line in self.own_addresses.splitlines() for part in line.split(",")]
        return MailboxFields(host=self.host, port=int(self.port) if self.port else None, user=self.user,
                             password_env=self.password_env, tls=self.tls, folder=self.folder,
                             own_addresses=[address for address in addresses if address], label=self.label or None,
                             captures_leads=self.captures_leads)


def _mailbox_or_404(name: str) -> MailboxRecord:
    try:
        return shared.importer().services.capture.mailbox(name)
    except UnknownMailbox:
        abort(404)


@pages.get("/mailboxes")
def mailboxes():  # type: ignore[no-untyped-def]
    return render_template("contact_importer/mailboxes.html", overview=shared.importer().services.capture.overview(),
                           removed=request.args.get("removed", ""), added=request.args.get("added", ""),
                           changed=request.args.get("changed", ""))


@pages.route("/mailboxes/new", methods=["GET", "POST"])
def mailbox_add():  # type: ignore[no-untyped-def]
    form, problems = MailboxForm(), []
    if request.method == "POST":
        form = MailboxForm.posted()
        problems = form.problems()
        if not problems:
            try:
                shared.importer().services.capture.add_mailbox(name=form.name, check=access_check(os.environ),
                                                               now=datetime.now(UTC), **form.fields())
            except (AccessRefused, BadMailbox) as error:
                problems = [f"Mailbox {form.name} was not saved: {error}"]
            except MailboxExists:
                problems = [f"Mailbox {form.name} was not saved: there is a mailbox with that name already."]
            else:
                return redirect(url_for(".mailboxes", added=form.name))
    return render_template("contact_importer/mailbox_form.html", form=form, problems=problems, editing=None), \
        400 if problems else 200


@pages.route("/mailboxes/<path:name>/edit", methods=["GET", "POST"])
def mailbox_edit(name: str):  # type: ignore[no-untyped-def]
    capture = shared.importer().services.capture
    problems: list[str] = []
    if request.method == "GET":
        mailbox = _mailbox_or_404(name)
        return render_template("contact_importer/mailbox_form.html", form=MailboxForm.of(mailbox), problems=[],
                               editing=name)
    form = MailboxForm.posted()
    problems = form.problems()
    if not problems:
        try:
            capture.change_mailbox(name, check=access_check(os.environ), now=datetime.now(UTC),
                                   **form.fields())
        except UnknownMailbox:
            abort(404)
        except (AccessRefused, BadMailbox) as error:
            problems = [f"Mailbox {name} was not changed: {error}"]
        else:
            return redirect(url_for(".mailboxes", changed=name))
    return render_template("contact_importer/mailbox_form.html", form=form, problems=problems, editing=name), 400


@pages.post("/mailboxes/<path:name>/poll")
def mailbox_poll(name: str):  # type: ignore[no-untyped-def]
    """One poll in the request, through the same use case as `mailbox poll NAME`; the page shows what it came to."""
    from adapters.imap.poller import UnknownMailbox as PollerUnknown
    from adapters.imap.poller import poll_mailbox

    try:
        result = poll_mailbox(shared.importer().services, name, environ=os.environ)
    except PollerUnknown:
        abort(404)
    return render_template("contact_importer/mailbox_polled.html", name=name, result=result)


@pages.get("/mailboxes/<path:name>/skips")
def mailbox_skips(name: str):  # type: ignore[no-untyped-def]
    email = request.args.get("email", "").strip()[:320]
    page_number = request.args.get("page", "1")
    page_number = int(page_number) if page_number.isdigit() and 0 < int(page_number) < 10**6 else 1
    try:  # one more than a page: whether there is a next one
        skips = shared.importer().services.capture.skips(name, email=email or None, limit=SKIPS_PER_PAGE + 1,
                                                         offset=(page_number - 1) * SKIPS_PER_PAGE)
    except UnknownMailbox:
        abort(404)
    return render_template("contact_importer/mailbox_skips.html", name=name, email=email, page=page_number,
                           skips=skips[:SKIPS_PER_PAGE], has_next=len(skips) > SKIPS_PER_PAGE,
                           first_number=(page_number - 1) * SKIPS_PER_PAGE + 1)


@pages.route("/mailboxes/<path:name>/remove", methods=["GET", "POST"])
def mailbox_remove(name: str):  # type: ignore[no-untyped-def]
    capture = shared.importer().services.capture
    if request.method == "GET":
        return render_template("contact_importer/mailbox_remove.html", mailbox=_mailbox_or_404(name))
    try:
        capture.remove_mailbox(name)
    except UnknownMailbox:
        abort(404)
    return redirect(url_for(".mailboxes", removed=name))
