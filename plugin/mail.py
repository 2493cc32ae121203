"""Mail headers → MessageVerdict: who wrote a message to support, or why nobody from it becomes a contact.

The IMAP adapter fetches only `fetch_header_fields(loop_header)` with BODY.PEEK and hands each header
block here. Parsing is deliberately narrow: a header block is split into fields with one regular
expression, only the address fields go through `email.utils.getaddresses`, and RFC 2047 decoding runs
only on display names that contain an encoded word. The email package's default policy reads the same
fields about ten times slower, which would make classification, not the server, the bottleneck.

Rules, in the order they are checked (the first that matches is the reason recorded):

1. loop: the helpdesk's own loop header is present (it stamps mail it sends).
2. spam: X-Spam-Flag: YES.
3. bounce: Content-Type multipart/report, or a MAILER-DAEMON or postmaster as From or Sender.
4. auto_reply: Auto-Submitted other than "no", X-Autoreply, X-Autorespond. A subject such as
   "Out of office" is not enough on its own and is not even fetched.
5. bounce: Return-Path <> (checked after auto_reply: RFC 3834 auto-responders also send with a null path).
6. list: List-Id, List-Unsubscribe, List-Post, X-Mailman-Version, Precedence bulk/junk/list, or a list
   robot as From or Sender (`-request`, `-owner`, `-bounces`, `owner-`).
7. no_sender / invalid_address: the author is From, or Sender when From lists several addresses.
8. own_address / noreply: the author is one of the mailbox's own addresses or a no-reply address; then,
   and only then, the first Reply-To address is the author instead (web forms send that way).
9. agent: the author is one of the helpdesk's agents.
10. invalid_value (when storing: plugin.mail_customers): a CSV row would refuse the new author's cells.

Addresses are compared by `email_key(normalize_email(address))`: build `own_addresses` with
`address_keys()` and give `agent_addresses` the same keys (a set, or anything with `in`).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.errors import HeaderParseError
from email.header import decode_header
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum
from functools import lru_cache

from plugin.emails import InvalidEmail, email_key, normalize_email

WRITTEN_AUTHOR_MAX = 320  # the longest address a mailbox can have, and what mail_skips.email holds

HEADER_FIELDS: tuple[str, ...] = (
    "From",
    "Sender",
    "Reply-To",
    "Date",
    "Message-ID",
    "Return-Path",
    "Content-Type",
    "Auto-Submitted",
    "X-Autoreply",
    "X-Autorespond",
    "Precedence",
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "X-Mailman-Version",
    "X-Spam-Flag",
)
"""Every header field `classify_message` reads but the loop header (a setting): see fetch_header_fields."""

_DETAIL_MAX = 80
_NOREPLY = re.compile(r"(?:^|[-_.+])(?:do[-_.]?not|no)[-_.]?reply(?:$|[-_.+])", re.IGNORECASE)
_LIST_ROBOT = re.compile(r"(?:-(?:request|owner|bounces)$|^owner-)", re.IGNORECASE)
_BOUNCE_ROBOTS = frozenset({"mailer-daemon", "postmaster"})
_ADDR_SPEC = r"[^\s\"(),:;<>@\[\\\]]+@[^\s\"(),:;<>@\[\\\]]+"
_SIMPLE_ADDRESS = re.compile(
    rf'[ \t]*(?:(?:"([^"\\]*)"|([^"(),:;<>@\[\\\]]*?))[ \t]*<({_ADDR_SPEC})>|({_ADDR_SPEC}))[ \t]*'
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_COMMON_DATE = re.compile(
    r"(?:[A-Z][a-z]{2}, ?)?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4})"
    r" (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})(?![\d:])"
)
_ADDRESS_LIKE = re.compile(r"\S@\S")
_LIST_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_AUTO_REPLY_FIELDS = (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond"))
_LIST_FIELDS = (
    ("list-id", "List-Id"),
    ("list-unsubscribe", "List-Unsubscribe"),
    ("list-post", "List-Post"),
    ("x-mailman-version", "X-Mailman-Version"),
)
_NAME_QUOTES = "\"' \t"
_SURNAME_PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ter",
        "ten",
    }
)


class SkipReason(StrEnum):
    """Why a message's author does not become a contact; the values are what `mailbox poll --json` shows."""

    OWN_ADDRESS = "own_address"
    AGENT = "agent"
    LOOP = "loop"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LIST = "list"
    NOREPLY = "noreply"
    SPAM = "spam"
    NO_SENDER = "no_sender"
    INVALID_ADDRESS = "invalid_address"
    INVALID_VALUE = "invalid_value"  # the author's cells are refused as a CSV row's would be (plugin.mail_customers)


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    """The author of one message as a contact, or the reason there is none.

    Exactly one of `email` and `skip` is set. `message_id` and `date` are read for every message, as
    the contact's source; `date` is None when the Date field is missing or unreadable.
    """

    email: str | None  # normalised (normalize_email); None when skipped
    first_name: str | None
    last_name: str | None
    message_id: str | None
    date: datetime | None  # timezone-aware; a "-0000" zone is read as UTC
    skip: SkipReason | None = None
    detail: str = ""  # one phrase an admin can read: "Content-Type multipart/report"
    # of a skipped message: its first From (else Sender) address as written, lowercased, so an admin can
    # look up why someone is missing; None when there is none
    written_author: str | None = None

    @property
    def is_contact(self) -> bool:
        return self.skip is None


def fetch_header_fields(loop_header: str) -> tuple[str, ...]:
    """The header fields the IMAP fetch asks for: HEADER_FIELDS plus the helpdesk's loop header."""
    if loop_header.lower() in (name.lower() for name in HEADER_FIELDS):
        return HEADER_FIELDS
    return (*HEADER_FIELDS, loop_header)


def address_keys(addresses: Iterable[str]) -> frozenset[str]:
    """The comparison keys of some addresses, e.g. a mailbox's own; raises InvalidEmail for a bad one."""
    return frozenset(email_key(normalize_email(address)) for address in addresses)


def classify_message(
    header_bytes: bytes,
    *,
    own_addresses: frozenset[str],
    agent_addresses: Container[str],
    loop_header: str,
) -> MessageVerdict:
    """Decide who, if anyone, becomes a contact from one message's header block (raw bytes, as fetched).

    `own_addresses` and `agent_addresses` hold address keys (see `address_keys`). Never raises for
    malformed input: an unreadable author is a verdict (no_sender or invalid_address) like any other.
    """
    fields = _parse_fields(header_bytes)
    message_id = _message_id(fields.get("message-id"))
    date = _date(fields.get("date"))

    from_addresses = _distinct(_addresses(fields.get("from")))
    sender_addresses = _addresses(fields.get("sender"))

    def skipped(reason: SkipReason, detail: str) -> MessageVerdict:
        written = (from_addresses or sender_addresses or [("", "")])[0][1].strip().lower()[:WRITTEN_AUTHOR_MAX]
        return MessageVerdict(None, None, None, message_id, date, reason, detail, written or None)

    reason = _reason_in_headers(fields, loop_header, from_addresses[:1] + sender_addresses[:1])
    if reason is not None:
        return skipped(*reason)
    if len(from_addresses) == 1:
        author, author_field = from_addresses[0], "From"
    elif from_addresses and sender_addresses:
        author, author_field = sender_addresses[0], "Sender"
    elif from_addresses:
        return skipped(
            SkipReason.NO_SENDER, f"From lists {len(from_addresses)} addresses and there is no Sender"
        )
    else:
        return skipped(SkipReason.NO_SENDER, "no From address")

    try:
        email = normalize_email(author[1])
    except InvalidEmail as error:
        return skipped(SkipReason.INVALID_ADDRESS, _clip(f"{author_field}: {error}"))
    stand_in = _stand_in_reason(email, author_field, own_addresses)
    if stand_in is not None:
        reply_to = _addresses(fields.get("reply-to"))
        if not reply_to:
            return skipped(*stand_in)
        author, author_field = reply_to[0], "Reply-To"
        try:
            email = normalize_email(author[1])
        except InvalidEmail as error:
            return skipped(SkipReason.INVALID_ADDRESS, _clip(f"{author_field}: {error}"))
        if _stand_in_reason(email, author_field, own_addresses) is not None:
            return skipped(*stand_in)
    if email_key(email) in agent_addresses:
        return skipped(SkipReason.AGENT, f"{author_field} is an agent")
    first_name, last_name = split_name(author[0])
    return MessageVerdict(email, first_name, last_name, message_id, date)


def split_name(display_name: str) -> tuple[str | None, str | None]:
    """A display name (RFC 2047 words allowed) as (first, last); "Doe, John" is last, first.

    A name that is empty or contains an address gives (None, None); a single word is a first name.
    Lowercase particles start the last name: "Maria de la Cruz" → ("Maria", "de la Cruz").
    """
    name = " ".join(_decode_words(display_name).split()).strip(_NAME_QUOTES)
    if not name or _ADDRESS_LIKE.search(name):
        return None, None
    if "," in name:
        last, _, first = name.partition(",")
        return (first.strip(_NAME_QUOTES) or None), (last.strip(_NAME_QUOTES) or None)
    words = name.split(" ")
    if len(words) == 1:
        return name, None
    split_at = len(words) - 1
    for index in range(1, len(words) - 1):
        if words[index] in _SURNAME_PARTICLES:
            split_at = index
            break
    return " ".join(words[:split_at]), " ".join(words[split_at:])


def _parse_fields(header_bytes: bytes) -> dict[str, str]:
    """Field name (lowercase) → unfolded value of its first occurrence; stops at the first blank line."""
    try:
        text = header_bytes.decode("utf-8")
    except UnicodeDecodeError:
        text = header_bytes.decode("latin-1")  # 8-bit headers in a legacy charset; never fails
    text = text.replace("\r\n", "\n")
    end = 0 if text.startswith("\n") else text.find("\n\n")
    if end >= 0:
        text = text[:end]
    if "\n " in text or "\n\t" in text:
        text = text.replace("\n ", " ").replace("\n\t", "\t")  # unfolding removes the line break only
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            name = name.rstrip(" \t").lower()
            if name not in fields:
                fields[name] = value.strip()
    return fields


def _reason_in_headers(
    fields: dict[str, str], loop_header: str, senders: list[tuple[str, str]]
) -> tuple[SkipReason, str] | None:
    """The skip reasons that do not depend on who the author is: loop, spam, bounce, auto_reply, list.

    `senders` are the first From and the first Sender address, checked for mail system robots.
    """
    if loop_header.lower() in fields:
        return SkipReason.LOOP, _clip(f"{loop_header} present")
    if fields.get("x-spam-flag", "").upper() == "YES":
        return SkipReason.SPAM, "X-Spam-Flag YES"
    content_type = fields.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "multipart/report":
        return SkipReason.BOUNCE, "Content-Type multipart/report"
    local_parts = [(address.rpartition("@")[0].lower(), address) for _, address in senders]
    for local_part, address in local_parts:
        if local_part in _BOUNCE_ROBOTS:
            return SkipReason.BOUNCE, _clip(f"sender {address}")
    auto_submitted = fields.get("auto-submitted", "").partition(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return SkipReason.AUTO_REPLY, _clip(f"Auto-Submitted {auto_submitted}")
    for name, label in _AUTO_REPLY_FIELDS:
        if name in fields:
            return SkipReason.AUTO_REPLY, f"{label} present"
    if fields.get("return-path", "").replace(" ", "") == "<>":
        return SkipReason.BOUNCE, "Return-Path <>"
    for name, label in _LIST_FIELDS:
        if name in fields:
            return SkipReason.LIST, f"{label} present"
    precedence = fields.get("precedence", "").strip().lower()
    if precedence in _LIST_PRECEDENCE:
        return SkipReason.LIST, f"Precedence {precedence}"
    for local_part, address in local_parts:
        if _LIST_ROBOT.search(local_part.partition("+")[0]):
            return SkipReason.LIST, _clip(f"list robot sender {address}")
    return None


def _stand_in_reason(email: str, field: str, own_addresses: frozenset[str]) -> tuple[SkipReason, str] | None:
    """own_address or noreply: an author a web form or the helpdesk itself writes in place of a person."""
    if email_key(email) in own_addresses:
        return SkipReason.OWN_ADDRESS, f"{field} is one of the mailbox's own addresses"
    local_part, _, domain = email.rpartition("@")
    if _NOREPLY.search(local_part) or any(_NOREPLY.fullmatch(label) for label in domain.split(".")):
        return SkipReason.NOREPLY, _clip(f"{field} {email} is a no-reply address")
    return None


def _addresses(value: str | None) -> list[tuple[str, str]]:
    """(display name, address) pairs of an address field, without empty entries (groups, "<>").

    The usual shapes (`addr`, `<addr>`, `Name <addr>`, `"Name" <addr>`) are read by one pattern, with
    getaddresses' result; anything else (comments, several addresses, escapes) goes to getaddresses.
    """
    if not value:
        return []
    simple = _SIMPLE_ADDRESS.fullmatch(value)
    if simple is not None:
        quoted, plain, angled, bare = simple.groups()
        if bare is not None:
            return [("", bare)]
        return [(quoted if quoted is not None else " ".join(plain.split()), angled)]
    return [(name, address) for name, address in getaddresses([value]) if address]


def _distinct(addresses: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One entry per address: an unquoted `From: a@example.org <a@example.org>` reads as two."""
    if len(addresses) < 2:
        return addresses
    seen: dict[str, tuple[str, str]] = {}
    for name, address in addresses:
        seen.setdefault(address.lower(), (name, address))
    return list(seen.values())


def _decode_words(text: str) -> str:
    """RFC 2047 encoded words decoded; text without any is returned as it is."""
    if "=?" not in text:
        return text
    try:
        parts = decode_header(text)
    except HeaderParseError:
        return text
    decoded = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            decoded.append(chunk)
            continue
        try:
            decoded.append(chunk.decode(charset or "raw-unicode-escape", errors="replace"))
        except (LookupError, ValueError):  # an unknown charset, or a codec that is not for text
            decoded.append(chunk.decode("utf-8", errors="replace"))
    return "".join(decoded)


def _message_id(value: str | None) -> str | None:
    if not value:
        return None
    return value.split()[0]


def _date(value: str | None) -> datetime | None:
    """The Date field as an aware datetime; the common RFC 5322 shape is read without the email package."""
    if not value:
        return None
    common = _COMMON_DATE.match(value)
    try:
        if common is None:
            parsed = parsedate_to_datetime(value)
        else:
            day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = common.groups()
            offset = int(zone_hours) * 60 + int(zone_minutes)
            parsed = datetime(
                int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second),
                tzinfo=_zone(-offset if sign == "-" else offset),
            )  # fmt: skip
    except (TypeError, ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed


@lru_cache(maxsize=128)
def _zone(minutes: int) -> timezone:
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _clip(detail: str) -> str:
    return detail if len(detail) <= _DETAIL_MAX else detail[: _DETAIL_MAX - 1] + "…"
