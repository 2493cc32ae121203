"""The notices page: everyone who imports chooses whether their own imports and undos end with an e-mail; admins
(`notices.manage` in plugin.toml) also see how the webhook is set up and its latest deliveries with their attempts.

The settings themselves (webhook_url, webhook_secret, smtp_url, notify_by_email, notice_attempts) come from
plugin.toml or CONTACT_IMPORTER_* and are not edited here; the secret is never shown. Each view parses, calls one
services.notices use case (as `contact-importer notices` does), renders.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from adapters.web import blueprint as shared
from adapters.web.page_base import error_page, pages, visitor
from plugin.services.notices import without_password

PERMISSION = "notices.manage"
DELIVERIES_SHOWN = 25
CHOICES = {"on": True, "off": False, "default": None}  # the form's values, as `notices email on|off|default`
DELIVERY_MARKS = {"delivered": "✓", "pending": "…", "failed": "✗"}  # the word is always said; the mark repeats it


@pages.get("/notices")
def notices():  # type: ignore[no-untyped-def]
    state = shared.importer()
    user = visitor()
    may_manage = state.permissions.allows(user, PERMISSION)
    return render_template("contact_importer/notices.html", email=state.services.notices.email_choice(user.email),
                           may_manage=may_manage, setup=state.services.notices.setup() if may_manage else None,
                           deliveries=state.services.notices.deliveries(limit=DELIVERIES_SHOWN) if may_manage else [],
                           marks=DELIVERY_MARKS, saved=request.args.get("saved") == "1", without_password=without_password)


@pages.post("/notices/email")
def notices_email():  # type: ignore[no-untyped-def]
    choice = request.form.get("email_choice", "")
    if choice not in CHOICES:
        return error_page(400, "Choose one", "Choose whether you want an e-mail, then save.")
    try:
        shared.importer().services.notices.set_email(visitor().email, CHOICES[choice])
    except ValueError as error:
        return error_page(400, "Notices cannot be mailed to you", str(error))
    return redirect(url_for(".notices", saved=1))
