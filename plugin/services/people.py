"""The people use cases: sign-in (throttled), server-side sessions, API tokens and set-password invitations.

The standalone host's pages, the API's token check and the CLI call these; storage is behind
plugin/ports/people.py. The rules:

- **Throttling.** Failed sign-ins count per account (the email as typed, known or not: a lock says nothing
  about who exists) and per client address; failed API tokens count per address. Once a count reaches its
  limit (sign_in_failures_per_account, sign_in_failures_per_address) further attempts are refused with a wait
  until sign_in_lock_minutes after the first counted failure, without checking the password. A sign-in that
  succeeds clears its account's count. Counts live in the database (or Redis), so every host process shares them.
- **Sessions.** A session ends at sign-out, session_hours after sign-in, after session_idle_minutes without a
  request, and at once when its agent is deactivated, changes role or gets another password.
- **Tokens.** A token works until it is revoked or expires (token_days after it is made, unless said otherwise).
  An admin makes, sees and revokes anybody's tokens; anyone else only their own (the tokens page asks as the
  signed-in person; the CLI runs as an admin, as it does everywhere).
- **Invitations.** Agents and customers get the same one-time, expiring set-password link and page; the password
  chosen is kept only as a hash. Customers never sign in here: the host's portal asks `verify`, and learns of a
  password set through the hook customer_password_set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Protocol

from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.ports import PasswordHasher
from plugin.kinds.agents import password_problems
from plugin.ports.people import (CUSTOMER, Account, InvitedPerson, IssuedInvitation, IssuedLink, PeopleStore,
                                 PendingInvitation, TokenInfo)
from plugin.services.undo import ADMIN, Actor

if TYPE_CHECKING:
    from plugin.services import Services

SET_PASSWORD_PATH = "/agents/set-password"  # served by adapters/web/accounts_pages.py wherever the importer is mounted
TOUCH_EVERY = timedelta(minutes=1)  # a session's last request is written at most this often
MAX_TOKEN_DAYS = 3650  # the longest a token may be made to work
TOKEN_NAME_LENGTH = 200


def set_password_link(token: str) -> str:
    return f"{SET_PASSWORD_PATH}?token={token}"


class PeopleError(ValueError):
    """A people use case cannot do what was asked; `code` for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvitationMailer(Protocol):
    def send(self, to_email: str, name: str, link: str, expires_at: datetime, *, invitee: str = ...) -> None: ...


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in attempt came to: an account and its session, a refusal, or a wait (throttled)."""

    account: Account | None = None
    session: str | None = None  # the new session's token, for the cookie
    retry_after: int = 0  # seconds; more than 0: throttled, nothing was checked


@dataclass(frozen=True, slots=True)
class TokenCheck:
    email: str | None = None
    retry_after: int = 0


@dataclass(frozen=True, slots=True)
class ResentInvitation:
    issued: IssuedLink
    link: str
    is_mailed: bool


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite drops the zone


class People:
    """services.people"""

    def __init__(self, services: Services, *, now=utc_now) -> None:  # type: ignore[no-untyped-def]
        self.services = services
        self.now = now

    @property
    def store(self) -> PeopleStore:
        if self.services.people_store is None:
            raise RuntimeError("these services were built without the people store (adapters/bootstrap.py)")
        return self.services.people_store

    @property
    def mailer(self) -> InvitationMailer | None:
        return self.services.invitation_mailer  # type: ignore[no-any-return]

    # ---- throttling

    @property
    def lock_window(self) -> timedelta:
        return timedelta(minutes=self.services.settings.sign_in_lock_minutes)

    def _account_key(self, email: str) -> str:
        try:
            return "account:" + email_key(normalize_email(email))
        except InvalidEmail:
            return "account:" + email.strip().casefold()[:320]

    def retry_after(self, keys: Sequence[tuple[str, int]]) -> int:
        """Seconds until every key is under its limit again; 0 when none is at it."""
        now = self.now()
        wait = 0.0
        for key, limit in keys:
            count, first = self.store.failures.failures(key, since=now - self.lock_window)
            if count >= limit and first is not None:
                wait = max(wait, (_aware(first) + self.lock_window - now).total_seconds())
        return max(1, math.ceil(wait)) if wait > 0 else 0

    def _fail(self, keys: Sequence[tuple[str, int]]) -> None:
        for key, _ in keys:
            self.store.failures.add_failure(key, now=self.now(), window=self.lock_window)

    def _sign_in_keys(self, email: str, address: str) -> list[tuple[str, int]]:
        settings = self.services.settings
        return [(self._account_key(email), settings.sign_in_failures_per_account),
                ("address:" + address, settings.sign_in_failures_per_address)]

    # ---- sign-in and sessions

    def sign_in(self, email: str, password: str, *, address: str) -> SignIn:
        """Check a password (unless throttled) and start a session."""
        keys = self._sign_in_keys(email, address)
        wait = self.retry_after(keys)
        if wait:
            return SignIn(retry_after=wait)
        account = self.store.accounts.authenticate(email, password)
        if account is None:
            self._fail(keys)
            return SignIn()
        self.store.failures.clear(keys[0][0])
        now = self.now()
        self.store.sessions.forget_older_than(now - timedelta(hours=self.services.settings.session_hours))
        self.store.failures.forget_older_than(now - self.lock_window)  # the tables stay as small as their use
        return SignIn(account, self.store.sessions.start(account.id, now=now))

    def check_password(self, email: str, password: str) -> Account | None:
        """`contact-importer verify`: whether EMAIL could sign in with this password (no session, no counting)."""
        return self.store.accounts.authenticate(email, password)

    def session_account(self, token: str | None) -> Account | None:
        """The agent of a live session; a session that should have ended is ended now."""
        if not token:
            return None
        found = self.store.sessions.find(token)
        if found is None or found.ended_at is not None:
            return None
        now, settings = self.now(), self.services.settings
        is_live = (found.account.is_active and found.account.role == found.role_at_start and found.is_same_password
                   and now - _aware(found.created_at) < timedelta(hours=settings.session_hours)
                   and now - _aware(found.last_seen_at) < timedelta(minutes=settings.session_idle_minutes))
        if not is_live:
            self.store.sessions.end(token, now=now)
            return None
        if now - _aware(found.last_seen_at) >= TOUCH_EVERY:
            self.store.sessions.touch(token, now=now)
        return found.account

    def sign_out(self, token: str | None) -> None:
        """End the session for every copy of its cookie."""
        if token:
            self.store.sessions.end(token, now=self.now())

    def account_for_email(self, email: str) -> Account | None:
        return self.store.accounts.by_email(email)

    # ---- API tokens

    def create_token(self, email: str, *, name: str = "", days: int | None = None, by: Actor | None = None
                     ) -> tuple[str, Account, datetime]:
        """A new token for the agent EMAIL, returned once (only its hash is kept), with its agent and expiry.
        `by`: who asks, when it is not the CLI's operator; only an admin makes tokens for somebody else."""
        if by is not None:
            self._check_may_manage(by, email, "make")
        if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
            raise PeopleError("token.days", f"A token works for 1 to {MAX_TOKEN_DAYS} days, not {days}.")
        if len(name.strip()) > TOKEN_NAME_LENGTH:
            raise PeopleError("token.name", f"A token's name has at most {TOKEN_NAME_LENGTH} characters.")
        account = self.store.accounts.by_email(email)
        if account is None or not account.is_active:
            raise PeopleError("token.no_agent", f"There is no active agent {email!r}; import agents or run "
                                                "`contact-importer users create-admin EMAIL` first.")
        now = self.now()
        expires_at = now + timedelta(days=self.services.settings.token_days if days is None else days)
        token = self.store.tokens.create(account.email, name=name.strip(), expires_at=expires_at, now=now)
        return token, account, expires_at

    def token_owner(self, token: str, *, address: str) -> TokenCheck:
        """Whose token this is; a failure counts against the client address, and a throttled address waits."""
        keys = [("address:" + address, self.services.settings.sign_in_failures_per_address)]
        wait = self.retry_after(keys)
        if wait:
            return TokenCheck(retry_after=wait)
        email = self.store.tokens.owner(token, now=self.now())
        if email is None:
            self._fail(keys)
        return TokenCheck(email)

    def list_tokens(self) -> list[TokenInfo]:
        return self.store.tokens.list()

    def revoke_tokens(self, email: str) -> int:
        return self.store.tokens.revoke(email, now=self.now())

    def tokens_seen_by(self, actor: Actor) -> list[TokenInfo]:
        """The tokens this person may look after, newest first: an admin's are everybody's."""
        return [token for token in reversed(self.list_tokens()) if self._may_manage(actor, token.email)]

    def revoke_token(self, token_id: int, *, by: Actor) -> TokenInfo:
        """Revoke one token; PeopleError when there is no such token (or none this person may see), it is revoked
        already, or it is somebody else's and they are not an admin. Returns the token as it was."""
        found = next((token for token in self.list_tokens() if token.id == token_id), None)
        if found is None:
            raise PeopleError("token.unknown", f"There is no API token {token_id}.")
        self._check_may_manage(by, found.email, "revoke")
        if not self.store.tokens.revoke_one(token_id, now=self.now()):
            raise PeopleError("token.revoked", f"API token {token_id} was revoked already.")
        return found

    def _may_manage(self, actor: Actor, owner: str) -> bool:
        return actor.role == ADMIN or self._account_key(actor.name) == self._account_key(owner)

    def _check_may_manage(self, actor: Actor, owner: str, doing: str) -> None:
        if not self._may_manage(actor, owner):
            raise PeopleError("token.not_yours", f"Only an admin may {doing} an API token for somebody else "
                                                 f"({owner}); you may {doing} your own.")

    # ---- invitations

    def invitation_expiry(self, token: str) -> datetime | None:
        """When a set-password link stops working; None when it does not work (used, replaced or expired)."""
        expires_at = self.store.accounts.invitation_expiry(token)
        return expires_at if expires_at is not None and _aware(expires_at) > self.now() else None

    def password_problem(self, password: str) -> str | None:
        """The agents import's password rule (plugin/kinds/agents.py), as one message; None when it passes."""
        problems = password_problems({"password": password},
                                   {"password_min_length": self.services.settings.password_min_length})
        return problems[0][2] if problems else None

    def accept_invitation(self, token: str, password: str) -> InvitedPerson:
        """Set the password of the agent or customer invited by this link (kept only as its hash); a customer's
        is announced to the host through the hook customer_password_set."""
        problem = self.password_problem(password)
        if problem is not None:
            raise PeopleError("password.rejected", problem)
        if self.invitation_expiry(token) is None:
            raise PeopleError("invitation.unusable", "This link does not work any more.")
        person = self.store.accounts.accept_invitation(token, self._hasher.hash_many([password])[0])
        if person is None:
            raise PeopleError("invitation.unusable", "This link does not work any more.")
        if person.invitee == CUSTOMER and self.services.hooks is not None:
            self.services.hooks.customer_password_set(customer_id=person.id, email=person.email)
        return person

    def verify(self, email: str, password: str) -> bool:
        """For the host's customer portal: whether the customer with this email (any case) set this password
        through an invitation. An unknown email costs as long as a wrong password; no count, no session."""
        return self._hasher.verify(password, self.store.accounts.customer_password_hash(email))

    @property
    def _hasher(self) -> PasswordHasher:
        if self.services.hasher is None:
            raise RuntimeError("these services were built without a password hasher (adapters/bootstrap.py)")
        return self.services.hasher

    def create_admin(self, email: str, password: str, *, first_name: str = "Admin") -> int:
        """Create an active admin agent with this password; PeopleError when the email or password will not do."""
        try:
            return self.store.accounts.create_admin(email, password, first_name=first_name,
                                                    min_length=self.services.settings.password_min_length)
        except ValueError as error:
            raise PeopleError("agent.refused", str(error)) from error

    def pending_invitations(self) -> list[PendingInvitation]:
        """Invitations whose agent or customer has no password yet, oldest first."""
        return self.store.accounts.pending_invitations()

    def issue_invitation_links(self) -> list[tuple[IssuedInvitation, str]]:
        """A fresh link for every pending invitation (earlier links stop working), with its address."""
        settings = self.services.settings
        return [(issued, settings.absolute_link(set_password_link(issued.token)))
                for issued in self.store.accounts.issue_invitation_links(hours=settings.invitation_hours)]

    def resend_invitation(self, email: str) -> ResentInvitation:
        """A fresh link for an agent's or customer's pending invitation, mailed when smtp_url is set; earlier links
        stop working."""
        settings = self.services.settings
        issued = self.store.accounts.reissue_invitation(email, hours=settings.invitation_hours)
        if issued is None:
            raise PeopleError("invitation.none", f"{email} has no pending invitation: they have a password already, "
                                                 "are inactive, or were never invited.")
        link = settings.absolute_link(set_password_link(issued.token))
        if self.mailer is None:
            return ResentInvitation(issued, link, False)
        self.mailer.send(issued.email, issued.name, link, issued.expires_at, invitee=issued.invitee)
        return ResentInvitation(issued, link, True)
