"""classify_message: who becomes a contact from a header block, and why the others do not; and how an author
becomes a customers row (plugin.mail_customers)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.mail import (
    HEADER_FIELDS,
    MessageVerdict,
    SkipReason,
    address_keys,
    classify_message,
    fetch_header_fields,
    split_name,
)
from plugin.kinds import Catalog
from plugin.kinds.customers import CUSTOMERS
from plugin.mail import _addresses as read_addresses
from plugin.mail import _date as read_date
from plugin.mail_customers import AuthorPlanner, MailAuthor, Refusal
from plugin.plan import Action, Existing, PlannedRow

OWN = address_keys(["support@example.com", "Help@Example.com"])
AGENTS = address_keys(["agent.smith@example.com"])
LOOP = "X-Contact-Importer-Loop"


def classify(raw: bytes) -> MessageVerdict:
    return classify_message(raw, own_addresses=OWN, agent_addresses=AGENTS, loop_header=LOOP)


AUTHORS = [
    pytest.param(b"From: jdoe@example.org\r\n\r\n", "jdoe@example.org", id="bare-address"),
    pytest.param(b"From: John Doe <JDoe@Example.ORG>\r\n\r\n", "JDoe@example.org", id="domain-lowercased"),
    pytest.param(
        b"From: a@example.org, b@example.org\r\nSender: b@example.org\r\n\r\n",
        "b@example.org",
        id="several-from-uses-sender",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nSender: assistant@example.org\r\n\r\n",
        "jdoe@example.org",
        id="one-from-ignores-sender",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nTo: other@example.org\r\nCc: third@example.org\r\n\r\n",
        "jdoe@example.org",
        id="never-to-or-cc",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nReply-To: elsewhere@example.org\r\n\r\n",
        "jdoe@example.org",
        id="reply-to-ignored-for-a-person",
    ),
    pytest.param(
        b"From: Website <noreply@example.com>\r\nReply-To: Jane Roe <jane@example.org>\r\n\r\n",
        "jane@example.org",
        id="reply-to-used-for-noreply-from",
    ),
    pytest.param(
        b"From: support@example.com\r\nReply-To: jane@example.org\r\n\r\n",
        "jane@example.org",
        id="reply-to-used-for-own-from",
    ),
    pytest.param(b"From: jdoe@xn--bcher-kva.example\r\n\r\n", "jdoe@xn--bcher-kva.example", id="idna-kept"),
    pytest.param(
        "From: jdoe@bücher.example\r\n\r\n".encode(), "jdoe@xn--bcher-kva.example", id="idna-encoded"
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nAuto-Submitted: no\r\n\r\n", "jdoe@example.org", id="auto-submitted-no"
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nSubject: Out of office\r\n\r\n",
        "jdoe@example.org",
        id="out-of-office-subject-alone",
    ),
    pytest.param(b"From: jdoe@example.org\r\nX-Spam-Flag: NO\r\n\r\n", "jdoe@example.org", id="spam-flag-no"),
    pytest.param(
        b"From: jdoe@example.org\r\nPrecedence: first-class\r\n\r\n",
        "jdoe@example.org",
        id="other-precedence",
    ),
    pytest.param(b"From: jdoe@example.org\n\n", "jdoe@example.org", id="bare-newlines"),
    pytest.param(b"FROM:jdoe@example.org\r\n\r\n", "jdoe@example.org", id="field-name-any-case"),
    pytest.param(
        b"From: reply.norton@example.org\r\n\r\n", "reply.norton@example.org", id="reply-not-noreply"
    ),
    pytest.param(b"From: owner@example.org\r\n\r\n", "owner@example.org", id="owner-is-a-person"),
]


@pytest.mark.parametrize(("raw", "email"), AUTHORS)
def test_the_author_becomes_the_contact(raw: bytes, email: str) -> None:
    verdict = classify(raw)
    assert (verdict.skip, verdict.detail, verdict.email) == (None, "", email)
    assert verdict.is_contact


SKIPS = [
    pytest.param(b"From: support@example.com\r\n\r\n", SkipReason.OWN_ADDRESS, "From is one of", id="own"),
    pytest.param(
        b"From: HELP@example.com\r\n\r\n", SkipReason.OWN_ADDRESS, "From is one of", id="own-any-case"
    ),
    pytest.param(
        b"From: support@example.com\r\nReply-To: help@example.com\r\n\r\n",
        SkipReason.OWN_ADDRESS,
        "From is one of",
        id="own-with-own-reply-to",
    ),
    pytest.param(b"From: Agent.Smith@example.com\r\n\r\n", SkipReason.AGENT, "From is an agent", id="agent"),
    pytest.param(
        b"From: noreply@example.com\r\nReply-To: agent.smith@example.com\r\n\r\n",
        SkipReason.AGENT,
        "Reply-To is an agent",
        id="agent-in-reply-to",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nX-Contact-Importer-Loop: 1\r\n\r\n",
        SkipReason.LOOP,
        "X-Contact-Importer-Loop present",
        id="loop",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nx-contact-importer-LOOP: yes\r\n\r\n",
        SkipReason.LOOP,
        "X-Contact-Importer-Loop present",
        id="loop-any-case",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\n",
        SkipReason.AUTO_REPLY,
        "Auto-Submitted auto-replied",
        id="auto-submitted-replied",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nAuto-Submitted: Auto-Generated; type=x\r\n\r\n",
        SkipReason.AUTO_REPLY,
        "Auto-Submitted auto-generated",
        id="auto-submitted-generated",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nX-Autoreply: yes\r\n\r\n",
        SkipReason.AUTO_REPLY,
        "X-Autoreply present",
        id="x-autoreply",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nX-Autorespond: Vacation\r\n\r\n",
        SkipReason.AUTO_REPLY,
        "X-Autorespond present",
        id="x-autorespond",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nReturn-Path: <>\r\n\r\n",
        SkipReason.BOUNCE,
        "Return-Path <>",
        id="null-path",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nContent-Type: multipart/report;\r\n report-type=delivery-status;"
        b" boundary=x\r\n\r\n",
        SkipReason.BOUNCE,
        "Content-Type multipart/report",
        id="multipart-report",
    ),
    pytest.param(
        b"From: Mail Delivery System <MAILER-DAEMON@example.org>\r\n\r\n",
        SkipReason.BOUNCE,
        "sender MAILER-DAEMON@example.org",
        id="mailer-daemon",
    ),
    pytest.param(
        b"From: postmaster@example.org\r\nAuto-Submitted: auto-replied\r\n\r\n",
        SkipReason.BOUNCE,
        "sender postmaster@example.org",
        id="postmaster-before-auto-reply",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nAuto-Submitted: auto-replied\r\nReturn-Path: <>\r\n\r\n",
        SkipReason.AUTO_REPLY,
        "Auto-Submitted auto-replied",
        id="auto-reply-with-null-path",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nList-Id: Users <users.lists.example.org>\r\n\r\n",
        SkipReason.LIST,
        "List-Id present",
        id="list-id",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nList-Unsubscribe: <mailto:u@example.org>\r\n\r\n",
        SkipReason.LIST,
        "List-Unsubscribe present",
        id="list-unsubscribe",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nList-Post: <mailto:users@example.org>\r\n\r\n",
        SkipReason.LIST,
        "List-Post present",
        id="list-post",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nPrecedence: Bulk\r\n\r\n", SkipReason.LIST, "Precedence bulk", id="bulk"
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nPrecedence: junk\r\n\r\n", SkipReason.LIST, "Precedence junk", id="junk"
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nPrecedence: list\r\n\r\n", SkipReason.LIST, "Precedence list", id="list"
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nX-Mailman-Version: 2.1.39\r\n\r\n",
        SkipReason.LIST,
        "X-Mailman-Version present",
        id="mailman",
    ),
    pytest.param(
        b"From: users-request@example.org\r\n\r\n",
        SkipReason.LIST,
        "list robot sender users-request@example.org",
        id="request",
    ),
    pytest.param(b"From: users-owner@example.org\r\n\r\n", SkipReason.LIST, "list robot sender", id="-owner"),
    pytest.param(b"From: owner-users@example.org\r\n\r\n", SkipReason.LIST, "list robot sender", id="owner-"),
    pytest.param(
        b"From: users-bounces+jdoe=example.org@example.org\r\n\r\n",
        SkipReason.LIST,
        "list robot sender",
        id="bounces-verp",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nSender: users-bounces@example.org\r\n\r\n",
        SkipReason.LIST,
        "list robot sender users-bounces@example.org",
        id="robot-in-sender",
    ),
    pytest.param(b"From: noreply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply address", id="noreply"),
    pytest.param(b"From: No-Reply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="No-Reply"),
    pytest.param(b"From: DoNotReply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="DoNotReply"),
    pytest.param(
        b"From: do-not-reply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="do-not-reply"
    ),
    pytest.param(
        b"From: do_not_reply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="do_not_reply"
    ),
    pytest.param(b"From: no_reply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="no_reply"),
    pytest.param(b"From: no.reply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="no.reply"),
    pytest.param(b"From: billing-noreply@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="suffix"),
    pytest.param(b"From: noreply+42@example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="plus-tag"),
    pytest.param(b"From: alerts@noreply.example.com\r\n\r\n", SkipReason.NOREPLY, "no-reply", id="domain"),
    pytest.param(
        b"From: noreply@example.com\r\nReply-To: donotreply@example.org\r\n\r\n",
        SkipReason.NOREPLY,
        "From noreply@example.com is a no-reply address",
        id="noreply-reply-to-too",
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nX-Spam-Flag: YES\r\n\r\n", SkipReason.SPAM, "X-Spam-Flag YES", id="spam"
    ),
    pytest.param(
        b"From: jdoe@example.org\r\nX-Spam-Flag: yes\r\n\r\n", SkipReason.SPAM, "", id="spam-any-case"
    ),
    pytest.param(b"Subject: hello\r\n\r\n", SkipReason.NO_SENDER, "no From address", id="no-from"),
    pytest.param(b"From: undisclosed-recipients:;\r\n\r\n", SkipReason.NO_SENDER, "no From", id="group"),
    pytest.param(b"From: <>\r\n\r\n", SkipReason.NO_SENDER, "no From address", id="empty-angle"),
    pytest.param(b"", SkipReason.NO_SENDER, "no From address", id="empty"),
    pytest.param(
        b"\r\nFrom: jdoe@example.org\r\n", SkipReason.NO_SENDER, "no From address", id="from-after-blank-line"
    ),
    pytest.param(
        b"From: a@example.org, b@example.org\r\n\r\n",
        SkipReason.NO_SENDER,
        "From lists 2 addresses and there is no Sender",
        id="several-from-no-sender",
    ),
    pytest.param(b"From: John Doe\r\n\r\n", SkipReason.INVALID_ADDRESS, "From: ", id="no-at-sign"),
    pytest.param(
        b"From: jdoe@localhost\r\n\r\n", SkipReason.INVALID_ADDRESS, "From: ", id="special-use-domain"
    ),
    pytest.param(
        b"From: noreply@example.com\r\nReply-To: not an address\r\n\r\n",
        SkipReason.INVALID_ADDRESS,
        "Reply-To: ",
        id="invalid-reply-to",
    ),
]


@pytest.mark.parametrize(("raw", "reason", "detail"), SKIPS)
def test_skipped_messages_say_why(raw: bytes, reason: SkipReason, detail: str) -> None:
    verdict = classify(raw)
    assert (verdict.skip, verdict.email, verdict.first_name, verdict.last_name) == (reason, None, None, None)
    assert detail in verdict.detail
    assert not verdict.is_contact


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        pytest.param(b"From: Auto <Robot@Example.ORG>\r\nAuto-Submitted: auto-replied", "robot@example.org", id="from"),
        pytest.param(b"From: a@example.org, b@example.org", "a@example.org", id="first-of-several"),
        pytest.param(b"Sender: Owner <list-owner@example.org>\r\nList-Id: <x.example.org>", "list-owner@example.org",
                     id="sender-without-from"),
        pytest.param(b"Subject: nobody wrote this", None, id="no-author"),
    ],
)
def test_a_skipped_message_keeps_its_author_as_written(raw: bytes, written: str | None) -> None:
    """So that `mailbox skips --email` finds why someone is missing."""
    verdict = classify(raw)
    assert verdict.skip is not None
    assert verdict.written_author == written


def test_a_contact_verdict_has_no_written_author() -> None:
    assert classify(b"From: Jane <jane@example.org>").written_author is None


NAMES = [
    pytest.param(b"From: John Doe <jdoe@example.org>", "John", "Doe", id="display-name"),
    pytest.param(b'From: "Doe, John" <jdoe@example.org>', "John", "Doe", id="last-comma-first"),
    pytest.param(b"From: jdoe@example.org (John X. Doe)", "John X.", "Doe", id="comment-form"),
    pytest.param(
        b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.org>", "Jürgen", "Müller", id="q-word"
    ),
    pytest.param(
        b"From: =?UTF-8?B?w4lsb2RpZQ==?= Dupont <ed@example.org>", "Élodie", "Dupont", id="b-word-and-text"
    ),
    pytest.param(b"From: =?utf-8?q?Doe=2C_John?= <jdoe@example.org>", "John", "Doe", id="encoded-comma"),
    pytest.param(b"From: =?iso-8859-1?q?Ren=E9?= <r@example.org>", "René", None, id="latin1-one-word"),
    pytest.param("From: Zoë Saldaña <zs@example.org>".encode(), "Zoë", "Saldaña", id="raw-utf8"),
    pytest.param("From: Zoë Saldaña <zs@example.org>".encode("latin-1"), "Zoë", "Saldaña", id="raw-latin1"),
    pytest.param(b"From: Maria de la Cruz <m@example.org>", "Maria", "de la Cruz", id="particle"),
    pytest.param(b"From: '  John   Doe ' <jdoe@example.org>", "John", "Doe", id="quotes-and-spaces"),
    pytest.param(b'From: "jdoe@example.org" <jdoe@example.org>', None, None, id="name-is-an-address"),
    pytest.param(b"From: jdoe@example.org <jdoe@example.org>", None, None, id="unquoted-name-is-an-address"),
    pytest.param(b'From: "jdoe@example.org via Form" <jdoe@example.org>', None, None, id="name-has-address"),
    pytest.param(b'From: "" <jdoe@example.org>', None, None, id="empty-name"),
    pytest.param(b"From: jdoe@example.org", None, None, id="no-name"),
    pytest.param(b"From: =?x-unknown?q?Ann?= <ann@example.org>", "Ann", None, id="unknown-charset"),
    pytest.param(b"From: =?utf-8?b?!!!?= <ann@example.org>", None, None, id="broken-base64"),
    pytest.param(
        b"From: Web Form <noreply@example.com>\r\nReply-To: Jane Roe <jane@example.org>",
        "Jane",
        "Roe",
        id="name-from-reply-to",
    ),
]


@pytest.mark.parametrize(("raw", "first", "last"), NAMES)
def test_names_come_from_the_display_name(raw: bytes, first: str | None, last: str | None) -> None:
    verdict = classify(raw + b"\r\n\r\n")
    assert verdict.skip is None
    assert (verdict.first_name, verdict.last_name) == (first, last)


def test_folded_fields_are_unfolded() -> None:
    verdict = classify(
        b"From: John\r\n Doe\r\n <jdoe@example.org>\r\nList-Id:\r\n\tUsers <u.example.org>\r\n\r\n"
    )
    assert (verdict.skip, verdict.detail) == (SkipReason.LIST, "List-Id present")
    assert split_name("John\r\n Doe") == ("John", "Doe")


def test_message_id_and_date_are_kept_for_every_verdict() -> None:
    raw = b"From: noreply@example.com\r\nMessage-ID: <abc@example.org>\r\nDate: Tue, 3 Mar 2026 10:00:00 +0100\r\n\r\n"
    verdict = classify(raw)
    assert verdict.skip is SkipReason.NOREPLY
    assert verdict.message_id == "<abc@example.org>"
    assert verdict.date == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("date_field", "expected"),
    [
        (b"Date: Tue, 3 Mar 2026 10:00:00 -0000", datetime(2026, 3, 3, 10, 0, tzinfo=UTC)),
        (b"Date: yesterday", None),
        (b"Date:", None),
        (b"X-Nothing: 1", None),
    ],
)
def test_an_unreadable_date_is_none(date_field: bytes, expected: datetime | None) -> None:
    assert classify(b"From: jdoe@example.org\r\n" + date_field + b"\r\n\r\n").date == expected


def test_fetch_asks_for_the_loop_header_once() -> None:
    assert fetch_header_fields(LOOP) == (*HEADER_FIELDS, LOOP)
    assert fetch_header_fields("list-id") == HEADER_FIELDS
    assert {"From", "Sender", "Reply-To", "Content-Type", "Return-Path"} <= set(HEADER_FIELDS)


def test_skip_reasons_are_exactly_the_documented_ones() -> None:
    assert {reason.value for reason in SkipReason} == {
        "own_address", "agent", "loop", "auto_reply", "bounce", "list", "noreply", "spam", "no_sender",
        "invalid_address", "invalid_value",
    }  # fmt: skip


HEADERISH = st.lists(
    st.tuples(
        st.sampled_from([*HEADER_FIELDS, LOOP, "To", "Subject", "From"]),
        st.one_of(
            st.binary(max_size=60),
            st.text(max_size=60).map(lambda text: text.encode("utf-8", "surrogatepass")),
            st.sampled_from(
                [b"=?utf-8?q?=C3?=", b"=?idna?q?x?=", b"<>", b"a@b, c@d", b'"x" <@>', b"(", b"<"]
            ),
        ),
    ),
    max_size=8,
).map(lambda fields: b"".join(name.encode() + b": " + value + b"\r\n" for name, value in fields) + b"\r\n")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=400), HEADERISH))
def test_any_bytes_give_a_verdict(raw: bytes) -> None:
    verdict = classify(raw)
    assert (verdict.email is None) == (verdict.skip is not None)
    assert verdict.skip is None or verdict.detail


TRICKY = st.text(alphabet=st.sampled_from(list("ab. \"<>@()\\,;:\tZ=?ü'")), max_size=8)
ADDRESS_TEXT = st.one_of(
    TRICKY.map(lambda text: text * 2),
    st.builds(
        "{}{}{}{}@{}{}".format,
        st.sampled_from(["", '"', " "]),
        st.one_of(st.text(alphabet="abZ. =?\tü'", max_size=8), TRICKY),
        st.sampled_from(["", '" <', " <", "<"]),
        st.one_of(st.text(alphabet="ab.+_-'=?ü", max_size=8), TRICKY),
        st.one_of(st.text(alphabet="ab.-ü", max_size=8), TRICKY),
        st.sampled_from(["", ">", "> ", ">,"]),
    ),
)


@settings(max_examples=2000, deadline=None)
@given(ADDRESS_TEXT)
def test_the_address_fast_path_reads_like_getaddresses(value: str) -> None:
    expected = [(" ".join(name.split()), address) for name, address in getaddresses([value]) if address]
    assert [(" ".join(name.split()), address) for name, address in read_addresses(value)] == expected


@settings(max_examples=1000, deadline=None)
@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(min_value=-1439, max_value=1439),
    st.sampled_from(["", "Tue, ", "Wed,", " (CET)"]),
)
def test_the_date_fast_path_reads_like_the_email_package(moment: datetime, zone: int, extra: str) -> None:
    sign = "-" if zone < 0 else "+"
    text = moment.strftime(f"%d %b %Y %H:%M:%S {sign}{abs(zone) // 60:02d}{abs(zone) % 60:02d}")
    text = extra + text if extra.endswith((",", " ")) else text + extra
    expected = parsedate_to_datetime(text)
    if expected.tzinfo is None:  # "-0000": no zone information, read as UTC
        expected = expected.replace(tzinfo=UTC)
    read = read_date(text)
    assert (read, read.utcoffset()) == (expected, expected.utcoffset())


# ---- a captured author is a customers row: the CSV path's validation and planner (plugin.mail_customers)

MAILBOX_OPTIONS = {"default_labels": ("From-mail",), "create_labels": True, "free_mail_domains": ()}


def author(first: str | None, last: str | None = None, *, uid: int = 1, email: str = "jane@example.org") -> MailAuthor:
    return MailAuthor(uid, 1000 + uid, email, first, last, "<1@example.org>", None)


def planned(*authors: MailAuthor) -> tuple[list[PlannedRow], list[Refusal]]:
    planner = AuthorPlanner(CUSTOMERS, Catalog(label_ids={"From-mail": 1}), MAILBOX_OPTIONS)
    return planner.plan([planner.validate(each) for each in authors], existing={})


def test_a_nul_in_an_encoded_display_name_is_removed_as_a_csv_name_s_control_characters_are() -> None:
    verdict = classify(b"From: =?UTF-8?Q?Evil=00Name?= <evil@example.org>\r\n\r\n")
    assert verdict.first_name == "Evil\x00Name"  # the classifier reads the name as written...
    assert verdict.email is not None
    (row,), refused = planned(author(verdict.first_name, email=verdict.email))
    assert (row.values["first_name"], row.values["labels"], refused) == ("EvilName", frozenset({"From-mail"}), [])


@pytest.mark.parametrize("length", [201, 500_000])
def test_a_display_name_longer_than_a_csv_name_may_be_is_a_skip_with_its_reason(length: int) -> None:
    created, (refusal,) = planned(author("J" * length, uid=7))
    assert (created, refusal.row, refusal.reason) == ([], 7, SkipReason.INVALID_VALUE)
    assert refusal.detail == f"first_name: name.too_long: This name is {length} characters long; at most 200 fit."


def test_a_later_message_of_a_refused_author_creates_them_and_their_other_mail_is_theirs() -> None:
    created, refused = planned(author("=cmd|calc", uid=1), author("Jane", "Roe", uid=2), author("Again", uid=3))
    assert [(row.row, row.action, row.values["first_name"]) for row in created] == [(2, Action.CREATED, "Jane")]
    assert [(refusal.row, refusal.detail.split(":")[1].strip()) for refusal in refused] == [(1, "cell.formula")]


def test_an_author_without_a_display_name_still_becomes_a_customer() -> None:
    (row,), refused = planned(author(None))
    assert (row.values.get("first_name"), row.key, refused) == (None, "jane@example.org", [])


def test_a_stored_author_is_neither_planned_nor_refused() -> None:
    planner = AuthorPlanner(CUSTOMERS, Catalog(), MAILBOX_OPTIONS)
    stored = Existing(5, "jane@example.org", {"email": "jane@example.org"})
    assert planner.plan([planner.validate(author("J" * 300))], existing={"jane@example.org": stored}) == ([], [])
