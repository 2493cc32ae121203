"""Companies in the database: their table for the import, their domains, the export, and placing customers by domain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Engine, bindparam, delete, or_, select, update

from adapters.db.catalog import load_custom_fields
from adapters.db.dialect import insert_for
from adapters.db.export import custom_cells
from adapters.db.models import companies, company_custom_values, company_domains, contacts, custom_fields
from adapters.db.stale_plans import raise_unless_inserted
from plugin.companies import company_for_email
from plugin.kinds import Catalog
from plugin.kinds.companies import CompanyCatalog
from plugin.plan import Action, Existing, PlannedRow
from plugin.ports.catalog import DomainAssignment

COMPANY_EXPORT_COLUMNS = ("id", "name", "domains", "external_id", "external_source")


class CompanyTable:
    """The companies kind's storage: companies with their mail domains and custom values."""

    kind = "companies"

    def extend_catalog(self, connection: Connection, catalog: Catalog) -> CompanyCatalog:
        """Companies' own custom fields, and who owns each domain, claimed as the rows go."""
        return CompanyCatalog(
            label_ids=catalog.label_ids, companies=catalog.companies, teams=catalog.teams,
            company_keys=catalog.company_keys, company_domains=catalog.company_domains,
            custom_fields=load_custom_fields(connection, "companies"),
            domain_claims={domain: f"id:{company_id}" for domain, company_id in catalog.company_domains.items()},
        )

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None, *,
             external_ids: Collection[tuple[str, str]] = ()) -> tuple[dict[str, Existing], dict[int, Existing]]:
        """By name key and id; and by (external source, external id), those in by_id only."""
        if not keys and not ids and not external_ids:
            return {}, {}
        by_external = [(companies.c.external_source == source) & (companies.c.external_id == external_id)
                       for source, external_id in external_ids]
        found = connection.execute(
            select(companies.c.id, companies.c.name_key, companies.c.name, companies.c.last_import_id,
                   companies.c.last_import_row, companies.c.external_id, companies.c.external_source)
            .where(or_(companies.c.name_key.in_(list(keys)), companies.c.id.in_(list(ids)), *by_external))
        ).all()
        company_ids = [row.id for row in found]
        domains: dict[int, set[str]] = defaultdict(set)
        custom: dict[int, dict[str, str]] = defaultdict(dict)
        if company_ids:
            for company_id, domain in connection.execute(
                    select(company_domains.c.company_id, company_domains.c.domain)
                    .where(company_domains.c.company_id.in_(company_ids))):
                domains[company_id].add(domain)
            for company_id, variable, value in connection.execute(
                select(company_custom_values.c.company_id, custom_fields.c.variable,
                       company_custom_values.c.value)
                .join(custom_fields, custom_fields.c.id == company_custom_values.c.field_id)
                .where(company_custom_values.c.company_id.in_(company_ids))
            ):
                custom[company_id][variable] = value
        by_key: dict[str, Existing] = {}
        by_id: dict[int, Existing] = {}
        for row in found:
            existing = Existing(
                id=row.id, key=row.name_key, values={"name": row.name, "domains": frozenset(domains[row.id]),
                                                     "external_id": row.external_id,
                                                     "external_source": row.external_source},
                custom=custom[row.id],
                claimed_by_row=row.last_import_row if job_id is not None and row.last_import_id == job_id else None,
            )
            by_key[row.name_key] = existing
            by_id[row.id] = existing
        return by_key, by_id

    def find_owners(self, connection: Connection, field: str, values: Collection[object]) -> dict[object, str]:
        return {}  # companies have no unique field besides their name

    def write(self, connection: Connection, job_id: int, planned: Sequence[PlannedRow], *,
              options: Mapping[str, object], catalog: Catalog, now: datetime) -> dict[int, int]:
        """Apply a batch; returns row number → company id for the rows that were written."""
        written: dict[int, int] = {}
        creating = [row for row in planned if row.action is Action.CREATED]
        if creating:
            statement = (insert_for(connection, companies).on_conflict_do_nothing(index_elements=["name_key"])
                         .returning(companies.c.id, companies.c.name_key))
            ids = {key: company_id for company_id, key in connection.execute(statement, [
                {"name": row.values["name"], "name_key": row.key, "created_at": now, "updated_at": now,
                 "last_import_id": job_id, "last_import_row": row.row, "external_id": row.values.get("external_id"),
                 "external_source": row.values.get("external_source")} for row in creating])}
            raise_unless_inserted(creating, ids, "companies")  # someone else created the same name meanwhile
            written.update({row.row: ids[row.key] for row in creating})
            for row in creating:
                catalog.companies[ids[row.key]] = str(row.values["name"])
                catalog.company_keys[str(row.key)] = ids[row.key]
        for row in planned:
            if row.action in (Action.UPDATED, Action.UNCHANGED) and row.record_id is not None:
                written[row.row] = row.record_id
        renamed = [{"b_id": row.record_id, "b_name": row.values["name"], "b_key": row.key}
                   for row in planned if row.action is Action.UPDATED and "name" in row.values]
        if renamed:
            connection.execute(update(companies).where(companies.c.id == bindparam("b_id"))
                               .values(name=bindparam("b_name"), name_key=bindparam("b_key")), renamed)
        for column in ("external_id", "external_source"):  # each only when it changes (a new source, the same id)
            changed = [{"b_id": row.record_id, "b_value": row.values[column]} for row in planned
                       if row.action is Action.UPDATED and column in row.values]
            if changed:
                connection.execute(update(companies).where(companies.c.id == bindparam("b_id"))
                                   .values({column: bindparam("b_value")}), changed)
        touched = [{"b_id": row.record_id, "b_row": row.row} for row in planned
                   if row.action in (Action.UPDATED, Action.UNCHANGED)]
        if touched:
            connection.execute(update(companies).where(companies.c.id == bindparam("b_id"))
                               .values(last_import_id=job_id, last_import_row=bindparam("b_row")), touched)
        changing = [row for row in planned if row.action in (Action.CREATED, Action.UPDATED)]
        self._write_domains(connection, changing, written, replace=bool(options.get("replace_domains")))
        values = [{"company_id": written[row.row], "field_id": catalog.custom_fields[variable].id, "value": text}
                  for row in changing for variable, text in row.custom.items()]
        if values:
            statement = insert_for(connection, company_custom_values)
            connection.execute(statement.on_conflict_do_update(
                index_elements=["company_id", "field_id"], set_={"value": statement.excluded.value}), values)
        updated = [{"b_id": row.record_id} for row in planned if row.action is Action.UPDATED]
        if updated:
            connection.execute(update(companies).where(companies.c.id == bindparam("b_id")).values(updated_at=now), updated)
        return written

    def _write_domains(self, connection: Connection, rows: Sequence[PlannedRow], written: Mapping[int, int], *,
                       replace: bool) -> None:
        with_domains = [row for row in rows if "domains" in row.values]
        if replace:
            replaced = [written[row.row] for row in with_domains if row.action is Action.UPDATED]
            if replaced:
                connection.execute(delete(company_domains).where(company_domains.c.company_id.in_(replaced)))
        links = [{"domain": domain, "company_id": written[row.row]}
                 for row in with_domains for domain in cast("Collection[str]", row.values["domains"])]
        if links:  # the core checked each domain is free or this company's; a race loses to the first writer
            connection.execute(insert_for(connection, company_domains).on_conflict_do_nothing(), links)


def load_company_domains(engine: Engine) -> dict[str, int]:
    """Every company's mail domains: domain → company id (mail capture reads them once per pass)."""
    with engine.connect() as connection:
        return dict(connection.execute(select(company_domains.c.domain, company_domains.c.company_id)).all())


def export_companies(engine: Engine, *, batch: int = 2000) -> tuple[list[str], Iterator[list[object]]]:
    """Headers and rows in the import format: id, name, domains (':'-joined), the external id with its source, one
    column per companies' custom field."""
    with engine.connect() as connection:
        fields = sorted(load_custom_fields(connection, "companies").values(), key=lambda custom: custom.variable)
    headers = [*COMPANY_EXPORT_COLUMNS, *(custom.variable for custom in fields)]
    positions = {custom.id: position for position, custom in enumerate(fields)}

    def rows() -> Iterator[list[object]]:
        last_id = 0
        with engine.connect() as connection:
            while True:
                found = connection.execute(select(companies.c.id, companies.c.name, companies.c.external_id,
                                                  companies.c.external_source)
                                           .where(companies.c.id > last_id)
                                           .order_by(companies.c.id).limit(batch)).all()
                if not found:
                    return
                ids = [row.id for row in found]
                domains: dict[int, list[str]] = defaultdict(list)
                for company_id, domain in connection.execute(
                        select(company_domains.c.company_id, company_domains.c.domain)
                        .where(company_domains.c.company_id.in_(ids)).order_by(company_domains.c.domain)):
                    domains[company_id].append(domain)
                custom = custom_cells(connection.execute(
                    select(company_custom_values.c.company_id, company_custom_values.c.field_id,
                           company_custom_values.c.value)
                    .where(company_custom_values.c.company_id.in_(ids))), positions, len(fields))
                for row in found:
                    yield [row.id, row.name, ":".join(domains.get(row.id, ())), row.external_id or "",
                           row.external_source or "", *custom.get(row.id, [""] * len(fields))]
                last_id = ids[-1]

    return headers, rows()


def assign_batch_by_domain(connection: Connection, *, after_id: int, batch: int, extra_free_mail: Collection[str],
                           dry_run: bool) -> tuple[list[DomainAssignment], int | None]:
    """One batch of `companies assign-by-domain`: customers without a company (ids above after_id) join the
    company whose domains include their email's domain (plugin.companies.company_for_email: never a free-mail
    one). Returns who joined (with dry_run: would join) and the last id looked at; None when none were left."""
    owners = dict(connection.execute(select(company_domains.c.domain, company_domains.c.company_id)).all())
    if not owners:
        return [], None
    found = connection.execute(select(contacts.c.id, contacts.c.email).where(
        contacts.c.id > after_id, contacts.c.company_id.is_(None)).order_by(contacts.c.id).limit(batch)).all()
    if not found:
        return [], None
    names = dict(connection.execute(select(companies.c.id, companies.c.name)).all())
    joining = [DomainAssignment(row.id, row.email, company_id, names.get(company_id, ""))
               for row in found if (company_id := company_for_email(row.email, owners, extra_free_mail)) is not None]
    if joining and not dry_run:
        connection.execute(update(contacts).where(contacts.c.id == bindparam("b_id"), contacts.c.company_id.is_(None))
                           .values(company_id=bindparam("b_company")),
                           [{"b_id": item.contact_id, "b_company": item.company_id} for item in joining])
    return joining, int(found[-1].id)


class SqlCompanyDomains:
    """plugin.ports.catalog.CompanyDomains on one unit of work's connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def assign_by_domain(self, *, after_id: int, batch: int, extra_free_mail: Collection[str],
                         dry_run: bool) -> tuple[list[DomainAssignment], int | None]:
        return assign_batch_by_domain(self.connection, after_id=after_id, batch=batch,
                                      extra_free_mail=extra_free_mail, dry_run=dry_run)
