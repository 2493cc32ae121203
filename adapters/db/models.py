"""The tables, as SQLAlchemy Core tables on one MetaData (the other adapters.db modules add theirs to it).
Alembic migrations in migrations/versions create them."""

from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData,
                        String, Table, Text, UniqueConstraint)

metadata = MetaData()


companies = Table(
    "companies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), unique=True, nullable=False),  # casefolded name
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Column("last_import_id", Integer),
    Column("last_import_row", Integer),
    # Its id in the system it came from (a Wifox project's), unique within it: renaming keeps it matching
    Column("external_id", String(200)),
    Column("external_source", String(200)),
    UniqueConstraint("external_id", "external_source", name="uq_companies_external_id"),
)


# A mail domain of a company (IDNA, lowercase): a new customer writing from it joins the company.
company_domains = Table(
    "company_domains",
    metadata,
    Column("domain", String(255), primary_key=True),  # one company per domain
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), index=True, nullable=False),
)


labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), unique=True, nullable=False),  # exact, case-sensitive
    Column("created_at", DateTime(timezone=True), nullable=False),
)


custom_fields = Table(
    "custom_fields",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("variable", String(100), unique=True, nullable=False),
    Column("type", String(20), nullable=False),
    Column("choices", JSON, default=list, nullable=False),
    Column("applies_to", String(20), default="customers", server_default="customers", nullable=False),  # or companies
    Column("created_at", DateTime(timezone=True), nullable=False),
)


# A customer: anyone who writes to support or was imported as one.
contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), unique=True, nullable=False),  # casefolded: uniqueness ignores case
    Column("first_name", String(200)),
    Column("middle_name", String(200)),
    Column("last_name", String(200)),
    Column("username", String(100), unique=True, index=True),  # lowercase; from the email when not given
    Column("phone", String(20)),  # E.164
    Column("mobile", String(20)),  # E.164
    Column("company_id", ForeignKey("companies.id", ondelete="SET NULL")),
    Column("source", String(20), default="import", nullable=False),  # import, mail, manual
    Column("is_lead", Boolean, default=False, server_default="0", nullable=False),  # a lead until made a customer
    Column("source_detail", Text),
    Column("password_hash", String(255)),  # the customer portal's, set through an invitation
    # When the customer was created: by us, or in the system an import brought them from (its created_at column)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("last_import_id", Integer),
    Column("last_import_row", Integer),
    Column("active", Boolean, default=True, server_default="1", nullable=False),  # inactive: kept, shown so
    Column("type", String(200)),  # the account type, one of the setting customer_types
    # The customer's id in the system they were imported from (external_source, e.g. wifox): unique within it
    Column("external_id", String(200)),
    Column("external_source", String(200)),
    UniqueConstraint("external_id", "external_source", name="uq_contacts_external_id"),
)


contact_labels = Table(
    "contact_labels",
    metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True),
)


# A team of agents; customers name theirs as groups ("client teams"), so their mail reaches it.
teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), unique=True, nullable=False),  # exact, case-sensitive
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Its id in the system it came from (a Wifox desk's), unique within it: renaming keeps it matching
    Column("external_id", String(200)),
    Column("external_source", String(200)),
    UniqueConstraint("external_id", "external_source", name="uq_teams_external_id"),
)


# A customer's groups: the teams that serve them.
customer_teams = Table(
    "customer_teams",
    metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)


custom_values = Table(
    "custom_values",
    metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("field_id", ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True),
    Column("value", Text, nullable=False),
)


company_custom_values = Table(
    "company_custom_values",
    metadata,
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
    Column("field_id", ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True),
    Column("value", Text, nullable=False),
)


# One import: who, when, which file, how it went. Mail polls are recorded here too.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("is_dry_run", Boolean, default=False, nullable=False),
    Column("actor", String(320), default="", nullable=False),
    Column("file_name", String(500), default="", nullable=False),
    Column("options", JSON, default=dict, nullable=False),
    Column("headers", JSON, default=list, nullable=False),
    Column("mapping", JSON, default=list, nullable=False),
    Column("total", Integer, default=0, nullable=False),
    Column("rows_done", Integer, default=0, nullable=False),
    Column("created", Integer, default=0, nullable=False),
    Column("updated", Integer, default=0, nullable=False),
    Column("unchanged", Integer, default=0, nullable=False),
    Column("failed", Integer, default=0, nullable=False),
    Column("message", Text, default="", nullable=False),
    Column("error_code", String(60), default="", nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
    # import (a retry is an import with options.retry_of) or undo (options.undo_of); an undo's own counts:
    Column("operation", String(10), default="import", server_default="import", nullable=False),
    Column("removed", Integer, default=0, server_default="0", nullable=False),
    Column("restored", Integer, default=0, server_default="0", nullable=False),
    Column("deactivated", Integer, default=0, server_default="0", nullable=False),
    Column("left_alone", Integer, default=0, server_default="0", nullable=False),
    # The worker running it (adapters.db.worker_claims.claim_job): a token, its machine and process id.
    Column("claimed_by", String(64)),
    Column("claim_host", String(255)),
    Column("claim_pid", Integer),
    # Display progress, for reading only (plugin.progress): rows seen, counting those a slow step inside a batch
    # prepared before the batch's commit, and when that was said. Resuming goes by rows_done, never by these.
    Column("rows_seen", Integer, default=0, server_default="0", nullable=False),
    Column("progress_at", DateTime(timezone=True)),
)


# One row's result; failed rows keep their cells (secrets hidden) so the error report can be made later.
import_rows = Table(
    "import_rows",
    metadata,
    Column("job_id", ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("action", String(10), nullable=False),
    Column("record_id", BigInteger),
    Column("changes", JSON),
    Column("errors", JSON),
    Column("cells", JSON),
    Index("ix_import_rows_failed", "job_id", "action"),
)


__all__ = ["metadata", "companies", "company_domains", "labels", "custom_fields", "contacts", "contact_labels",
           "teams", "customer_teams", "custom_values", "company_custom_values", "import_jobs", "import_rows"]
