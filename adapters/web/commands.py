"""`contact-importer serve`, `worker` and `tokens create`: each parses, calls, renders.

They are added to the `contact-importer` group in adapters/cli/__init__.py; Flask and huey load only when one runs.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import click

from plugin.services.people import MAX_TOKEN_DAYS
from plugin.settings import SettingsError


def _settings(context: click.Context):  # type: ignore[no-untyped-def]
    from adapters.bootstrap import settings_from_environment

    try:
        return settings_from_environment(database_url=(context.find_root().obj or {}).get("database_url"))
    except SettingsError as error:
        raise click.ClickException(str(error)) from error


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")


@click.command("worker")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="How many imports run at once (setting worker_count).")
@click.option("--worker-type", type=click.Choice(["thread", "process"]), default="thread", show_default=True,
              help="Threads suit imports (database work; agents' passwords are hashed in their own processes).")
@click.option("--max-delay", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Longest pause between looks at an empty queue, in seconds.")
@click.option("--shutdown-timeout", type=click.FloatRange(min=0), default=None,
              help="On SIGTERM, seconds to let running imports finish their current batch (default: as long as "
                   "it takes).")
@click.pass_context
def worker_command(context: click.Context, workers: int | None, worker_type: str, max_delay: float,
                   shutdown_timeout: float | None) -> None:
    """Run background imports from the queue (SQLite file, or Redis when redis_url is set).

    SIGTERM or SIGINT stop it gracefully: a running import stops after its current batch and is enqueued
    again, to carry on from there in the next worker. SIGHUP restarts it. As it starts, it enqueues again the
    imports of workers that died (see stale_import_minutes).
    """
    from adapters.bootstrap import bootstrap, freeze_startup_heap
    from adapters.jobs import make_import_queue

    from adapters.sealed_files import SECRET_KEY_FILE
    from adapters.web.server import keep_files_private

    _configure_logging()
    settings = _settings(context)
    keep_files_private(settings, key_file=SECRET_KEY_FILE)
    queue = make_import_queue(bootstrap(settings))
    freeze_startup_heap()
    consumer = queue.consumer(workers=workers or settings.worker_count, worker_type=worker_type,
                              max_delay=max_delay, shutdown_timeout=shutdown_timeout)
    picked_up = queue.pick_up_orphans()
    if picked_up:
        logging.getLogger(__name__).warning("imports %s had lost their worker; enqueued again",
                                            ", ".join(map(str, picked_up)))
    consumer.run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=5000, show_default=True, help="Port (0: any free one).")
@click.option("--no-worker", is_flag=True, help="Do not start a worker beside the web server.")
@click.pass_context
def serve_command(context: click.Context, host: str, port: int, no_worker: bool) -> None:
    """Run the standalone helpdesk on waitress, with a supervised worker for its imports; prints the URL.

    Links in mail (public_url) start with the address served unless public_url is set. A worker that dies is
    started again (after a pause that grows while it keeps dying); Ctrl+C or SIGTERM stop both.
    """
    from adapters.bootstrap import bootstrap
    from adapters.sealed_files import SECRET_KEY_FILE
    from adapters.web.host import create_app
    from adapters.web.server import WorkerSupervisor, keep_files_private, make_wsgi_server

    _configure_logging()
    settings = _settings(context)
    keep_files_private(settings, key_file=SECRET_KEY_FILE)
    services = bootstrap(settings)  # migrates before the worker starts, so the two never race
    server = make_wsgi_server(lambda environ, start_response: [], host, port)  # the app comes next
    url = f"http://{host}:{server.effective_port}"
    if not settings.public_url:
        services.settings = settings = settings.replace(public_url=url)
    server.application = create_app(settings, services=services)
    supervisor = None
    if not no_worker:
        script = Path(sys.executable).with_name("contact-importer")  # SIGHUP re-executes the same argv
        command = [str(script)] if script.exists() else [sys.executable, "-c", "from adapters.cli import main; main()"]
        root = context.find_root().obj or {}
        if root.get("database_url"):
            command += ["--database-url", root["database_url"]]
        environment = {**os.environ, "CONTACT_IMPORTER_PUBLIC_URL": settings.public_url}
        supervisor = WorkerSupervisor([*command, "worker"], env=environment)
        supervisor.start()
    click.echo(f"Contact importer: {url}")
    click.echo("Sign in with an agent's email and password; make the first admin with "
               "`contact-importer users create-admin EMAIL`.")
    if supervisor is not None and supervisor.process is not None:
        click.echo(f"Background imports: worker process {supervisor.process.pid} "
                   f"({'Redis' if settings.redis_url else 'SQLite'} queue).")
    click.echo("Stop with Ctrl+C.")
    signal.signal(signal.SIGTERM, _stop_serving)
    try:
        server.run()  # returns on KeyboardInterrupt, after its threads finished
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if supervisor is not None:
            supervisor.stop()  # graceful: imports stop after their batch, to resume later


def _stop_serving(_signum: int, _frame: object) -> None:
    """SIGTERM (systemd, docker) stops the server like Ctrl+C: the worker is then stopped gracefully."""
    raise KeyboardInterrupt


@click.group("tokens")
def tokens_group() -> None:
    """API tokens: `Authorization: Bearer <token>` acts as that agent, with their role."""


@tokens_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. 'nightly CRM sync'.")
@click.option("--expires-in", "days", type=click.IntRange(min=1, max=MAX_TOKEN_DAYS), default=None,
              help="Days the token works (default: the token_days setting, 90).")
@click.pass_context
def tokens_create_command(context: click.Context, email: str, name: str, days: int | None) -> None:
    """Make an API token for the agent EMAIL; it is printed once and only its hash is kept."""
    from adapters.bootstrap import bootstrap
    from plugin.services.people import PeopleError

    try:
        token, agent, expires_at = bootstrap(_settings(context)).people.create_token(email, name=name, days=days)
    except PeopleError as error:
        raise click.ClickException(error.message) from error
    click.echo(token)
    click.echo(f"Token for {agent.email} ({agent.role}), expires {expires_at:%Y-%m-%d %H:%M} UTC; keep it secret, "
               "it is not shown again.", err=True)


@tokens_group.command("list")
@click.pass_context
def tokens_list_command(context: click.Context) -> None:
    """Every API token: id, owner, name, created, expires, last used and state (never the token itself)."""
    from adapters.bootstrap import bootstrap

    def when(moment: object) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else "-"

    services = bootstrap(_settings(context))
    now = services.people.now()
    click.echo("id\towner\tname\tcreated\texpires\tlast used\tstate")
    for token in services.people.list_tokens():
        click.echo(f"{token.id}\t{token.email}\t{token.name}\t{when(token.created_at)}\t{when(token.expires_at)}\t"
                   f"{when(token.last_used_at)}\t{token.state(now)}")


@tokens_group.command("revoke")
@click.argument("email")
@click.pass_context
def tokens_revoke_command(context: click.Context, email: str) -> None:
    """Revoke every API token of EMAIL."""
    from adapters.bootstrap import bootstrap

    count = bootstrap(_settings(context)).people.revoke_tokens(email)
    click.echo(f"{count} token(s) revoked.")


COMMANDS = (serve_command, worker_command, tokens_group)
