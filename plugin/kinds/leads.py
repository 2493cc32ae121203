"""Leads: people who may become customers (a sales inbox, a CRM's leads list), with the customers' fields and
options, all but the invitation to the customer portal. A lead is a contact marked as a lead; importing or
capturing the same email as a customer later turns it into a customer: one record, its history kept. Its storage
is registered beside it (adapters/db/kind_storage.py).
"""

from __future__ import annotations

from dataclasses import replace

from plugin.kinds.customers import CUSTOMERS, INVITE

# Customers' options but the invitation: the customer portal is for customers, and a lead's link would not work
LEADS = replace(
    CUSTOMERS, name="leads", title="leads",
    options=tuple(option for option in CUSTOMERS.options if option is not INVITE),
    description="People who may become customers: matched by email; importing one later as a customer makes them one.",
)
