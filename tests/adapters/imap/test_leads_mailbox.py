"""A mailbox set to capture leads (a sales inbox): its new correspondents become leads, not customers."""

from __future__ import annotations

import io

import pytest

from adapters.imap.poller import poll_mailbox
from plugin.services import Services
from tests.adapters.imap.conftest import ImapServer
from tests.adapters.imap.test_poll import add, environ, message

pytestmark = pytest.mark.imap


def exported(services: Services, kind: str) -> list[str]:
    headers, rows = services.imports.export(kind)
    return [str(row[headers.index("email")]) for row in rows]


def test_a_leads_mailbox_captures_new_correspondents_as_leads_and_a_customers_import_makes_them_customers(
        services: Services, imap_server: ImapServer, folder: str) -> None:
    imap_server.append(folder, message(b"Lea Lead <lea@example.org>", number=1),
                       message(b"Max Mail <max@example.org>", number=2))
    add(services, imap_server, folder, captures_leads=True)
    assert services.capture.mailbox("support").captures_leads

    result = poll_mailbox(services, "support", environ=environ(imap_server))

    assert sorted(contact.email for contact in result.created) == ["lea@example.org", "max@example.org"]
    assert exported(services, "leads") == ["lea@example.org", "max@example.org"]
    assert exported(services, "customers") == []
    services.imports.import_file("customers", io.BytesIO(b"email,last_name\nlea@example.org,Lead-Smith\n"))
    assert (exported(services, "leads"), exported(services, "customers")) == (["max@example.org"], ["lea@example.org"])


def test_an_ordinary_mailbox_still_captures_customers(services: Services, imap_server: ImapServer, folder: str) -> None:
    imap_server.append(folder, message(b"Cy Customer <cy@example.org>", number=1))
    add(services, imap_server, folder)
    poll_mailbox(services, "support", environ=environ(imap_server))
    assert (exported(services, "customers"), exported(services, "leads")) == (["cy@example.org"], [])


def test_a_lead_who_writes_to_a_customers_mailbox_becomes_a_customer(
        services: Services, imap_server: ImapServer, folder: str) -> None:
    services.imports.import_file("leads", io.BytesIO(b"email,first_name\nlea@example.org,Lea\n"))
    imap_server.append(folder, message(b"Lea Lead <lea@example.org>", number=1))
    add(services, imap_server, folder)
    result = poll_mailbox(services, "support", environ=environ(imap_server))
    assert [contact.email for contact in result.existing] == ["lea@example.org"]
    assert (exported(services, "customers"), exported(services, "leads")) == (["lea@example.org"], [])
