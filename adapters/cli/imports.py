"""import, template and export: files in, sample files and files out."""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from adapters.cli.context import echo_csv, exit_for, services_of, terminal_progress
from plugin.display import shown_change
from plugin.errors import BadFile
from plugin.hooks import BuiltinKinds
from plugin.kinds import ImportKind
from plugin.mapping import parse_overrides
from plugin.options import Option, OptionInvalid, OptionType, all_options, options_fixing, unmet_options
from plugin.report import ImportReport, Status, write_csv
from plugin.services import Services, UnknownKind
from plugin.services.imports import CannotExport
from plugin.template import alias_lines


@click.command("template")
@click.argument("kind")
@click.option("--fields", "list_fields", is_flag=True,
              help="List the fields instead, each with the other headers that map to it by themselves.")
@click.pass_context
def template_command(context: click.Context, kind: str, list_fields: bool) -> None:
    """Print the sample CSV of KIND (customers, users or companies): the header and two example rows."""
    services = services_of(context)
    if list_fields:
        try:
            import_kind = services.kind(kind)
        except UnknownKind as error:
            raise click.BadParameter(str(error), param_hint="KIND") from error
        for line in alias_lines(import_kind):
            click.echo(line)
        return
    echo_csv(services.imports.template(kind))  # an unknown kind exits 2 (context.exit_codes)


def render_report(report: ImportReport, title: str, kind: ImportKind | None = None,
                  unmet: Sequence[Option] = ()) -> str:
    lines = [f"Import {report.job} ({report.kind}, {report.status}): {report.summary(title)}"]
    lines.extend(f"  {option.unmet_note}" for option in unmet)
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
    for option in options_fixing(kind, {error.code for error in report.errors}) if kind is not None else ():
        lines.append(f"  “{option.label}”: import again with {option.cli_flag}")
    return "\n".join(lines)


def render_row_result(result: dict[str, object]) -> str:
    """One row of a dry run: '  row 3: updated (first_name: 'Raj' → 'Rajesh')'."""
    changes = result["changes"] or []  # type: ignore[var-annotated]
    errors = result["errors"] or []  # type: ignore[var-annotated]
    if result["action"] == "created":
        details = [str(change["new"]) for change in changes if change["field"] == "email"]
    elif result["action"] == "updated":
        details = [shown_change(str(change["field"]), change["old"], change["new"]) for change in changes]
    else:
        details = [str(error["code"]) for error in errors]
    return f"  row {result['row']}: {result['action']}" + (f" ({', '.join(details)})" if details else "")


def echo_row_results(services: Services, job_id: int, *, page: int = 500) -> None:
    offset = 0
    while results := services.history.row_results(job_id, offset=offset, limit=page):
        for result in results:
            click.echo(render_row_result(result))
        offset += len(results)


BUILT_IN_KINDS = tuple(BuiltinKinds().register_import_kinds())  # the command's flags: these kinds' options


def _field_values(pairs: tuple[str, ...], flag: str) -> dict[str, str]:
    """FIELD=VALUE pairs (--default) → {field: value}."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(f"takes FIELD=VALUE, not {pair!r}", param_hint=flag)
        values[name.strip()] = value
    return values


def option_parameters(kinds: tuple[ImportKind, ...]) -> list[click.Option]:
    """The import command's flags, one per option the kinds declare (plugin.options): nothing else adds one."""
    parameters = []
    for option, titles in all_options(kinds).values():
        which = "" if len(titles) == len(kinds) else ", ".join(titles).capitalize() + " only. "
        default = f" (setting {option.setting})" if option.setting else ""
        text = f"{which}{option.help}{default}"
        if option.type is OptionType.FLAG:
            parameters.append(click.Option([f"{option.cli_flag}/--no-{option.cli_flag[2:]}", option.name],
                                           default=None, help=text))
        elif option.type in (OptionType.NAMES, OptionType.FIELD_VALUES, OptionType.FIELDS):
            metavar = {OptionType.FIELD_VALUES: "FIELD=VALUE", OptionType.FIELDS: "FIELD"}.get(option.type, "NAME")
            parameters.append(click.Option([option.cli_flag, option.name], multiple=True, metavar=metavar, help=text))
        else:
            metavar = {OptionType.REGION: "CC", OptionType.TEXT: "NAME"}.get(option.type, "N")
            parameters.append(click.Option([option.cli_flag, option.name], default=None, metavar=metavar, help=text))
    return parameters


def given_options(values: Mapping[str, object]) -> dict[str, object]:
    """The import command's option flags as given (None, or nothing repeated: not given) → the options to read."""
    declared = all_options(BUILT_IN_KINDS)
    given: dict[str, object] = {}
    for name, value in values.items():
        if value is None or value == ():
            continue
        option = declared[name][0]
        given[name] = _field_values(value, option.cli_flag) if option.type is OptionType.FIELD_VALUES else value  # type: ignore[arg-type]
    return given


@click.command("import")
@click.argument("kind")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would happen, row by row; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object with the result.")
@click.option("--map", "mappings", multiple=True, metavar="'CSV header=field'",
              help="Map a column to a field (repeatable); 'header=' ignores the column.")
@click.option("--actor", default=None, help="Who is importing, for the history (default: the OS user).")
@click.pass_context
def import_command(context: click.Context, kind: str, csv_file: Path, dry_run: bool, as_json: bool,
                   mappings: tuple[str, ...], actor: str | None, **option_values: object) -> None:
    """Import KIND (customers, users or companies) from CSV_FILE; a matching email (or company name) updates.

    Exit status: 0 every row applied, 1 some rows failed (the rest applied; with --dry-run: would fail),
    2 the file was rejected, 3 the import itself failed (its message says why; rows done so far are kept).
    """
    services = services_of(context)
    try:  # usage errors exit 2, like a rejected file: 1 would claim that some rows failed
        import_kind = services.kind(kind)
    except UnknownKind as error:
        raise click.BadParameter(str(error), param_hint="KIND") from error
    try:
        options = services.imports.read_options(import_kind.name, given_options(option_values))
    except OptionInvalid as invalid:
        declared = all_options(BUILT_IN_KINDS).get(invalid.name)
        hint = declared[0].cli_flag if declared else invalid.name
        raise click.BadParameter(invalid.message, param_hint=hint) from invalid
    try:
        chosen = parse_overrides(mappings)
    except BadFile as error:
        raise click.BadParameter(error.message, param_hint="--map") from error
    with csv_file.open("rb") as source:
        report = services.imports.import_file(
            kind, source, file_name=csv_file.name, actor=actor or getpass.getuser(), dry_run=dry_run,
            mapping=chosen, options=options, progress=terminal_progress())
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str))
    else:
        click.echo(render_report(report, import_kind.title, import_kind,
                                 unmet_options(import_kind, options, services.settings)),
                   err=report.status in (Status.REJECTED, Status.FAILED))
        if report.status is Status.DRY_RUN and report.job is not None:
            echo_row_results(services, report.job)
    exit_for(context, report)


import_command.params.extend(option_parameters(BUILT_IN_KINDS))
import_command.epilog = "\b\nColumns map to fields by name or by these other headers (any case; spaces, dashes, " \
    "underscores and dots ignored):\n" + "\n".join(
        f"{kind.name}:\n" + "\n".join(f"  {line}" for line in alias_lines(kind)) for kind in BUILT_IN_KINDS)


@click.command("export")
@click.argument("kind")
@click.pass_context
def export_command(context: click.Context, kind: str) -> None:
    """Print every record of KIND (customers, users or agents, companies, leads) as CSV in the import format;
    agents' passwords are never exported."""
    try:
        headers, rows = services_of(context).imports.export(kind)
    except (UnknownKind, CannotExport) as error:
        raise click.BadParameter(str(error), param_hint="KIND") from error
    echo_csv(write_csv(headers, rows))




COMMANDS = (template_command, import_command, export_command)
