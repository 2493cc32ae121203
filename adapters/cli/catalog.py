"""labels, fields and companies: what customers' rows refer to."""

from __future__ import annotations

import click

from adapters.cli.context import services_of
from plugin.catalog import KINDS_WITH_CUSTOM_FIELDS, CatalogProblem
from plugin.kinds import FieldType
from plugin.words import count_of


@click.group("labels")
def labels_group() -> None:
    """Labels customers can carry."""


@labels_group.command("add")
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def labels_add_command(context: click.Context, names: tuple[str, ...]) -> None:
    """Create labels (exact, case-sensitive names); existing ones are left as they are."""
    try:
        created = services_of(context).catalog.add_labels(names)
    except CatalogProblem as error:
        raise click.ClickException(str(error)) from error
    for name in names:
        click.echo(f"{created[name.strip()]}\t{name.strip()}")


@labels_group.command("list")
@click.pass_context
def labels_list_command(context: click.Context) -> None:
    """List labels with their ids."""
    for label_id, name in services_of(context).catalog.list_labels():
        click.echo(f"{label_id}\t{name}")


@click.group("fields")
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
        field_id = services_of(context).catalog.add_custom_field(variable, FieldType(field_type), choices.split(","),
                                                                 applies_to=applies_to)
    except CatalogProblem as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{field_id}\t{variable}\t{field_type}\t{applies_to}")


@fields_group.command("list")
@click.pass_context
def fields_list_command(context: click.Context) -> None:
    """List custom fields: id, variable, type, choices, and whose files carry it."""
    for custom in services_of(context).catalog.list_custom_fields():
        click.echo(f"{custom.id}\t{custom.variable}\t{custom.type}\t{','.join(custom.choices)}\t{custom.applies_to}")


@click.group("companies")
def companies_group() -> None:
    """Companies customers belong to."""


@companies_group.command("add")
@click.argument("name")
@click.pass_context
def companies_add_command(context: click.Context, name: str) -> None:
    """Create a company and print its id."""
    try:
        click.echo(services_of(context).catalog.add_company(name))
    except CatalogProblem as error:
        raise click.ClickException(str(error)) from error


@companies_group.command("list")
@click.pass_context
def companies_list_command(context: click.Context) -> None:
    """List companies with their ids."""
    for company_id, name in services_of(context).catalog.list_companies():
        click.echo(f"{company_id}\t{name}")


@companies_group.command("assign-by-domain")
@click.option("--dry-run", is_flag=True, help="Print who would join which company; change nothing.")
@click.pass_context
def companies_assign_by_domain_command(context: click.Context, dry_run: bool) -> None:
    """Customers without a company join the company owning their email's domain (never a free-mail one)."""
    services = services_of(context)
    assigned = services.catalog.assign_companies_by_domain(dry_run=dry_run)
    for item in assigned:
        click.echo(f"{item.contact_id}\t{item.email}\t{item.company_id}\t{item.company_name}")
    verb = "would join" if dry_run else "joined"
    click.echo(f"{count_of(len(assigned), 'customers')} {verb} a company by their email's domain.", err=True)



COMMANDS = (labels_group, fields_group, companies_group)
