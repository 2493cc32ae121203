"""import, template and export: files in, sample files and files out."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from adapters.cli.context import EXIT_IMPORT_FAILED, EXIT_REJECTED, EXIT_ROWS_FAILED, echo_csv, services_of, terminal_progress
from adapters.db.accounts import export_agents
from adapters.db.companies import export_companies
from adapters.db.export import export_customers
from plugin.errors import BadFile
from plugin.mapping import parse_overrides
from plugin.phones import is_known_region
from plugin.report import ImportReport, Status, write_csv
from plugin.services import Services, UnknownKind


@click.command("template")
@click.argument("kind")
@click.pass_context
def template_command(context: click.Context, kind: str) -> None:
    """Print the sample CSV of KIND (customers, users or companies): the header and two example rows."""
    try:
        echo_csv(services_of(context).imports.template(kind))
    except UnknownKind as error:
        raise click.ClickException(str(error)) from error


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


def echo_row_results(services: Services, job_id: int, *, page: int = 500) -> None:
    offset = 0
    while results := services.history.row_results(job_id, offset=offset, limit=page):
        for result in results:
            click.echo(render_row_result(result))
        offset += len(results)


def parse_defaults(pairs: tuple[str, ...]) -> dict[str, str]:
    defaults: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(f"takes FIELD=VALUE, not {pair!r}", param_hint="--default")
        defaults[name.strip()] = value
    return defaults


@click.command("import")
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
    2 the file was rejected, 3 the import itself failed (its message says why; rows done so far are kept).
    """
    services = services_of(context)
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
                mapping=chosen, defaults=parse_defaults(defaults), options=options,
                all_or_nothing=all_or_nothing, row_limit=row_limit, progress=terminal_progress())
    except (UnknownKind, BadFile) as error:
        raise click.ClickException(getattr(error, "message", str(error))) from error
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        click.echo(render_report(report, kind_title), err=report.status is Status.REJECTED)
        if report.status is Status.DRY_RUN and report.job is not None:
            echo_row_results(services, report.job)
    if report.status is Status.REJECTED:
        context.exit(EXIT_REJECTED)
    if report.status is Status.FAILED:
        context.exit(EXIT_IMPORT_FAILED)
    if report.has_failures:  # for a dry run: some rows would fail
        context.exit(EXIT_ROWS_FAILED)


@click.command("export")
@click.argument("kind", type=click.Choice(["customers", "users", "agents", "companies"]))
@click.pass_context
def export_command(context: click.Context, kind: str) -> None:
    """Print every customer, agent or company as CSV in the import format; agents' passwords are never exported."""
    engine = services_of(context).store.engine  # type: ignore[attr-defined]
    exporters = {"customers": export_customers, "companies": export_companies}
    headers, rows = exporters.get(kind, export_agents)(engine)
    echo_csv(write_csv(headers, rows))




COMMANDS = (template_command, import_command, export_command)
