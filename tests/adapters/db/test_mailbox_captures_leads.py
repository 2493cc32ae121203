"""A mailbox's "capture as leads" choice is changed by editing it (services.capture.change_mailbox, what the mailbox
page calls), on SQLite and PostgreSQL; an edit that does not say keeps it."""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SETTINGS = {"host": "imap.example.com", "port": None, "user": "sales@example.com", "password_env": "SALES_PASSWORD",
            "tls": True, "folder": "INBOX"}


def test_editing_a_mailbox_turns_capturing_leads_on_and_off_and_an_edit_that_does_not_say_keeps_it(services):
    services.capture.add_mailbox(name="sales", captures_leads=True, now=NOW, **SETTINGS)
    assert services.capture.change_mailbox("sales", label="Sales", now=NOW, **SETTINGS).captures_leads
    assert not services.capture.change_mailbox("sales", captures_leads=False, now=NOW, **SETTINGS).captures_leads
    assert not services.capture.mailbox("sales").captures_leads
    assert services.capture.change_mailbox("sales", captures_leads=True, now=NOW, **SETTINGS).captures_leads
