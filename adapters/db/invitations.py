"""Set-password invitations, one path for everyone who gets one: agents (who then sign in to the helpdesk) and
customers (who then sign in to the host's customer portal, which asks services.people.verify).

An import makes them: agents' as the new agents without a password are written (adapters/db/agents.py),
customers' after an import with the option invite, for the customers it created (`invite_created`). The kind's
finisher (`invite_after_import`, declared with the kind's storage in adapters/db/kind_storage.py) mails them.
Only the sha256 of a link's token is stored. A link works once, until it expires, and only while its person can
be invited: an agent who is inactive, a contact who is a lead, anyone with a password already has no
pending invitation; a removed person's invitations go with them (ON DELETE CASCADE), so undoing an import that
created people removes their pending invitations too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (ColumnElement, DateTime, Engine, Integer, Select, String, Table, bindparam, exists,
                        literal, null, select, update)

from adapters.db.accounts import AgentError, check_new_password, key_or_none
from adapters.db.agents import agents, display_name, invitations
from adapters.db.catalog import utc_now
from adapters.db.models import contacts, import_rows
from adapters.invitations import new_invitation_token, token_digest
from plugin.kinds.agents import DEFAULT_PASSWORD_MIN_LENGTH
from plugin.ports import PasswordHasher
from plugin.ports.people import AGENT, CUSTOMER, InvitedPerson, IssuedInvitation, IssuedLink, PendingInvitation
from plugin.report import ImportReport, Status
from plugin.services.people import InvitationMailer, set_password_link

if TYPE_CHECKING:
    from plugin.settings import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
NewToken = Callable[[], tuple[str, str]]
UNUSABLE_LINK = "This invitation link does not work: it was used already, replaced by a newer one, or expired."


@dataclass(frozen=True, slots=True)
class Invitees:
    """Who one kind of invitation is for: their table (with email, email_key, names and password_hash), the
    invitations' column naming them, and when they can be invited at all."""

    invitee: str  # plugin.ports.people.AGENT or CUSTOMER: the mail's words and the page after the password
    person: Table  # agents or contacts
    column: Any  # Invitation.agent_id, Invitation.customer_id
    can_be_invited: ColumnElement[bool]


AGENT_INVITEES = Invitees(AGENT, agents, invitations.c.agent_id, agents.c.is_active.is_(True))
CUSTOMER_INVITEES = Invitees(CUSTOMER, contacts, invitations.c.customer_id,
                             contacts.c.is_lead.is_(False) & contacts.c.active.is_(True))
EVERYONE = (AGENT_INVITEES, CUSTOMER_INVITEES)
INVITEES = {invitees.invitee: invitees for invitees in EVERYONE}


def _pending(invitees: Invitees) -> Select[Any]:
    person = invitees.person
    return (select(invitations.c.id, invitees.column.label("person_id"), invitations.c.created_at,
                   invitations.c.expires_at, invitations.c.sent_at, invitations.c.token_hash, person.c.email,
                   person.c.first_name, person.c.last_name)
            .join(person, person.c.id == invitees.column)
            .where(invitations.c.used_at.is_(None), person.c.password_hash.is_(None), invitees.can_be_invited))


def create_invitation(engine: Engine, person_id: int, *, invitees: Invitees = AGENT_INVITEES, hours: int = 72,
                      now: Clock = utc_now, new_token: NewToken = new_invitation_token) -> IssuedInvitation:
    """A new invitation for an agent (or another invitee), with its link's token (only its hash is stored)."""
    moment = now()
    token, digest = new_token()
    person = invitees.person
    with engine.begin() as connection:
        found = connection.execute(select(person.c.email, person.c.first_name, person.c.last_name)
                                   .where(person.c.id == person_id)).one_or_none()
        if found is None:
            raise AgentError(f"There is no {invitees.invitee} {person_id}.")
        expires_at = moment + timedelta(hours=hours)
        invitation_id = connection.execute(invitations.insert().values(
            {invitees.column.key: person_id, "token_hash": digest, "expires_at": expires_at, "created_at": moment},
        ).returning(invitations.c.id)).scalar_one()
    return IssuedInvitation(invitation_id, person_id, found.email, display_name(found.first_name, found.last_name),
                            token, expires_at, invitees.invitee)


def invite_created(engine: Engine, invitees: Invitees, *, import_id: int, hours: int, now: Clock = utc_now) -> int:
    """A pending invitation (no link yet) for each person the import created who can be invited, has an email and
    no password, and has none from this import yet; returns how many. One INSERT ... SELECT, however many rows."""
    moment = now()
    person = invitees.person
    created = (select(person.c.id, null().cast(String(64)),
                      literal(moment + timedelta(hours=hours), DateTime(timezone=True)),
                      literal(moment, DateTime(timezone=True)), literal(import_id, Integer()))
               .join(import_rows, (import_rows.c.record_id == person.c.id) & (import_rows.c.job_id == import_id)
                     & (import_rows.c.action == "created"))
               .where(invitees.can_be_invited, person.c.password_hash.is_(None), person.c.email.is_not(None),
                      person.c.email != "",
                      ~exists().where(invitees.column == person.c.id, invitations.c.import_id == import_id)))
    with engine.begin() as connection:
        return connection.execute(invitations.insert().from_select(
            [invitees.column.key, "token_hash", "expires_at", "created_at", "import_id"], created)).rowcount


def issue_invitation_links(engine: Engine, *, hours: int = 72, import_id: int | None = None, unsent_only: bool = False,
                           invitees: Sequence[Invitees] = EVERYONE, now: Clock = utc_now,
                           new_token: NewToken = new_invitation_token) -> list[IssuedInvitation]:
    """Fresh links for pending invitations (of one import, or all); earlier links of those stop working."""
    expires_at = now() + timedelta(hours=hours)
    issued: list[IssuedInvitation] = []
    params: list[dict[str, object]] = []
    with engine.begin() as connection:
        for kind in invitees:
            query = _pending(kind).order_by(invitations.c.id)
            if import_id is not None:
                query = query.where(invitations.c.import_id == import_id)
            if unsent_only:
                query = query.where(invitations.c.sent_at.is_(None))
            for row in connection.execute(query).all():
                token, digest = new_token()
                issued.append(IssuedInvitation(row.id, row.person_id, row.email,
                                               display_name(row.first_name, row.last_name), token, expires_at,
                                               kind.invitee))
                params.append({"b_id": row.id, "b_hash": digest})
        if params:
            connection.execute(update(invitations).where(invitations.c.id == bindparam("b_id"))
                               .values(token_hash=bindparam("b_hash"), expires_at=expires_at), params)
    return sorted(issued, key=lambda found: found.invitation_id)


def list_pending_invitations(engine: Engine) -> list[PendingInvitation]:
    """Invitations whose agent or customer has no password yet, oldest first."""
    with engine.connect() as connection:
        found = [PendingInvitation(row.id, row.email, display_name(row.first_name, row.last_name), row.created_at,
                                   row.expires_at, row.sent_at, row.token_hash is not None, kind.invitee)
                 for kind in EVERYONE for row in connection.execute(_pending(kind)).all()]
    return sorted(found, key=lambda pending: pending.invitation_id)


def mail_invitations(engine: Engine, sender: InvitationMailer, *, import_id: int, hours: int = 72,
                     invitees: Sequence[Invitees] = EVERYONE, link_for: Callable[[str], str] = set_password_link,
                     now: Clock = utc_now) -> int:
    """Mail a fresh link for each invitation an import created and nobody mailed yet; returns how many went out.

    A mail the server refuses is logged (without its link) and stays unsent for `contact-importer invitations`.
    """
    sent: list[int] = []
    for invitation in issue_invitation_links(engine, hours=hours, import_id=import_id, unsent_only=True,
                                             invitees=invitees, now=now):
        try:
            sender.send(invitation.email, invitation.name, link_for(invitation.token), invitation.expires_at,
                        invitee=invitation.invitee)
        except OSError as error:  # smtplib.SMTPException is an OSError, like a refused connection
            logger.warning("invitation %s was not mailed: %s", invitation.invitation_id, type(error).__name__)
            continue
        sent.append(invitation.invitation_id)
    if sent:
        with engine.begin() as connection:
            connection.execute(update(invitations).where(invitations.c.id.in_(sent)).values(sent_at=now()))
    logger.info("import %s: %d invitations mailed", import_id, len(sent))
    return len(sent)


def invite_after_import(engine: Engine, settings: Settings, sender: InvitationMailer | None, invitee: str,
                        report: ImportReport) -> None:
    """A kind's finisher, when its import asked for invitations (adapters/db/kind_storage.py): once the import is
    applied, invite the people it created (agents' invitations are written with the agents already, so none is
    added for them) and mail their links when smtp_url is set."""
    if report.job is None or report.status not in (Status.SUCCEEDED, Status.PARTIAL):
        return
    invitees = INVITEES[invitee]
    invite_created(engine, invitees, import_id=report.job, hours=settings.invitation_hours)
    if sender is not None:
        mail_invitations(engine, sender, import_id=report.job, invitees=(invitees,),
                         hours=settings.invitation_hours,
                         link_for=lambda token: settings.absolute_link(set_password_link(token)))


def _find_pending(connection: Any, token: str, moment: datetime) -> tuple[Invitees, Any] | None:
    """The invitation behind a link's token, with its invitees, when it is pending and not expired."""
    for kind in EVERYONE:
        found = connection.execute(_pending(kind).where(invitations.c.token_hash == token_digest(token),
                                                        invitations.c.expires_at > moment)).one_or_none()
        if found is not None:
            return kind, found
    return None


def invitation_expiry(engine: Engine, token: str, *, now: Clock = utc_now) -> datetime | None:
    """When the pending, unexpired invitation behind this link's token expires; None when there is none."""
    with engine.connect() as connection:
        found = _find_pending(connection, token, now())
    return None if found is None else found[1].expires_at


def set_password_by_invitation(engine: Engine, token: str, password_hash: str, *,
                               now: Clock = utc_now) -> InvitedPerson | None:
    """Claim the link (once: of two at the same moment, one wins) and set its person's password hash; every
    other pending link of theirs stops working. None when the link is used, replaced or expired."""
    moment = now()
    with engine.begin() as connection:
        pending = _find_pending(connection, token, moment)
        if pending is None:
            return None
        kind, found = pending
        claimed = connection.execute(update(invitations).where(invitations.c.id == found.id,
                                                               invitations.c.used_at.is_(None))
                                     .values(used_at=moment)).rowcount
        if claimed != 1:
            return None
        connection.execute(update(invitations).where(kind.column == found.person_id, invitations.c.used_at.is_(None))
                           .values(used_at=moment))
        person = kind.person
        connection.execute(update(person).where(person.c.id == found.person_id)
                           .values(password_hash=password_hash, updated_at=moment))
    return InvitedPerson(kind.invitee, found.person_id, found.email)


def accept_invitation(engine: Engine, hasher: PasswordHasher, token: str, new_password: str, *,
                      min_length: int = DEFAULT_PASSWORD_MIN_LENGTH, now: Clock = utc_now) -> InvitedPerson:
    """Set the password through an invitation link; the link works once, and not after it expires."""
    check_new_password(new_password, min_length)
    if invitation_expiry(engine, token, now=now) is None:
        raise AgentError(UNUSABLE_LINK)
    person = set_password_by_invitation(engine, token, hasher.hash_many([new_password])[0], now=now)
    if person is None:
        raise AgentError(UNUSABLE_LINK)
    return person


def reissue_invitation(engine: Engine, email: str, *, hours: int, now: Clock = utc_now,
                       new_token: NewToken = new_invitation_token) -> IssuedLink | None:
    """A new invitation link for the agent (else the customer) with this email who has a pending invitation;
    earlier links stop working (they count as used, replaced by this one). None when nobody's is pending."""
    key = key_or_none(email)
    if key is None:
        return None
    with engine.connect() as connection:
        found = next(((kind, person_id) for kind in EVERYONE for person_id in connection.execute(
            select(kind.column).join(kind.person, kind.person.c.id == kind.column)
            .where(kind.person.c.email_key == key, invitations.c.used_at.is_(None),
                   kind.person.c.password_hash.is_(None), kind.can_be_invited).limit(1)).scalars()), None)
    if found is None:
        return None
    kind, person_id = found
    with engine.begin() as connection:
        connection.execute(update(invitations).where(kind.column == person_id, invitations.c.used_at.is_(None))
                           .values(used_at=now()))  # replaced
    issued = create_invitation(engine, person_id, invitees=kind, hours=hours, now=now, new_token=new_token)
    return IssuedLink(issued.email, issued.name, issued.token, issued.expires_at, kind.invitee)


def customer_password_hash(engine: Engine, email: str) -> str | None:
    """The stored hash of the active customer (not a lead) with this email, any case; None when there is none."""
    key = key_or_none(email)
    if key is None:
        return None
    with engine.connect() as connection:
        return connection.execute(select(contacts.c.password_hash).where(
            contacts.c.email_key == key, CUSTOMER_INVITEES.can_be_invited)).scalar_one_or_none()
