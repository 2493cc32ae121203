"""Customer invitations (import option invite): the customers an import creates get the agents' one-time,
expiring set-password link, mailed to a real SMTP server (aiosmtpd); the password is kept only as its hash, the
host's portal asks services.people.verify and hears the hook customer_password_set. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, inspect, select, text

from adapters.bootstrap import bootstrap
from adapters.cli import cli
from adapters.db.accounts import AgentError
from adapters.db.catalog import utc_now
from adapters.db.invitations import accept_invitation, invitation_expiry, list_pending_invitations
from adapters.db.models import contacts
from adapters.passwords import Argon2Hasher
from plugin.hooks import hookimpl
from plugin.ports.people import CUSTOMER
from plugin.services import Services
from plugin.services.people import PeopleError
from plugin.services.undo import Actor
from plugin.settings import Settings
from tests.adapters.test_invitations_import import hasher, smtp, token_in  # noqa: F401  (fixtures)
from tests.smtp import Outbox

NEW_AND_OLD = ("email,first_name,last_name\n"
               "ann@example.com,Ann,Lee\n"
               "bo@example.com,Bo,\n"
               "cy@example.com,Cyrus,Young\n")  # cy is a customer already: updated, never invited
CHOSEN = "Ann-chose-this-2026"


class PasswordSetRecorder:
    """A host plugin listening to the hook a customer's new password fires."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    @hookimpl
    def customer_password_set(self, customer_id: int, email: str) -> None:
        self.calls.append((customer_id, email))


@pytest.fixture
def recorder() -> PasswordSetRecorder:
    return PasswordSetRecorder()


@pytest.fixture
def mailing(settings: Settings, engine: Engine, smtp: tuple[Outbox, str], hasher: Argon2Hasher,  # noqa: F811
            recorder: PasswordSetRecorder) -> Services:
    services = bootstrap(settings.replace(smtp_url=smtp[1]), engine=engine, hasher=hasher, plugins=(recorder,))
    services.imports.import_file("customers", io.BytesIO(b"email,first_name\ncy@example.com,Cy\n"), file_name="c.csv")
    return services


def import_customers(settings: Settings, tmp_path: Path, *flags: str, smtp_url: str = "") -> Result:
    source = tmp_path / "customers.csv"
    source.write_text(NEW_AND_OLD)
    runner = CliRunner(env={"CONTACT_IMPORTER_SMTP_URL": smtp_url})
    return runner.invoke(cli, ["--database-url", settings.resolved_database_url, "import", "customers", str(source),
                               *flags])


def recipients(mailbox: Outbox) -> list[str]:
    return sorted(message["To"].addresses[0].addr_spec for message in mailbox.messages)


def customer_id(engine: Engine, email: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(contacts.c.id).where(contacts.c.email == email)).scalar_one())


def test_import_customers_invite_mails_each_created_customer_a_link_that_works_once(
        mailing: Services, smtp: tuple[Outbox, str], settings: Settings, engine: Engine,  # noqa: F811
        recorder: PasswordSetRecorder, tmp_path: Path) -> None:
    mailbox, smtp_url = smtp
    result = import_customers(settings, tmp_path, "--invite", smtp_url=smtp_url)
    assert result.exit_code == 0, result.output
    assert "2 created, 1 updated" in result.output
    assert recipients(mailbox) == ["ann@example.com", "bo@example.com"]  # cy was updated: no invitation
    [to_ann] = mailbox.to("ann@example.com")
    assert "customer portal" in to_ann.get_content() and "agent account" not in to_ann.get_content()
    token = token_in(to_ann)

    person = mailing.people.accept_invitation(token, CHOSEN)
    assert (person.invitee, person.email) == (CUSTOMER, "ann@example.com")
    assert recorder.calls == [(customer_id(engine, "ann@example.com"), "ann@example.com")]
    with pytest.raises(PeopleError) as second_use:
        mailing.people.accept_invitation(token, "Another-Pass-2026")
    assert second_use.value.code == "invitation.unusable"
    assert recorder.calls == [(customer_id(engine, "ann@example.com"), "ann@example.com")]
    assert [pending.email for pending in list_pending_invitations(engine)] == ["bo@example.com"]


def test_verify_is_true_only_for_a_customers_email_and_the_password_they_set(
        mailing: Services, smtp: tuple[Outbox, str]) -> None:  # noqa: F811
    mailbox, _ = smtp
    mailing.imports.import_file("customers", io.BytesIO(NEW_AND_OLD.encode()), file_name="c.csv",
                                options={"invite": True})
    mailing.people.accept_invitation(token_in(mailbox.to("ann@example.com")[0]), CHOSEN)
    assert mailing.people.verify("ann@example.com", CHOSEN)
    assert mailing.people.verify("  ANN@Example.com ", CHOSEN)  # the email in any case, as customers type it
    assert not mailing.people.verify("ann@example.com", CHOSEN + "x")
    assert not mailing.people.verify("bo@example.com", CHOSEN)  # invited, no password yet
    assert not mailing.people.verify("nobody@example.com", CHOSEN)
    assert not mailing.people.verify("not an email", CHOSEN)


def test_a_customer_made_inactive_can_neither_use_their_link_nor_be_verified(
        mailing: Services, smtp: tuple[Outbox, str]) -> None:  # noqa: F811
    mailbox, _ = smtp
    mailing.imports.import_file("customers", io.BytesIO(NEW_AND_OLD.encode()), file_name="c.csv",
                                options={"invite": True})
    mailing.people.accept_invitation(token_in(mailbox.to("ann@example.com")[0]), CHOSEN)
    inactive = io.BytesIO(b"email,active\nann@example.com,false\nbo@example.com,no\n")
    assert mailing.imports.import_file("customers", inactive, file_name="inactive.csv").updated == 2
    assert not mailing.people.verify("ann@example.com", CHOSEN)  # signed up, then made inactive
    with pytest.raises(PeopleError) as unusable:
        mailing.people.accept_invitation(token_in(mailbox.to("bo@example.com")[0]), CHOSEN)
    assert unusable.value.code == "invitation.unusable"


def test_a_customers_link_expires_after_invitation_hours(mailing: Services, smtp: tuple[Outbox, str],  # noqa: F811
                                                         engine: Engine, hasher: Argon2Hasher) -> None:  # noqa: F811
    mailbox, _ = smtp
    mailing.imports.import_file("customers", io.BytesIO(NEW_AND_OLD.encode()), file_name="c.csv",
                                options={"invite": True})
    token = token_in(mailbox.to("bo@example.com")[0])
    later = utc_now() + timedelta(hours=mailing.settings.invitation_hours, minutes=1)
    assert invitation_expiry(engine, token, now=lambda: later) is None
    with pytest.raises(AgentError, match="does not work"):
        accept_invitation(engine, hasher, token, CHOSEN, now=lambda: later)
    assert not mailing.people.verify("bo@example.com", CHOSEN)


def test_the_password_is_kept_only_as_its_argon2_hash_and_never_logged(
        mailing: Services, smtp: tuple[Outbox, str], engine: Engine, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    mailbox, _ = smtp
    caplog.set_level(logging.DEBUG)
    mailing.imports.import_file("customers", io.BytesIO(NEW_AND_OLD.encode()), file_name="c.csv",
                                options={"invite": True})
    token = token_in(mailbox.to("ann@example.com")[0])
    mailing.people.accept_invitation(token, CHOSEN)
    with engine.connect() as connection:
        stored = connection.execute(select(contacts.c.password_hash)
                                    .where(contacts.c.email == "ann@example.com")).scalar()
        everything = " ".join(str(row) for table in inspect(connection).get_table_names()
                              for row in connection.execute(text(f'SELECT * FROM "{table}"')))
    assert stored is not None and stored.startswith("$argon2id$")
    assert CHOSEN not in everything and token not in everything  # the link's token: only its sha256
    assert CHOSEN not in caplog.text and token not in caplog.text


def test_without_invite_or_for_customers_already_there_nothing_is_mailed(
        mailing: Services, smtp: tuple[Outbox, str], settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    mailbox, smtp_url = smtp
    assert import_customers(settings, tmp_path, smtp_url=smtp_url).exit_code == 0
    assert mailbox.messages == []
    again = import_customers(settings, tmp_path, "--invite", smtp_url=smtp_url)  # nobody new now
    assert again.exit_code == 0, again.output
    assert mailbox.messages == []
    dry = import_customers(settings, tmp_path, "--invite", "--dry-run", smtp_url=smtp_url)
    assert dry.exit_code == 0 and mailbox.messages == []


def test_invite_without_smtp_says_so_and_the_invitations_command_gives_the_links(
        settings: Settings, engine: Engine, tmp_path: Path) -> None:
    result = import_customers(settings, tmp_path, "--invite")
    assert result.exit_code == 0, result.output
    assert ("“Invite new customers to the customer portal”: smtp_url is not set, so no invitation is mailed"
            in result.output)
    quiet = import_customers(settings, tmp_path)  # not asked: nothing said
    assert "smtp_url" not in quiet.output
    url = settings.resolved_database_url
    listed = CliRunner().invoke(cli, ["--database-url", url, "invitations"])
    assert "ann@example.com\tAnn Lee\tnot mailed" in listed.output  # all three are new here
    assert listed.output.count("not mailed") == 3
    links = CliRunner().invoke(cli, ["--database-url", url, "invitations", "--issue-links"])
    assert links.output.count("/agents/set-password?token=") == 3


def test_undoing_the_import_removes_its_pending_invitations_and_their_links_stop_working(
        mailing: Services, smtp: tuple[Outbox, str], engine: Engine) -> None:  # noqa: F811
    mailbox, _ = smtp
    report = mailing.imports.import_file("customers", io.BytesIO(NEW_AND_OLD.encode()), file_name="c.csv",
                                         options={"invite": True})
    token = token_in(mailbox.to("ann@example.com")[0])
    assert len(list_pending_invitations(engine)) == 2
    mailing.undo.undo(report.job, Actor("admin@example.com", "admin"))  # type: ignore[arg-type]
    assert list_pending_invitations(engine) == []
    assert mailing.people.invitation_expiry(token) is None


def test_a_pending_customer_gets_a_new_link_with_invitations_resend(
        mailing: Services, smtp: tuple[Outbox, str], engine: Engine) -> None:  # noqa: F811
    mailbox, _ = smtp
    mailing.imports.import_file("customers", io.BytesIO(NEW_AND_OLD.encode()), file_name="c.csv",
                                options={"invite": True})
    first = token_in(mailbox.to("bo@example.com")[0])
    resent = mailing.people.resend_invitation("bo@example.com")
    assert resent.is_mailed and resent.issued.invitee == CUSTOMER
    second = token_in(mailbox.to("bo@example.com")[1])
    assert "customer portal" in mailbox.to("bo@example.com")[1].get_content()
    assert mailing.people.invitation_expiry(first) is None and mailing.people.invitation_expiry(second) is not None
    with pytest.raises(PeopleError, match="never invited"):
        mailing.people.resend_invitation("cy@example.com")
