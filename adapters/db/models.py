"""The tables, as SQLAlchemy 2 typed models. Alembic migrations in migrations/versions create them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)  # casefolded name
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_import_id: Mapped[int | None] = mapped_column(Integer)
    last_import_row: Mapped[int | None] = mapped_column(Integer)
    # Its id in the system it came from (a Wifox project's), unique within it: renaming keeps it matching
    external_id: Mapped[str | None] = mapped_column(String(200))
    external_source: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("external_id", "external_source", name="uq_companies_external_id"),)


class CompanyDomain(Base):
    """A mail domain of a company (IDNA, lowercase): a new customer writing from it joins the company."""

    __tablename__ = "company_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)  # one company per domain
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)


class Label(Base):
    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # exact, case-sensitive
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CustomFieldRow(Base):
    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variable: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    applies_to: Mapped[str] = mapped_column(String(20), default="customers", server_default="customers")  # or companies
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Contact(Base):
    """A customer: anyone who writes to support or was imported as one."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)  # casefolded: uniqueness ignores case
    first_name: Mapped[str | None] = mapped_column(String(200))
    middle_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(100), unique=True, index=True)  # lowercase; from the email when not given
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    mobile: Mapped[str | None] = mapped_column(String(20))  # E.164
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20), default="import")  # import, mail, manual
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # a lead until made a customer
    source_detail: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # the customer portal's, set through an invitation
    # When the customer was created: by us, or in the system an import brought them from (its created_at column)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_import_id: Mapped[int | None] = mapped_column(Integer)
    last_import_row: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")  # inactive: kept, shown so
    type: Mapped[str | None] = mapped_column(String(200))  # the account type, one of the setting customer_types
    # The customer's id in the system they were imported from (external_source, e.g. wifox): unique within it
    external_id: Mapped[str | None] = mapped_column(String(200))
    external_source: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("external_id", "external_source", name="uq_contacts_external_id"),)


class ContactLabel(Base):
    __tablename__ = "contact_labels"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True)


class Team(Base):
    """A team of agents; customers name theirs as groups ("client teams"), so their mail reaches it."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # exact, case-sensitive
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Its id in the system it came from (a Wifox desk's), unique within it: renaming keeps it matching
    external_id: Mapped[str | None] = mapped_column(String(200))
    external_source: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("external_id", "external_source", name="uq_teams_external_id"),)


class CustomerTeam(Base):
    """A customer's groups: the teams that serve them."""

    __tablename__ = "customer_teams"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)


class CustomValue(Base):
    __tablename__ = "custom_values"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CompanyCustomValue(Base):
    __tablename__ = "company_custom_values"

    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImportJob(Base):
    """One import: who, when, which file, how it went. Mail polls are recorded here too."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    is_dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    actor: Mapped[str] = mapped_column(String(320), default="")
    file_name: Mapped[str] = mapped_column(String(500), default="")
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[list[dict]] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # import (a retry is an import with options.retry_of) or undo (options.undo_of); an undo's own counts:
    operation: Mapped[str] = mapped_column(String(10), default="import", server_default="import")
    removed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    restored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deactivated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    left_alone: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The worker running it (adapters.db.worker_claims.claim_job): a token, its machine and process id.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_host: Mapped[str | None] = mapped_column(String(255))
    claim_pid: Mapped[int | None] = mapped_column(Integer)
    # Display progress, for reading only (plugin.progress): rows seen, counting those a slow step inside a batch
    # prepared before the batch's commit, and when that was said. Resuming goes by rows_done, never by these.
    rows_seen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportRow(Base):
    """One row's result; failed rows keep their cells (secrets hidden) so the error report can be made later."""

    __tablename__ = "import_rows"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    changes: Mapped[list | None] = mapped_column(JSON)
    errors: Mapped[list | None] = mapped_column(JSON)
    cells: Mapped[list | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_import_rows_failed", "job_id", "action"),)


__all__ = ["Base", "Company", "CompanyDomain", "Label", "CustomFieldRow", "Contact", "ContactLabel", "Team",
           "CustomerTeam", "CustomValue", "CompanyCustomValue", "ImportJob", "ImportRow", "UniqueConstraint"]
