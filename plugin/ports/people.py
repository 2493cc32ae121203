"""What the people use cases (sign-in, sessions, API tokens, invitations) need from storage.

The policy (how many failures lock, how long a session lasts, when a token expires) is the core's, in
plugin/services/people.py; these ports only keep and find.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Account:
    """What sign-in knows about an agent; never the password hash."""

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    role: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A server-side session as stored, with its agent as they are now."""

    account: Account
    role_at_start: str
    is_same_password: bool  # the agent's password is the one they signed in with
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as `tokens list` shows it (never the token)."""

    id: int
    email: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """active, expired or revoked: what `tokens list` and the tokens page say."""
        if self.revoked_at is not None:
            return "revoked"
        expires = self.expires_at
        if expires is not None and (expires if expires.tzinfo else expires.replace(tzinfo=now.tzinfo)) <= now:
            return "expired"
        return "active"


AGENT = "agent"  # who an invitation is for: an agent (signs in to the helpdesk) or
CUSTOMER = "customer"  # a customer (signs in to the host's customer portal, which asks services.people.verify)


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A fresh set-password link's token for one person, held only in memory until mailed or shown."""

    email: str
    name: str
    token: str
    expires_at: datetime
    invitee: str = AGENT


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A fresh set-password link's token, held only in memory until it is mailed or shown."""

    invitation_id: int
    person_id: int  # the agent's or the customer's id (invitee says which)
    email: str
    name: str
    token: str
    expires_at: datetime
    invitee: str = AGENT


@dataclass(frozen=True, slots=True)
class InvitedPerson:
    """Who set a password through an invitation link."""

    invitee: str  # AGENT or CUSTOMER
    id: int
    email: str


@dataclass(frozen=True, slots=True)
class PendingInvitation:
    """An invitation not used yet, for `contact-importer invitations`."""

    invitation_id: int
    email: str
    name: str
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    has_link: bool
    invitee: str = AGENT


class Accounts(Protocol):
    def authenticate(self, email: str, password: str) -> Account | None:
        """The active agent with this email and password; an unknown email costs as long as a wrong password."""
        ...

    def by_id(self, agent_id: int) -> Account | None: ...

    def by_email(self, email: str) -> Account | None: ...

    def invitation_expiry(self, token: str) -> datetime | None:
        """When this unused invitation link expires; None when it names no unused invitation."""
        ...

    def accept_invitation(self, token: str, password_hash: str) -> InvitedPerson | None:
        """Set the invited agent's or customer's password through an unused, unexpired link, once; None when the
        link does not work (used, replaced, expired, or its person inactive, removed or with a password)."""
        ...

    def customer_password_hash(self, email: str) -> str | None:
        """The password hash of the customer with this email (any case); None when there is none, or no customer."""
        ...

    def create_admin(self, email: str, password: str, *, first_name: str, min_length: int) -> int:
        """Create an active admin with this password and return its id; ValueError (its message says why) when
        the email is taken or invalid, or the password too weak."""
        ...

    def issue_invitation_links(self, *, hours: int) -> list[IssuedInvitation]:
        """Fresh links for every pending invitation; earlier links stop working."""
        ...

    def pending_invitations(self) -> list[PendingInvitation]:
        """Invitations whose agent or customer has no password yet, oldest first."""
        ...

    def reissue_invitation(self, email: str, *, hours: int) -> IssuedLink | None:
        """A fresh link for the agent's or customer's pending invitation (earlier links stop working); None when
        none is pending."""
        ...


class FailureCounter(Protocol):
    """Failed attempts per key (an account, a client address), shared by every process."""

    def failures(self, key: str, *, since: datetime) -> tuple[int, datetime | None]:
        """How many failures were counted for key since `since`, and when the first of them was."""
        ...

    def add_failure(self, key: str, *, now: datetime, window: timedelta) -> None:
        """Count one failure; a count whose first failure is older than window starts again at one."""
        ...

    def clear(self, key: str) -> None: ...

    def forget_older_than(self, moment: datetime) -> None:
        """Drop counts whose first failure is before moment (they count no more)."""
        ...


class Sessions(Protocol):
    def start(self, agent_id: int, *, now: datetime) -> str:
        """A new session; returns its token (only a hash is stored)."""
        ...

    def find(self, token: str) -> StoredSession | None: ...

    def touch(self, token: str, *, now: datetime) -> None: ...

    def end(self, token: str, *, now: datetime) -> None: ...

    def forget_older_than(self, moment: datetime) -> None:
        """Drop sessions started before moment (past their lifetime, ended or not)."""
        ...


class Tokens(Protocol):
    def create(self, email: str, *, name: str, expires_at: datetime | None, now: datetime) -> str: ...

    def owner(self, token: str, *, now: datetime) -> str | None:
        """The email of a token that is neither revoked nor expired (its last use is recorded); else None."""
        ...

    def list(self) -> list[TokenInfo]: ...

    def revoke(self, email: str, *, now: datetime) -> int: ...

    def revoke_one(self, token_id: int, *, now: datetime) -> bool:
        """Revoke one token; False when there is no such token or it was revoked already."""
        ...


class PeopleStore(Protocol):
    accounts: Accounts
    failures: FailureCounter
    sessions: Sessions
    tokens: Tokens
