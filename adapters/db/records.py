"""SqlRecordDirectory: plugin.ports.records.RecordDirectory on one connection (one unit of work's transaction)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping

from sqlalchemy import Connection, exists, func, or_, select

from adapters.db.agents import agents
from adapters.db.models import (companies, company_domains, contact_labels, contacts, custom_fields,
                                custom_values, customer_teams, import_jobs, import_rows, labels, teams)
from plugin.display import shown_person
from plugin.ports.records import CompanyLine, Customer, CustomerLine, CustomerQuery, RecordChange

WRITTEN = ("created", "updated", "unchanged")  # a row's actions that name a record


def _like(text: str) -> str:
    """A LIKE pattern finding the text anywhere, its own % and _ taken literally."""
    escaped = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


CONTACT_KINDS = ("customers", "leads")  # one contact's history: imported as a lead, then as a customer


class SqlRecordDirectory:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def find_customers(self, query: CustomerQuery, *, offset: int, limit: int) -> list[CustomerLine]:
        found = (select(contacts.c.id, contacts.c.email, contacts.c.first_name, contacts.c.last_name,
                        companies.c.name.label("company"), contacts.c.active, contacts.c.type)
                 .outerjoin(companies, companies.c.id == contacts.c.company_id))
        if query.text.strip():
            pattern = _like(query.text.strip())
            full_name = func.lower(func.coalesce(contacts.c.first_name,
                                                 "") + " " + func.coalesce(contacts.c.last_name, ""))
            found = found.where(or_(contacts.c.email_key.like(pattern, escape="\\"),
                                    full_name.like(pattern, escape="\\")))
        if query.company.strip():
            found = found.where(func.lower(companies.c.name).like(_like(query.company.strip()), escape="\\"))
        if query.label.strip():
            found = found.where(exists(select(contact_labels.c.contact_id)
                                       .join(labels, labels.c.id == contact_labels.c.label_id)
                                       .where(contact_labels.c.contact_id == contacts.c.id,
                                              labels.c.name == query.label.strip())))
        rows = self.connection.execute(found.order_by(contacts.c.email_key).offset(offset).limit(limit)).all()
        label_names = self._labels([row.id for row in rows])
        return [CustomerLine(row.id, row.email, row.first_name, row.last_name, row.company,
                             label_names.get(row.id, ()), row.active, row.type) for row in rows]

    def find_companies(self, text: str, *, offset: int, limit: int) -> list[CompanyLine]:
        customers = select(func.count()).where(contacts.c.company_id == companies.c.id).scalar_subquery()
        found = select(companies.c.id, companies.c.name, customers.label("customers"))
        if text.strip():
            pattern = _like(text.strip())
            found = found.where(or_(func.lower(companies.c.name).like(pattern, escape="\\"),
                                    exists(select(company_domains.c.domain).where(
                                        company_domains.c.company_id == companies.c.id,
                                        company_domains.c.domain.like(pattern, escape="\\")))))
        rows = self.connection.execute(found.order_by(companies.c.name_key).offset(offset).limit(limit)).all()
        domains: dict[int, list[str]] = defaultdict(list)
        if rows:
            for company_id, domain in self.connection.execute(
                    select(company_domains.c.company_id, company_domains.c.domain)
                    .where(company_domains.c.company_id.in_([row.id for row in rows]))
                    .order_by(company_domains.c.domain)):
                domains[company_id].append(domain)
        return [CompanyLine(row.id, row.name, tuple(domains[row.id]), row.customers) for row in rows]

    def customer(self, customer_id: int) -> Customer | None:
        row = self.connection.execute(
            select(contacts, companies.c.name.label("company"))
            .outerjoin(companies, companies.c.id == contacts.c.company_id)
            .where(contacts.c.id == customer_id)).one_or_none()
        if row is None:
            return None
        groups = self.connection.execute(select(teams.c.name)
                                         .join(customer_teams, customer_teams.c.team_id == teams.c.id)
                                         .where(customer_teams.c.contact_id == customer_id)
                                         .order_by(teams.c.name)).scalars()
        custom = self.connection.execute(
            select(custom_fields.c.variable, custom_values.c.value)
            .join(custom_values, custom_values.c.field_id == custom_fields.c.id)
            .where(custom_values.c.contact_id == customer_id).order_by(custom_fields.c.variable)).all()
        first_import = self.connection.execute(
            select(func.min(import_rows.c.job_id)).join(import_jobs, import_jobs.c.id == import_rows.c.job_id)
            .where(import_rows.c.record_id == customer_id, import_rows.c.action == "created",
                   import_jobs.c.kind == "customers", import_jobs.c.is_dry_run.is_(False))).scalar_one_or_none()
        return Customer(row.id, row.email, row.first_name, row.middle_name, row.last_name, row.username, row.phone,
                        row.mobile, row.company_id, row.company, self._labels([customer_id]).get(customer_id, ()),
                        tuple(groups), {variable: value for variable, value in custom}, row.source, row.source_detail,
                        row.created_at, row.updated_at, first_import, row.active, row.type, row.external_id,
                        row.external_source)

    def changes_of(self, kind: str, record_id: int, *, offset: int, limit: int) -> list[RecordChange]:
        rows = self.connection.execute(
            select(import_rows.c.job_id, import_rows.c.row, import_rows.c.action, import_rows.c.changes,
                   import_jobs.c.created_at, import_jobs.c.actor, import_jobs.c.file_name, import_jobs.c.kind,
                   import_jobs.c.operation)
            .join(import_jobs, import_jobs.c.id == import_rows.c.job_id)
            .where(import_rows.c.record_id == record_id, import_rows.c.action.in_(WRITTEN),
                   import_jobs.c.kind.in_(CONTACT_KINDS if kind in CONTACT_KINDS else (kind,)),
                   import_jobs.c.is_dry_run.is_(False), import_jobs.c.operation == "import")
            .order_by(import_rows.c.job_id.desc(), import_rows.c.row).offset(offset).limit(limit)).all()
        return [RecordChange(row.job_id, row.kind, row.row, row.action, tuple(row.changes or ()), row.created_at,
                             row.actor, row.file_name, row.operation) for row in rows]

    def people(self, kind: str, ids: Collection[int]) -> Mapping[int, str]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        if kind == "companies":
            return self.company_names(wanted)
        table = agents if kind == "users" else contacts
        rows = self.connection.execute(select(table.c.id, table.c.email, table.c.first_name, table.c.last_name)
                                       .where(table.c.id.in_(wanted))).all()
        return {row.id: shown_person(row.email, row.first_name, row.last_name) for row in rows}

    def company_names(self, ids: Collection[int]) -> Mapping[int, str]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self.connection.execute(select(companies.c.id, companies.c.name)
                                       .where(companies.c.id.in_(wanted)))
        return {row.id: row.name for row in rows}

    def _labels(self, contact_ids: list[int]) -> dict[int, tuple[str, ...]]:
        if not contact_ids:
            return {}
        found: dict[int, list[str]] = defaultdict(list)
        for contact_id, name in self.connection.execute(
                select(contact_labels.c.contact_id, labels.c.name)
                .join(labels, labels.c.id == contact_labels.c.label_id)
                .where(contact_labels.c.contact_id.in_(contact_ids)).order_by(labels.c.name)):
            found[contact_id].append(name)
        return {contact_id: tuple(names) for contact_id, names in found.items()}
