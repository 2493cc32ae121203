"""SqlRecordDirectory: plugin.ports.records.RecordDirectory on one connection (one unit of work's transaction)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping

from sqlalchemy import Connection, exists, func, or_, select

from adapters.db.agents import Agent
from adapters.db.models import (Company, CompanyDomain, Contact, ContactLabel, CustomerTeam, CustomFieldRow,
                                CustomValue, ImportJob, ImportRow, Label, Team)
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
        found = (select(Contact.id, Contact.email, Contact.first_name, Contact.last_name, Company.name.label("company"),
                        Contact.active, Contact.type)
                 .outerjoin(Company, Company.id == Contact.company_id))
        if query.text.strip():
            pattern = _like(query.text.strip())
            full_name = func.lower(func.coalesce(Contact.first_name, "") + " " + func.coalesce(Contact.last_name, ""))
            found = found.where(or_(Contact.email_key.like(pattern, escape="\\"),
                                    full_name.like(pattern, escape="\\")))
        if query.company.strip():
            found = found.where(func.lower(Company.name).like(_like(query.company.strip()), escape="\\"))
        if query.label.strip():
            found = found.where(exists(select(ContactLabel.contact_id).join(Label, Label.id == ContactLabel.label_id)
                                       .where(ContactLabel.contact_id == Contact.id, Label.name == query.label.strip())))
        rows = self.connection.execute(found.order_by(Contact.email_key).offset(offset).limit(limit)).all()
        labels = self._labels([row.id for row in rows])
        return [CustomerLine(row.id, row.email, row.first_name, row.last_name, row.company, labels.get(row.id, ()),
                             row.active, row.type) for row in rows]

    def find_companies(self, text: str, *, offset: int, limit: int) -> list[CompanyLine]:
        customers = select(func.count()).where(Contact.company_id == Company.id).scalar_subquery()
        found = select(Company.id, Company.name, customers.label("customers"))
        if text.strip():
            pattern = _like(text.strip())
            found = found.where(or_(func.lower(Company.name).like(pattern, escape="\\"),
                                    exists(select(CompanyDomain.domain).where(
                                        CompanyDomain.company_id == Company.id,
                                        CompanyDomain.domain.like(pattern, escape="\\")))))
        rows = self.connection.execute(found.order_by(Company.name_key).offset(offset).limit(limit)).all()
        domains: dict[int, list[str]] = defaultdict(list)
        if rows:
            for company_id, domain in self.connection.execute(
                    select(CompanyDomain.company_id, CompanyDomain.domain)
                    .where(CompanyDomain.company_id.in_([row.id for row in rows])).order_by(CompanyDomain.domain)):
                domains[company_id].append(domain)
        return [CompanyLine(row.id, row.name, tuple(domains[row.id]), row.customers) for row in rows]

    def customer(self, customer_id: int) -> Customer | None:
        row = self.connection.execute(
            select(Contact.__table__, Company.name.label("company"))
            .outerjoin(Company, Company.id == Contact.company_id).where(Contact.id == customer_id)).one_or_none()
        if row is None:
            return None
        groups = self.connection.execute(select(Team.name).join(CustomerTeam, CustomerTeam.team_id == Team.id)
                                         .where(CustomerTeam.contact_id == customer_id).order_by(Team.name)).scalars()
        custom = self.connection.execute(
            select(CustomFieldRow.variable, CustomValue.value).join(CustomValue, CustomValue.field_id == CustomFieldRow.id)
            .where(CustomValue.contact_id == customer_id).order_by(CustomFieldRow.variable)).all()
        first_import = self.connection.execute(
            select(func.min(ImportRow.job_id)).join(ImportJob, ImportJob.id == ImportRow.job_id)
            .where(ImportRow.record_id == customer_id, ImportRow.action == "created", ImportJob.kind == "customers",
                   ImportJob.is_dry_run.is_(False))).scalar_one_or_none()
        return Customer(row.id, row.email, row.first_name, row.middle_name, row.last_name, row.username, row.phone,
                        row.mobile, row.company_id, row.company, self._labels([customer_id]).get(customer_id, ()),
                        tuple(groups), {variable: value for variable, value in custom}, row.source, row.source_detail,
                        row.created_at, row.updated_at, first_import, row.active, row.type, row.external_id,
                        row.external_source)

    def changes_of(self, kind: str, record_id: int, *, offset: int, limit: int) -> list[RecordChange]:
        rows = self.connection.execute(
            select(ImportRow.job_id, ImportRow.row, ImportRow.action, ImportRow.changes, ImportJob.created_at,
                   ImportJob.actor, ImportJob.file_name, ImportJob.kind, ImportJob.operation)
            .join(ImportJob, ImportJob.id == ImportRow.job_id)
            .where(ImportRow.record_id == record_id, ImportRow.action.in_(WRITTEN),
                   ImportJob.kind.in_(CONTACT_KINDS if kind in CONTACT_KINDS else (kind,)),
                   ImportJob.is_dry_run.is_(False), ImportJob.operation == "import")
            .order_by(ImportRow.job_id.desc(), ImportRow.row).offset(offset).limit(limit)).all()
        return [RecordChange(row.job_id, row.kind, row.row, row.action, tuple(row.changes or ()), row.created_at,
                             row.actor, row.file_name, row.operation) for row in rows]

    def people(self, kind: str, ids: Collection[int]) -> Mapping[int, str]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        if kind == "companies":
            return self.company_names(wanted)
        table = Agent if kind == "users" else Contact
        rows = self.connection.execute(select(table.id, table.email, table.first_name, table.last_name)
                                       .where(table.id.in_(wanted))).all()
        return {row.id: shown_person(row.email, row.first_name, row.last_name) for row in rows}

    def company_names(self, ids: Collection[int]) -> Mapping[int, str]:
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        rows = self.connection.execute(select(Company.id, Company.name).where(Company.id.in_(wanted)))
        return {row.id: row.name for row in rows}

    def _labels(self, contact_ids: list[int]) -> dict[int, tuple[str, ...]]:
        if not contact_ids:
            return {}
        found: dict[int, list[str]] = defaultdict(list)
        for contact_id, name in self.connection.execute(
                select(ContactLabel.contact_id, Label.name).join(Label, Label.id == ContactLabel.label_id)
                .where(ContactLabel.contact_id.in_(contact_ids)).order_by(Label.name)):
            found[contact_id].append(name)
        return {contact_id: tuple(names) for contact_id, names in found.items()}
