"""The importer as Flask blueprints any helpdesk mounts: `register(app, ...)` is plugin.toml's entry point.

    from adapters.web import register
    register(app, database_url="postgresql://...", current_user=lambda: g.user,
             notify=lambda notice: helpdesk_notifications.add(notice.recipient, notice.message, notice.link))

`current_user()` returns the signed-in person (an object or mapping with id, email, name or
first_name/last_name, role and optionally is_active) or None. Roles are admin, support_admin and agent
(see [permissions] in plugin.toml). `notify(notice)` receives each finished import's Notice; without it,
notifications stay in the importer's table for the standalone host's bell. Jobs run in
`contact-importer worker` processes started beside the helpdesk.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from adapters.bootstrap import bootstrap, settings_from_environment
from adapters.jobs import ImportQueue, make_import_queue
from adapters.web import mailbox_pages, notices_pages, tokens_pages  # noqa: F401  (their routes are on pages)
from adapters.web.api import api
from adapters.web.blueprint import EXTENSION, Importer, Notice
from adapters.web.pages import pages
from adapters.web.accounts_pages import accounts_pages
from adapters.web.security import Permissions, SignInThrottled, read_permissions, throttled_json
from plugin.services import Services
from plugin.settings import Settings

__all__ = ["Notice", "init_app", "register"]


def register(
    app: Flask,
    *,
    database_url: str | None = None,
    current_user: Callable[[], object | None],
    notify: Callable[[Notice], None] | None = None,
    load_user: Callable[[str], object | None] | None = None,
    settings: Settings | None = None,
    url_prefix: str = "/importer",
    api_prefix: str = "/api/v1",
    base_template: str = "contact_importer/base.html",
) -> Importer:
    """Mount the importer in a helpdesk's app: settings from the environment, services, queue, blueprints."""
    settings = settings or settings_from_environment(database_url=database_url)
    services = bootstrap(settings)
    return init_app(app, services, current_user=current_user, notify=notify, load_user=load_user,
                    url_prefix=url_prefix, api_prefix=api_prefix, base_template=base_template)


def init_app(
    app: Flask,
    services: Services,
    *,
    current_user: Callable[[], object | None],
    queue: ImportQueue | None = None,
    notify: Callable[[Notice], None] | None = None,
    load_user: Callable[[str], object | None] | None = None,
    url_prefix: str = "/importer",
    api_prefix: str = "/api/v1",
    base_template: str = "contact_importer/base.html",
    login_endpoint: str | None = None,
) -> Importer:
    """Attach the importer to an app whose services are already built (the host and tests use this)."""
    state = Importer(services=services, queue=queue or make_import_queue(services),
                     permissions=Permissions(read_permissions()), current_user=current_user, load_user=load_user,
                     notify=notify, base_template=base_template, login_endpoint=login_endpoint)
    app.extensions[EXTENSION] = state
    app.register_blueprint(pages, url_prefix=url_prefix)
    app.register_blueprint(api, url_prefix=api_prefix)
    app.register_blueprint(accounts_pages)  # /agents/set-password: the invitations' links
    app.register_error_handler(SignInThrottled, throttled_json)
    return state
