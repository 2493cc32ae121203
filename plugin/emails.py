"""Email addresses: one normalisation for every source (CSV, mail), with a fast path that is exactly as strict.

email-validator costs tens of microseconds an address, most of it on the domain. Files repeat a few
domains many times, so the common shape, an ASCII dot-atom local part, is checked here by pattern and
its domain is validated once by email-validator and remembered; anything else goes to email-validator
whole. `tests/core/test_emails.py` checks the two paths agree on generated addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_FAST_SHAPE = re.compile(rf"({_ATEXT}+(?:\.{_ATEXT}+)*)@([A-Za-z0-9.-]+)")
_LOCAL_MAX = 64
_TOTAL_MAX = 254
# RFC 2142 role mailboxes (postmaster, abuse, info...), whose local part email-validator lowercases
_ROLE_MAILBOXES = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


class InvalidEmail(ValueError):
    """The text is not an email address we can store; the message says why."""


@dataclass(frozen=True, slots=True)
class _DomainVerdict:
    ascii_domain: str | None
    problem: str | None


@lru_cache(maxsize=65536)
def _check_domain(domain: str) -> _DomainVerdict:
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError as error:
        return _DomainVerdict(None, str(error))
    return _DomainVerdict(checked.ascii_domain or checked.domain, None)


def _normalize_slowly(text: str) -> str:
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    domain = checked.ascii_domain or checked.domain
    return f"{checked.local_part}@{domain}"


def normalize_email(text: str) -> str:
    """The stored form of an address: local part as written, domain lowercased in IDNA (ASCII) form.

    Raises InvalidEmail with email-validator's explanation when the text is not a valid address.
    """
    text = text.strip()
    shape = _FAST_SHAPE.fullmatch(text)
    if shape is None or len(shape.group(1)) > _LOCAL_MAX or shape.group(1).lower() in _ROLE_MAILBOXES:
        return _normalize_slowly(text)
    verdict = _check_domain(shape.group(2).lower())
    if verdict.problem is not None:
        return _normalize_slowly(text)  # the slow path words the error for the whole address
    normalized = f"{shape.group(1)}@{verdict.ascii_domain}"
    if len(normalized) > _TOTAL_MAX:
        return _normalize_slowly(text)
    return normalized


def normalize_domain(text: str) -> str:
    """A mail domain as addresses store it: lowercase IDNA (ASCII), checked by the same rule as an address's.

    Raises InvalidEmail with email-validator's explanation when no address could use the domain.
    """
    cleaned = text.strip().rstrip(".").lower()
    if not cleaned or "@" in cleaned:
        raise InvalidEmail("A domain is the part after the @, e.g. example.com.")
    verdict = _check_domain(cleaned)
    if verdict.problem is not None or verdict.ascii_domain is None:
        raise InvalidEmail(verdict.problem or "This is not a domain.")
    return verdict.ascii_domain.lower()


def email_domain(address: str) -> str:
    """The domain of a stored (normalised) address, lowercase: 'Jane@Example.com' → 'example.com'."""
    return address.rpartition("@")[2].lower()


def email_key(normalized: str) -> str:
    """The case-insensitive identity of a stored address: what uniqueness and matching use."""
    return normalized.casefold()
