"""Every customer in the import format, streamed: re-importing the file changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby

from sqlalchemy import Engine, select

from adapters.db.models import Contact, ContactLabel, CustomFieldRow, CustomValue, Label

CUSTOMER_COLUMNS = ("id", "email", "first_name", "last_name", "company_id", "labels")


def export_customers(engine: Engine, *, batch: int = 2000) -> tuple[list[str], Iterator[list[object]]]:
    """Headers and rows: id, email, names, company, labels (':'-joined), then one column per custom field."""
    with engine.connect() as connection:
        variables = connection.execute(select(CustomFieldRow.id, CustomFieldRow.variable).order_by(CustomFieldRow.variable)).all()
    headers = [*CUSTOMER_COLUMNS, *(variable for _, variable in variables)]
    field_positions = {field_id: position for position, (field_id, _) in enumerate(variables)}

    def rows() -> Iterator[list[object]]:
        last_id = 0
        with engine.connect() as connection:
            while True:
                contacts = connection.execute(
                    select(Contact.id, Contact.email, Contact.first_name, Contact.last_name, Contact.company_id)
                    .where(Contact.id > last_id).order_by(Contact.id).limit(batch)).all()
                if not contacts:
                    return
                ids = [contact.id for contact in contacts]
                labels = {contact_id: ":".join(sorted(name for _, name in pairs)) for contact_id, pairs in groupby(
                    connection.execute(select(ContactLabel.contact_id, Label.name).join(Label)
                                       .where(ContactLabel.contact_id.in_(ids)).order_by(ContactLabel.contact_id)),
                    key=lambda pair: pair[0])}
                custom: dict[int, list[str]] = {}
                for contact_id, field_id, value in connection.execute(
                        select(CustomValue.contact_id, CustomValue.field_id, CustomValue.value)
                        .where(CustomValue.contact_id.in_(ids))):
                    custom.setdefault(contact_id, [""] * len(variables))[field_positions[field_id]] = value
                for contact in contacts:
                    yield [contact.id, contact.email, contact.first_name or "", contact.last_name or "",
                           contact.company_id or "", labels.get(contact.id, ""),
                           *custom.get(contact.id, [""] * len(variables))]
                last_id = ids[-1]

    return headers, rows()
