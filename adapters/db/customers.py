"""Customers in the database: found by email key or id in one query a batch, written in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, or_, select, update

from adapters.db.catalog import ensure_labels
from adapters.db.dialect import insert_for
from adapters.db.models import Contact, ContactLabel, CustomFieldRow, CustomValue, Label
from plugin.kinds import Catalog
from plugin.plan import Action, Existing, PlannedRow

CONTACT_FIELDS = ("email", "first_name", "last_name", "company_id")
contacts = Contact.__table__


class CustomerTable:
    """The customers kind's storage: contacts with their labels and custom values."""

    kind = "customers"

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None
             ) -> tuple[dict[str, Existing], dict[int, Existing]]:
        if not keys and not ids:
            return {}, {}
        found = connection.execute(
            select(Contact.id, Contact.email_key, Contact.email, Contact.first_name, Contact.last_name,
                   Contact.company_id, Contact.last_import_id, Contact.last_import_row)
            .where(or_(Contact.email_key.in_(list(keys)), Contact.id.in_(list(ids))))
        ).all()
        contact_ids = [row.id for row in found]
        labels: dict[int, set[str]] = defaultdict(set)
        custom: dict[int, dict[str, str]] = defaultdict(dict)
        if contact_ids:
            for contact_id, name in connection.execute(
                select(ContactLabel.contact_id, Label.name).join(Label, Label.id == ContactLabel.label_id)
                .where(ContactLabel.contact_id.in_(contact_ids))
            ):
                labels[contact_id].add(name)
            for contact_id, variable, value in connection.execute(
                select(CustomValue.contact_id, CustomFieldRow.variable, CustomValue.value)
                .join(CustomFieldRow, CustomFieldRow.id == CustomValue.field_id)
                .where(CustomValue.contact_id.in_(contact_ids))
            ):
                custom[contact_id][variable] = value
        by_key: dict[str, Existing] = {}
        by_id: dict[int, Existing] = {}
        for row in found:
            existing = Existing(
                id=row.id, key=row.email_key,
                values={"email": row.email, "first_name": row.first_name, "last_name": row.last_name,
                        "company_id": row.company_id, "labels": frozenset(labels[row.id])},
                custom=custom[row.id],
                claimed_by_row=row.last_import_row if job_id is not None and row.last_import_id == job_id else None,
            )
            by_key[row.email_key] = existing
            by_id[row.id] = existing
        return by_key, by_id

    def write(self, connection: Connection, job_id: int, planned: Sequence[PlannedRow], *,
              options: Mapping[str, object], catalog: Catalog, now: datetime) -> dict[int, int]:
        """Apply a batch; returns row number → contact id for the rows that were written."""
        wanted_labels = {name for row in planned for name in row.values.get("labels", ())}  # type: ignore[union-attr]
        missing = wanted_labels - set(catalog.label_ids)
        if missing:
            catalog.label_ids.update(ensure_labels(connection, missing, now=lambda: now))
        written: dict[int, int] = {}
        creating = [row for row in planned if row.action is Action.CREATED]
        if creating:
            written.update(self._insert(connection, job_id, creating, now))
        for row in planned:
            if row.action in (Action.UPDATED, Action.UNCHANGED) and row.record_id is not None:
                written[row.row] = row.record_id
        self._update(connection, job_id, [row for row in planned if row.action is Action.UPDATED], now)
        unchanged = [{"b_id": row.record_id, "b_row": row.row} for row in planned if row.action is Action.UNCHANGED]
        if unchanged:
            connection.execute(update(contacts).where(contacts.c.id == bindparam("b_id"))
                               .values(last_import_id=job_id, last_import_row=bindparam("b_row")), unchanged)
        changing = [row for row in planned if row.action in (Action.CREATED, Action.UPDATED)]
        self._write_labels(connection, changing, written, catalog, replace=bool(options.get("replace_labels")))
        self._write_custom(connection, changing, written, catalog)
        return written

    def _insert(self, connection: Connection, job_id: int, rows: Sequence[PlannedRow], now: datetime) -> dict[int, int]:
        params = [{
            "email": row.values["email"], "email_key": row.key, "first_name": row.values.get("first_name"),
            "last_name": row.values.get("last_name"), "company_id": row.values.get("company_id"), "source": "import",
            "source_detail": f"import {job_id}", "created_at": now, "updated_at": now,
            "last_import_id": job_id, "last_import_row": row.row,
        } for row in rows]
        statement = insert_for(connection, contacts)
        statement = statement.on_conflict_do_update(  # someone else created the same email meanwhile
            index_elements=["email_key"],
            set_={"updated_at": statement.excluded.updated_at, "last_import_id": statement.excluded.last_import_id,
                  "last_import_row": statement.excluded.last_import_row},
        ).returning(contacts.c.id, contacts.c.email_key)  # by key, not in order: lets SQLite batch the rows
        ids = {key: contact_id for contact_id, key in connection.execute(statement, params)}
        return {planned.row: ids[planned.key] for planned in rows}

    def _update(self, connection: Connection, job_id: int, rows: Sequence[PlannedRow], now: datetime) -> None:
        groups: dict[tuple[str, ...], list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            columns = tuple(name for name in CONTACT_FIELDS if name in row.values)
            params: dict[str, object] = {f"b_{name}": row.values[name] for name in columns}
            if "email" in columns:
                params["b_email_key"] = row.key
            params.update(b_id=row.record_id, b_row=row.row)
            groups[columns].append(params)
        for columns, params in groups.items():
            values: dict[str, object] = {name: bindparam(f"b_{name}") for name in columns}
            if "email" in columns:
                values["email_key"] = bindparam("b_email_key")
            connection.execute(update(contacts).where(contacts.c.id == bindparam("b_id"))
                               .values(**values, updated_at=now, last_import_id=job_id,
                                       last_import_row=bindparam("b_row")), params)

    def _write_labels(self, connection: Connection, rows: Sequence[PlannedRow], written: Mapping[int, int],
                      catalog: Catalog, *, replace: bool) -> None:
        with_labels = [row for row in rows if "labels" in row.values]
        if replace:
            replaced = [written[row.row] for row in with_labels if row.action is Action.UPDATED]
            if replaced:
                connection.execute(delete(ContactLabel).where(ContactLabel.contact_id.in_(replaced)))
        links = [{"contact_id": written[row.row], "label_id": catalog.label_ids[name]}
                 for row in with_labels for name in row.values["labels"]]  # type: ignore[attr-defined]
        if links:
            connection.execute(insert_for(connection, ContactLabel.__table__).on_conflict_do_nothing(), links)

    def _write_custom(self, connection: Connection, rows: Sequence[PlannedRow], written: Mapping[int, int],
                      catalog: Catalog) -> None:
        values = [{"contact_id": written[row.row], "field_id": catalog.custom_fields[variable].id, "value": text}
                  for row in rows for variable, text in row.custom.items()]
        if values:
            statement = insert_for(connection, CustomValue.__table__)
            connection.execute(statement.on_conflict_do_update(
                index_elements=["contact_id", "field_id"], set_={"value": statement.excluded.value}), values)
