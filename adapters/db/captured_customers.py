"""SqlCapturedCustomers: plugin.ports.CapturedCustomers on one connection, through the customers kind's own table.

Mail capture reads and writes customers exactly as a CSV import's batch does (adapters.db.customers.CustomerTable:
the same lookups, the same username rule, labels, company and conflict handling); only its transaction is the
unit of work's, so a batch's customers, skips and mailbox position are committed together.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection

from adapters.db.catalog import load_catalog
from adapters.db.customers import CustomerTable, LeadTable
from adapters.db.engine import any_of, is_unique_violation
from plugin.kinds import Catalog
from plugin.plan import Existing, PlannedRow
from plugin.ports import StalePlan

MAIL_SOURCE = "mail"  # contacts.source of a customer mail capture created


class SqlCapturedCustomers:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.table = CustomerTable()
        self.leads = LeadTable()  # for a mailbox that captures leads

    def load_catalog(self) -> Catalog:
        return load_catalog(self.connection, self.table.kind)

    def find_existing(self, keys: Collection[str]) -> dict[str, Existing]:
        by_key, _ = self.table.find(self.connection, keys, (), None)
        return by_key

    def make_customers(self, keys: Collection[str]) -> None:
        if keys:
            tail, parameter = any_of(self.connection, list(keys))
            self.connection.exec_driver_sql(
                f"UPDATE contacts SET is_lead = false WHERE is_lead AND email_key {tail}", (parameter,))

    def write_new(self, job_id: int, planned: Sequence[PlannedRow], *, options: Mapping[str, object],
                  catalog: Catalog, source_details: Mapping[int, str], now: datetime, as_leads: bool = False
                  ) -> dict[int, int]:
        table = self.leads if as_leads else self.table
        try:
            return table.write(self.connection, job_id, planned, options=options, catalog=catalog, now=now,
                                    source=MAIL_SOURCE, source_details=source_details)
        except Exception as error:  # a value another writer stored meanwhile, as adapters.db.store sees it too
            if is_unique_violation(error):
                raise StalePlan(f"a value the plan thought free was stored meanwhile: {error}") from error
            raise
