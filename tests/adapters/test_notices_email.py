"""Notices of finished jobs by e-mail, against a real SMTP server (aiosmtpd) on loopback: only to people who want
them, with counts and a link, never row data; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from adapters.cli import cli
from plugin.settings import Settings
from tests.adapters.notice_servers import ANN, ROW_DATA, Outbox, at, import_customers, notifying, running_smtp


@pytest.fixture
def smtp() -> Iterator[tuple[Outbox, str]]:
    with running_smtp() as server:
        yield server


def test_an_opted_in_person_gets_counts_and_a_link_and_no_row_data(
        settings: Settings, engine: Engine, smtp: tuple[Outbox, str]) -> None:
    outbox, url = smtp
    services = notifying(settings, engine, smtp_url=url, mail_from="helpdesk@help.example")
    turned_on = CliRunner().invoke(cli, ["--database-url", settings.database_url, "notices", "email", "on", ANN])
    assert turned_on.exit_code == 0, turned_on.output
    report = import_customers(services)

    services.notices.send_due(now=at(1))

    [mail] = outbox.messages
    assert mail["To"].addresses[0].addr_spec == ANN
    assert mail["Subject"] == f"Import {report.job} of customers: partial"
    assert mail["X-Contact-Importer-Loop"] == "1"  # our own mail capture skips it
    text = mail.get_content()
    assert "created: 2" in text and "failed: 1" in text and "march.csv" in text
    assert f"https://help.example/importer/jobs/{report.job}" in text
    raw = mail.as_string()
    assert not any(cell in raw for cell in ROW_DATA)
    [delivery] = services.notices.deliveries()
    assert (delivery.channel, delivery.target, delivery.status) == ("email", ANN, "delivered")


def test_an_opted_out_person_gets_nothing_even_when_the_setting_mails_everyone(
        settings: Settings, engine: Engine, smtp: tuple[Outbox, str]) -> None:
    outbox, url = smtp
    services = notifying(settings, engine, smtp_url=url, notify_by_email=True)
    services.notices.set_email("Bo@Help.example", False)

    import_customers(services, actor="bo@help.example")
    import_customers(services, actor="cy@help.example")  # never said: the setting mails them
    services.notices.send_due(now=at(1))

    assert outbox.to("bo@help.example") == [] and len(outbox.to("cy@help.example")) == 1
    assert services.notices.email_wanted("bo@help.example") is False


def test_without_a_choice_or_the_setting_nobody_is_mailed_and_an_os_user_never_is(
        settings: Settings, engine: Engine, smtp: tuple[Outbox, str]) -> None:
    outbox, url = smtp
    services = notifying(settings, engine, smtp_url=url)
    import_customers(services)
    import_customers(services, actor="root")
    services.notices.send_due(now=at(1))
    assert outbox.messages == []


def test_a_choice_is_for_an_email_address(settings: Settings, engine: Engine) -> None:
    services = notifying(settings, engine)
    with pytest.raises(ValueError, match="not an e-mail address"):
        services.notices.set_email("root", True)
    refused = CliRunner().invoke(cli, ["--database-url", settings.database_url, "notices", "email", "on", "root"])
    assert refused.exit_code == 1 and "not an e-mail address" in refused.output
