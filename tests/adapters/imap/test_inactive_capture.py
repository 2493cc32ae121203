"""Mail capture and customers' active flag: mail from an inactive customer never makes them active again."""

from __future__ import annotations

import io

import pytest

from adapters.imap.poller import poll_mailbox
from plugin.services import Services
from tests.adapters.imap.conftest import ImapServer
from tests.adapters.imap.test_poll import add, environ, message

pytestmark = pytest.mark.imap


def active_flags(services: Services, kind: str = "customers") -> dict[str, str]:
    headers, rows = services.imports.export(kind)
    return {str(row[headers.index("email")]): str(row[headers.index("active")]) for row in rows}


def test_mail_from_an_inactive_customer_leaves_them_inactive_and_a_new_correspondent_is_active(
        services: Services, imap_server: ImapServer, folder: str) -> None:
    services.imports.import_file("customers", io.BytesIO(b"email,first_name,active\nin@example.org,Ina,false\n"))
    imap_server.append(folder, message(b"Ina Active <in@example.org>", number=1),
                       message(b"Ned New <ned@example.org>", number=2))
    add(services, imap_server, folder)
    result = poll_mailbox(services, "support", environ=environ(imap_server))
    assert [contact.email for contact in result.existing] == ["in@example.org"]
    assert active_flags(services) == {"in@example.org": "false", "ned@example.org": "true"}


def test_an_inactive_lead_who_writes_to_a_customers_mailbox_becomes_an_inactive_customer(
        services: Services, imap_server: ImapServer, folder: str) -> None:
    services.imports.import_file("leads", io.BytesIO(b"email,first_name,active\nlea@example.org,Lea,false\n"))
    imap_server.append(folder, message(b"Lea Lead <lea@example.org>", number=1))
    add(services, imap_server, folder)
    poll_mailbox(services, "support", environ=environ(imap_server))
    assert (active_flags(services), active_flags(services, "leads")) == ({"lea@example.org": "false"}, {})
