"""The contact-importer command: each command parses, calls one service, renders. Nothing else."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from pathlib import Path


import click

from adapters.bootstrap import bootstrap, freeze_startup_heap, settings_from_environment
from adapters.db.agents import (AgentError, authenticate, create_admin, export_agents, issue_invitation_links,
                                list_pending_invitations, set_password_link)
from adapters.db.catalog import (KINDS_WITH_CUSTOM_FIELDS, CatalogError, add_company, add_custom_field, add_labels,
                                 list_companies, list_custom_fields, list_labels)
from adapters.db.companies import assign_companies_by_domain, export_companies
from adapters.db.export import export_customers
from adapters.db.undo import UndoRefused, undo_import
from plugin.errors import BadFile
from plugin.kinds import FieldType
from plugin.mapping import parse_overrides
from plugin.phones import is_known_region
from plugin.report import ImportReport, Status, write_csv
from plugin.retry import retry_arguments
from plugin.services import Services, UnknownKind
from plugin.settings import SettingsError
from plugin.undo import UndoAction, UndoStep

EXIT_ROWS_FAILED = 1
EXIT_REJECTED = 2


def _services(context: click.Context) -> Services:
    """Built on first use, so `--help` never touches a database."""
    state = context.find_root().obj
    if "services" not in state:
        try:
            settings = settings_from_environment(database_url=state["database_url"])
        except SettingsError as error:
            raise click.ClickException(str(error)) from error
        state["services"] = bootstrap(settings)
        freeze_startup_heap()
        context.find_root().call_on_close(state["services"].store.engine.dispose)  # no connection left open
    return state["services"]


pass_services = click.make_pass_decorator(dict)


@click.group()
@click.option("--database-url", envvar="CONTACT_IMPORTER_DATABASE_URL", default=None, metavar="URL",
              help="SQLAlchemy URL of the database (default: a SQLite file at instance/contacts.db).")
@click.option("-v", "--verbose", count=True, help="Log progress (-v) or every batch (-vv) on stderr.")
@click.version_option(package_name="contact-importer")
@click.pass_context
def cli(context: click.Context, database_url: str | None, verbose: int) -> None:
    """Bring people into the helpdesk: customers and agents from CSV, contacts from support mail."""
    if verbose:
        logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    context.obj = {"database_url": database_url}


def _echo_csv(chunks) -> None:  # type: ignore[no-untyped-def]
    for chunk in chunks:  # click.echo, not get_text_stream(): deprecated in Click 8.4
        click.echo(chunk, nl=False)


@cli.command("template")
@click.argument("kind")
@click.pass_context
def template_command(context: click.Context, kind: str) -> None:
    """Print the sample CSV of KIND (customers, users or companies): the header and two example rows."""
    try:
        _echo_csv(_services(context).imports.template(kind))
    except UnknownKind as error:
        raise click.ClickException(str(error)) from error


@cli.group("labels")
def labels_group() -> None:
    """Labels customers can carry."""


@labels_group.command("add")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def labels_add_command(context: click.Context, names: tuple[str, ...]) -> None:
    """Create labels (exact, case-sensitive names); existing ones are left as they are."""
    try:
        created = add_labels(_services(context).store.engine, names)  # type: ignore[attr-defined]
    except CatalogError as error:
        raise click.ClickException(str(error)) from error
    for name in names:
        click.echo(f"{created[name.strip()]}\t{name.strip()}")


@labels_group.command("list")
@click.pass_context
def labels_list_command(context: click.Context) -> None:
    """List labels with their ids."""
    for label_id, name in list_labels(_services(context).store.engine):  # type: ignore[attr-defined]
        click.echo(f"{label_id}\t{name}")


@cli.group("fields")
def fields_group() -> None:
    """Custom fields: one column each in customer (or company) files, headed by the variable name."""


@fields_group.command("add")
@click.argument("variable")
@click.option("--type", "field_type", type=click.Choice([str(t) for t in FieldType]), default="text", show_default=True)
@click.option("--choices", default="", help="Comma-separated values of a choice field, e.g. gold,silver,bronze.")
@click.option("--for", "applies_to", type=click.Choice(KINDS_WITH_CUSTOM_FIELDS), default="customers", show_default=True,
              help="Whose files carry the field: customers' or companies'.")
@click.pass_context
def fields_add_command(context: click.Context, variable: str, field_type: str, choices: str, applies_to: str) -> None:
    """Define a custom field of customers (or, with --for companies, of companies)."""
    try:
        field_id = add_custom_field(_services(context).store.engine, variable, FieldType(field_type),  # type: ignore[attr-defined]
                                    [choice.strip() for choice in choices.split(",") if choice.strip()],
                                    applies_to=applies_to)
    except CatalogError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{field_id}\t{variable}\t{field_type}\t{applies_to}")


@fields_group.command("list")
@click.pass_context
def fields_list_command(context: click.Context) -> None:
    """List custom fields: id, variable, type, choices, and whose files carry it."""
    for custom in list_custom_fields(_services(context).store.engine):  # type: ignore[attr-defined]
        click.echo(f"{custom.id}\t{custom.variable}\t{custom.type}\t{','.join(custom.choices)}\t{custom.applies_to}")


@cli.group("companies")
def companies_group() -> None:
    """Companies customers belong to."""


@companies_group.command("add")
@click.argument("name")
@click.pass_context
def companies_add_command(context: click.Context, name: str) -> None:
    """Create a company and print its id."""
    try:
        click.echo(add_company(_services(context).store.engine, name))  # type: ignore[attr-defined]
    except CatalogError as error:
        raise click.ClickException(str(error)) from error


@companies_group.command("list")
@click.pass_context
def companies_list_command(context: click.Context) -> None:
    """List companies with their ids."""
    for company_id, name in list_companies(_services(context).store.engine):  # type: ignore[attr-defined]
        click.echo(f"{company_id}\t{name}")


@companies_group.command("assign-by-domain")
@click.option("--dry-run", is_flag=True, help="Print who would join which company; change nothing.")
@click.pass_context
def companies_assign_by_domain_command(context: click.Context, dry_run: bool) -> None:
    """Customers without a company join the company owning their email's domain (never a free-mail one)."""
    services = _services(context)
    assigned = assign_companies_by_domain(services.store.engine,  # type: ignore[attr-defined]
                                          extra_free_mail=services.settings.free_mail_domains, dry_run=dry_run)
    for item in assigned:
        click.echo(f"{item.contact_id}\t{item.email}\t{item.company_id}\t{item.company_name}")
    verb = "would join" if dry_run else "joined"
    click.echo(f"{len(assigned):,} customers {verb} a company by their email's domain.", err=True)


def render_report(report: ImportReport, title: str) -> str:
    lines = [f"Import {report.job} ({report.kind}, {report.status}): {report.summary(title)}"]
    for column in report.mapping:
        if column.target is None:
            lines.append(f"  ignored column {column.header!r}: {column.note}")
        elif column.matched_by == "fuzzy":
            lines.append(f"  column {column.header!r} mapped to {column.target} (fuzzy match, {column.confidence}%)")
    for error in report.errors:
        where = f"row {error.row}" + (f", column {error.column}" if error.column else "")
        lines.append(f"  {where}: {error.message} [{error.code}]")
    if report.more_errors:
        lines.append(f"  ... and {report.more_errors:,} more errors: contact-importer job {report.job} --errors")
    return "\n".join(lines)


def render_row_result(result: dict[str, object]) -> str:
    """One row of a dry run: '  row 3: updated (first_name: 'Raj' → 'Rajesh')'."""
    changes = result["changes"] or []  # type: ignore[var-annotated]
    errors = result["errors"] or []  # type: ignore[var-annotated]
    if result["action"] == "created":
        details = [str(change["new"]) for change in changes if change["field"] == "email"]
    elif result["action"] == "updated":
        details = [f"{change['field']}: {change['old']!r} → {change['new']!r}" for change in changes]
    else:
        details = [str(error["code"]) for error in errors]
    return f"  row {result['row']}: {result['action']}" + (f" ({', '.join(details)})" if details else "")


def _echo_row_results(services: Services, job_id: int, *, page: int = 500) -> None:
    offset = 0
    while results := services.history.row_results(job_id, offset=offset, limit=page):
        for result in results:
            click.echo(render_row_result(result))
        offset += len(results)


def _terminal_progress():  # type: ignore[no-untyped-def]
    """Rows done of all, on stderr, when a person watches a terminal; nothing in scripts and pipes."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        click.echo(f"\r{done:,} of {total:,} rows", err=True, nl=done >= total)

    return show


def _parse_defaults(pairs: tuple[str, ...]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(f"takes FIELD=VALUE, not {pair!r}", param_hint="--default")
        defaults[name.strip()] = value
    return defaults


@cli.command("import")
@click.argument("kind")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would happen, row by row; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object with the result.")
@click.option("--map", "mappings", multiple=True, metavar="'CSV header=field'",
              help="Map a column to a field (repeatable); 'header=' ignores the column.")
@click.option("--default", "defaults", multiple=True, metavar="FIELD=VALUE", help="Value for empty cells of FIELD (repeatable).")
@click.option("--create-labels", is_flag=True, default=None, help="Create unknown labels instead of failing the row.")
@click.option("--replace-labels", is_flag=True, default=None, help="On update, replace labels instead of adding to them.")
@click.option("--default-label", "default_labels", multiple=True, help="A label every imported customer gets (repeatable).")
@click.option("--all-or-nothing", is_flag=True, default=None, help="Apply nothing unless every row is valid.")
@click.option("--create-companies", is_flag=True, default=None,
              help="Customers: create companies named in the company column that do not exist yet.")
@click.option("--create-groups", is_flag=True, default=None, help="Customers: create unknown groups (teams) instead of failing the row.")
@click.option("--region", default=None, metavar="CC",
              help="Customers: region of phone numbers written without +country, e.g. GB or US (setting default_region).")
@click.option("--create-teams", is_flag=True, default=None, help="Users: create unknown teams instead of failing the row.")
@click.option("--no-invitations", is_flag=True, default=None, help="Users: mail no invitations during this import.")
@click.option("--row-limit", type=click.IntRange(min=1), default=None, help="Most data rows accepted (setting row_limit).")
@click.option("--actor", default=None, help="Who is importing, for the history (default: the OS user).")
@click.pass_context
def import_command(context: click.Context, kind: str, csv_file: Path, dry_run: bool, as_json: bool,
                   mappings: tuple[str, ...], defaults: tuple[str, ...], create_labels: bool | None,
                   replace_labels: bool | None, default_labels: tuple[str, ...], all_or_nothing: bool | None,
                   create_companies: bool | None, create_groups: bool | None, region: str | None,
                   create_teams: bool | None, no_invitations: bool | None, row_limit: int | None,
                   actor: str | None) -> None:
    """Import KIND (customers, users or companies) from CSV_FILE; a matching email (or company name) updates.

    Exit status: 0 every row applied, 1 some rows failed (the rest applied; with --dry-run: would fail),
    2 the file was rejected.
    """
    services = _services(context)
    if region is not None and not is_known_region(region):
        raise click.BadParameter(f"{region!r} is not a region; use two letters such as GB, US or DE.", param_hint="--region")
    options: dict[str, object] = {"create_labels": create_labels, "replace_labels": replace_labels,
                                  "create_companies": create_companies, "create_groups": create_groups,
                                  "region": region.strip().upper() if region else None,
                                  "create_teams": create_teams, "no_invitations": no_invitations}
    if default_labels:
        options["default_labels"] = tuple(services.settings.default_labels) + default_labels
    try:  # usage errors exit 2, like a rejected file: 1 would claim that some rows failed
        kind_title = services.kind(kind).title
    except UnknownKind as error:
        raise click.BadParameter(str(error), param_hint="KIND") from error
    try:
        chosen = parse_overrides(mappings)
    except BadFile as error:
        raise click.BadParameter(error.message, param_hint="--map") from error
    try:
        with csv_file.open("rb") as source:
            report = services.imports.import_file(
                kind, source, file_name=csv_file.name, actor=actor or getpass.getuser(), dry_run=dry_run,
                mapping=chosen, defaults=_parse_defaults(defaults), options=options,
                all_or_nothing=all_or_nothing, row_limit=row_limit, progress=_terminal_progress())
    except (UnknownKind, BadFile) as error:
        raise click.ClickException(getattr(error, "message", str(error))) from error
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        click.echo(render_report(report, kind_title), err=report.status is Status.REJECTED)
        if report.status is Status.DRY_RUN and report.job is not None:
            _echo_row_results(services, report.job)
    if report.status is Status.REJECTED:
        context.exit(EXIT_REJECTED)
    if report.has_failures:  # for a dry run: some rows would fail
        context.exit(EXIT_ROWS_FAILED)


@cli.command("jobs")
@click.option("--limit", default=20, show_default=True, help="How many of the latest imports.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def jobs_command(context: click.Context, limit: int, as_json: bool) -> None:
    """Past imports, newest first: who, when, file, counts and status."""
    jobs = _services(context).history.list_jobs(limit=limit)
    if as_json:
        click.echo(json.dumps([_job_dict(job) for job in jobs], default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("job", "kind", "status", "who", "when", "file", "rows", "created", "updated", "unchanged", "failed")
    for job in jobs:
        table.add_row(str(job.id), job.kind, job.status, job.actor, f"{job.created_at:%Y-%m-%d %H:%M}", job.file_name,
                      str(job.rows_done), str(job.created), str(job.updated), str(job.unchanged), str(job.failed))
    Console(width=160).print(table)


def _job_dict(job) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"job": job.id, "kind": job.kind, "status": job.status, "actor": job.actor, "file": job.file_name,
            "created_at": job.created_at, "finished_at": job.finished_at, "rows": job.rows_done, "total": job.total,
            "created": job.created, "updated": job.updated, "unchanged": job.unchanged, "failed": job.failed,
            "message": job.message,
            **{link: job.options[link] for link in ("retry_of", "undo_of") if link in job.options}}


@cli.command("job")
@click.argument("job_id", type=int)
@click.option("--errors", is_flag=True, help="Print the error report CSV: original columns, row, column, message.")
@click.option("--json", "as_json", is_flag=True, help="Print the job (or the undo, or the retry) as one JSON object.")
@click.option("--undo", is_flag=True, help="Undo the import: remove what it created, put back what it updated.")
@click.option("--dry-run", is_flag=True, help="With --undo or --retry: say what would happen per record; change nothing.")
@click.option("--yes", is_flag=True, help="With --undo: do not ask for confirmation.")
@click.option("--retry", "retry_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Import a fixed copy of the error report: only the failed rows, under their original numbers.")
@click.pass_context
def job_command(context: click.Context, job_id: int, errors: bool, as_json: bool, undo: bool, dry_run: bool,
                yes: bool, retry_file: Path | None) -> None:
    """One past import; with --errors its error report, with --undo its undo, with --retry FILE a retry."""
    services = _services(context)
    job = services.history.get_job(job_id)
    if job is None:
        raise click.ClickException(f"There is no import {job_id}; `contact-importer jobs` lists them.")
    if undo and retry_file is not None:
        raise click.UsageError("Give --undo or --retry, not both.")
    if dry_run and not (undo or retry_file is not None):
        raise click.UsageError("--dry-run goes with --undo or --retry.")
    if undo:
        _undo_job(context, services, job_id, dry_run=dry_run, yes=yes, as_json=as_json)
        return
    if retry_file is not None:
        _retry_job(context, services, job, retry_file, dry_run=dry_run, as_json=as_json)
        return
    if errors:
        _echo_csv(services.history.error_report(job_id))
        return
    if as_json:
        click.echo(json.dumps(_job_dict(job), default=str))
        return
    click.echo(f"Import {job.id}: {job.kind} from {job.file_name or '-'} by {job.actor or '-'}, {job.status}")
    if job.origin:
        click.echo(f"  {job.origin}")
    click.echo(f"  {job.rows_done:,} of {job.total:,} rows: {job.created:,} created, {job.updated:,} updated, "
               f"{job.unchanged:,} unchanged, {job.failed:,} failed")
    if job.message:
        click.echo(f"  {job.message}")


def render_undo_step(step: UndoStep) -> str:
    """'  row 3 (id 12): restore (first_name: 'Rajesh' → 'Raj')' or '  row 4 (id 13): skip: Left alone: ...'."""
    details = [f"{change.field}: {change.old!r} → {change.new!r}" for change in step.restores]
    line = f"  row {step.row} (id {step.record_id}): {step.action}" + (f" ({', '.join(details)})" if details else "")
    return "; ".join([line, *(text for text in (step.reason, *step.notes) if text)])


def _undo_job(context: click.Context, services: Services, job_id: int, *, dry_run: bool, yes: bool,
              as_json: bool) -> None:
    engine = services.store.engine  # type: ignore[attr-defined]
    try:
        if not dry_run and not yes:
            preview = undo_import(engine, job_id, dry_run=True, batch_size=services.settings.batch_size)
            click.echo(preview.summary(), err=True)
            click.confirm(f"Undo import {job_id}?", abort=True, err=True)
        result = undo_import(engine, job_id, actor=getpass.getuser(), dry_run=dry_run,
                             batch_size=services.settings.batch_size)
    except UndoRefused as refused:
        raise click.ClickException(refused.message) from refused
    if as_json:
        click.echo(json.dumps(result.as_dict(), default=str))
        return
    click.echo(result.summary() + (f" (job {result.undo_job})" if result.undo_job else ""))
    for step in result.steps:
        if dry_run or step.action is not UndoAction.REMOVE or step.notes:
            click.echo(render_undo_step(step))


def _retry_job(context: click.Context, services: Services, job, retry_file: Path, *, dry_run: bool,  # type: ignore[no-untyped-def]
               as_json: bool) -> None:
    with retry_file.open("rb") as source:
        report = services.imports.import_file(source=source, file_name=retry_file.name, actor=getpass.getuser(),
                                      dry_run=dry_run, progress=_terminal_progress(),
                                      **retry_arguments(job.id, job.kind, job.mapping, dict(job.options)))  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "retry_of": job.id}, default=str))
    else:
        click.echo(render_report(report, services.kind(job.kind).title), err=report.status is Status.REJECTED)
        if report.status is Status.DRY_RUN and report.job is not None:
            _echo_row_results(services, report.job)
    if report.status is Status.REJECTED:
        context.exit(EXIT_REJECTED)
    if report.has_failures:
        context.exit(EXIT_ROWS_FAILED)


@cli.command("export")
@click.argument("kind", type=click.Choice(["customers", "users", "agents", "companies"]))
@click.pass_context
def export_command(context: click.Context, kind: str) -> None:
    """Print every customer, agent or company as CSV in the import format; agents' passwords are never exported."""
    engine = _services(context).store.engine  # type: ignore[attr-defined]
    exporters = {"customers": export_customers, "companies": export_companies}
    headers, rows = exporters.get(kind, export_agents)(engine)
    _echo_csv(write_csv(headers, rows))


def _read_password(password_stdin: bool, *, confirm: bool = False) -> str:
    """A password from one line of stdin, or from a hidden prompt; never from the command line."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@cli.command("verify")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def verify_command(context: click.Context, email: str, password_stdin: bool) -> None:
    """Check that EMAIL could sign in with a password (prompted, or from stdin): exit 0 if so, 1 if not."""
    services = _services(context)
    account = authenticate(services.store.engine, services.hasher, email, _read_password(password_stdin))  # type: ignore[attr-defined, arg-type]
    if account is None:
        click.echo("Sign-in failed: the email or the password is wrong, or the agent is inactive.", err=True)
        context.exit(1)
    click.echo(f"Signed in: {account.email} ({account.role})")


@cli.group("users")
def users_group() -> None:
    """Agents: the helpdesk's own users."""


@users_group.command("create-admin")
@click.argument("email")
@click.option("--first-name", default="Admin", show_default=True, help="The admin's first name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
def users_create_admin_command(context: click.Context, email: str, first_name: str, password_stdin: bool) -> None:
    """Create an active admin agent with a password (prompted twice, or from stdin) and print its id."""
    services = _services(context)
    password = _read_password(password_stdin, confirm=True)
    try:
        agent_id = create_admin(services.store.engine, services.hasher, email, password, first_name=first_name,  # type: ignore[attr-defined, arg-type]
                                min_length=services.settings.password_min_length)
    except AgentError as error:
        raise click.ClickException(str(error)) from error
    click.echo(agent_id)


@cli.command("invitations")
@click.option("--issue-links", is_flag=True,
              help="Print a fresh set-password link for each pending invitation; earlier links stop working.")
@click.pass_context
def invitations_command(context: click.Context, issue_links: bool) -> None:
    """Pending invitations: new agents who have no password yet (mailed when smtp_url is set)."""
    services = _services(context)
    engine = services.store.engine  # type: ignore[attr-defined]
    if issue_links:
        for issued in issue_invitation_links(engine, hours=services.settings.invitation_hours):
            click.echo(f"{issued.email}\t{issued.expires_at:%Y-%m-%d %H:%M %Z}\t{services.settings.absolute_link(set_password_link(issued.token))}")
        return
    for pending in list_pending_invitations(engine):
        state = "mailed" if pending.sent_at else "not mailed"
        click.echo(f"{pending.invitation_id}\t{pending.email}\t{pending.name}\t{state}\t"
                   f"expires {pending.expires_at:%Y-%m-%d %H:%M}")


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="contact-importer")


def _add_web_commands() -> None:
    """serve, worker and tokens live with the web adapter; their libraries load only when one runs."""
    from adapters.web.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


_add_web_commands()


def _add_mailbox_commands() -> None:
    """mailbox add|list|poll|watch|remove|skips live with the IMAP adapter."""
    from adapters.imap.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


_add_mailbox_commands()
