"""Leads: people who may become customers (a sales inbox, a CRM's leads list), with the customers' fields and
options. A lead is a contact marked as a lead; importing or capturing the same email as a customer later turns
it into a customer: one record, its history kept. Its storage is registered beside it (adapters/db/kind_storage.py).
"""

from __future__ import annotations

from dataclasses import replace

from plugin.kinds.customers import CUSTOMERS

LEADS = replace(
    CUSTOMERS, name="leads", title="leads",
    description="People who may become customers: matched by email; importing one later as a customer makes them one.",
)
