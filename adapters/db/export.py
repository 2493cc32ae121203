"""Every customer in the import format, streamed: re-importing the file changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import groupby

from sqlalchemy import Engine, select

from adapters.db.models import (
    companies,
    contact_labels,
    contacts,
    custom_fields,
    custom_values,
    customer_teams,
    labels,
    teams,
)
from plugin.moments import moment_text

CUSTOMER_COLUMNS = ("id", "email", "first_name", "last_name", "middle_name", "username", "phone", "mobile",
                    "company", "company_id", "labels", "groups", "active", "type", "created_at", "external_id",
                    "external_source")


def custom_cells(values: Iterable[tuple[int, int, str]], positions: Mapping[int, int], width: int
                 ) -> dict[int, list[str]]:
    """(owner id, custom field id, value) rows → owner id → one cell per exported custom field, "" where none.

    Values of fields not exported (another kind's) are skipped; an owner without values has no entry."""
    cells: dict[int, list[str]] = {}
    for owner_id, field_id, value in values:
        if field_id in positions:
            cells.setdefault(owner_id, [""] * width)[positions[field_id]] = value
    return cells


def export_customers(engine: Engine, *, batch: int = 2000, leads: bool = False
                     ) -> tuple[list[str], Iterator[list[object]]]:
    """Headers and rows: id, email, names, username, phones (E.164), company (name and id), labels and groups
    (':'-joined), active (true/false), type, created_at (ISO 8601, UTC), external id and its source, then one column per customers' custom field. The customers, or with `leads` the leads (contacts
    marked as leads, with the customers' fields)."""
    with engine.connect() as connection:
        variables = connection.execute(select(custom_fields.c.id, custom_fields.c.variable)
                                       .where(custom_fields.c.applies_to == "customers")
                                       .order_by(custom_fields.c.variable)).all()
    headers = [*CUSTOMER_COLUMNS, *(variable for _, variable in variables)]
    field_positions = {field_id: position for position, (field_id, _) in enumerate(variables)}

    def joined(pairs) -> dict[int, str]:  # type: ignore[no-untyped-def]
        return {owner: ":".join(sorted(name for _, name in group)) for owner, group in groupby(pairs, key=lambda pair: pair[0])}

    def rows() -> Iterator[list[object]]:
        last_id = 0
        with engine.connect() as connection:
            company_names = dict(connection.execute(select(companies.c.id, companies.c.name)).all())
            while True:
                found = connection.execute(
                    select(contacts.c.id, contacts.c.email, contacts.c.first_name, contacts.c.last_name,
                           contacts.c.middle_name, contacts.c.username, contacts.c.phone, contacts.c.mobile,
                           contacts.c.company_id, contacts.c.active, contacts.c.type, contacts.c.created_at,
                           contacts.c.external_id, contacts.c.external_source)
                    .where(contacts.c.id > last_id, contacts.c.is_lead.is_(leads))
                    .order_by(contacts.c.id).limit(batch)).all()
                if not found:
                    return
                ids = [contact.id for contact in found]
                label_names = joined(connection.execute(
                    select(contact_labels.c.contact_id, labels.c.name).join(labels)
                    .where(contact_labels.c.contact_id.in_(ids)).order_by(contact_labels.c.contact_id)))
                groups = joined(connection.execute(
                    select(customer_teams.c.contact_id, teams.c.name).join(teams)
                    .where(customer_teams.c.contact_id.in_(ids)).order_by(customer_teams.c.contact_id)))
                custom = custom_cells(connection.execute(
                    select(custom_values.c.contact_id, custom_values.c.field_id, custom_values.c.value)
                    .where(custom_values.c.contact_id.in_(ids))), field_positions, len(variables))
                for contact in found:
                    yield [contact.id, contact.email, contact.first_name or "", contact.last_name or "",
                           contact.middle_name or "", contact.username or "", contact.phone or "", contact.mobile or "",
                           company_names.get(contact.company_id, "") if contact.company_id else "",
                           contact.company_id or "", label_names.get(contact.id, ""),
                           groups.get(contact.id, ""),
                           "true" if contact.active else "false", contact.type or "", moment_text(contact.created_at),
                           contact.external_id or "", contact.external_source or "",
                           *custom.get(contact.id, [""] * len(variables))]
                last_id = ids[-1]

    return headers, rows()


def export_leads(engine: Engine, *, batch: int = 2000) -> tuple[list[str], Iterator[list[object]]]:
    """Every lead, in the leads' import format (the customers')."""
    return export_customers(engine, batch=batch, leads=True)
