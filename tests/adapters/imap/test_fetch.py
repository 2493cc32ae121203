"""Fetching and watching a real Dovecot mailbox: positions, batches, read-only, IDLE, lost connections."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, timedelta

import pytest

from adapters.imap import (
    Backoff,
    HeaderBatch,
    MailboxAccount,
    MailboxError,
    MailboxErrorCode,
    MailboxPosition,
    fetch_new_headers,
    open_mailbox,
    watch_mailbox,
)
from plugin.mail import SkipReason, address_keys, classify_message, fetch_header_fields
from tests.adapters.imap.conftest import ImapServer

pytestmark = pytest.mark.imap

LOOP = "X-Contact-Importer-Loop"
FIELDS = fetch_header_fields(LOOP)
SINCE = date.today() - timedelta(days=30)


def message(number: int, *, sender: bytes = b"Customer <customer@example.org>", extra: bytes = b"") -> bytes:
    return (
        b"From: " + sender + b"\nTo: support@example.com\nSubject: Question " + str(number).encode()
        + b"\nMessage-ID: <" + str(number).encode() + b"@example.org>\n" + extra + b"\nBody " + b"x" * 200 + b"\n"
    )  # fmt: skip


def fetch_all(account: MailboxAccount, position: MailboxPosition | None, **options: int) -> list[HeaderBatch]:
    with open_mailbox(account) as mailbox:
        return list(fetch_new_headers(mailbox, position, since=SINCE, fields=FIELDS, **options))


def next_within(batches: Iterator[HeaderBatch], seconds: float) -> HeaderBatch:
    """The watcher's next batch, failing the test instead of hanging it when none comes."""
    arrived: list[HeaderBatch] = []
    waiter = threading.Thread(target=lambda: arrived.append(next(batches)), daemon=True)
    waiter.start()
    waiter.join(seconds)
    assert arrived, f"no batch within {seconds} s"
    return arrived[0]


def uids(batches: list[HeaderBatch]) -> list[int]:
    return [uid for batch in batches for uid, _ in batch.headers]


def test_new_messages_arrive_in_batches_with_the_position_after_each(
    imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, *(message(number) for number in range(7)))
    batches = fetch_all(imap_server.account(folder), None, batch_size=3)
    assert [[uid for uid, _ in batch.headers] for batch in batches] == [[1, 2, 3], [4, 5, 6], [7]]
    assert [(batch.position.last_uid, batch.remaining) for batch in batches] == [(3, 4), (6, 1), (7, 0)]
    assert batches[0].headers[0][1].startswith(b"From: Customer <customer@example.org>\r\n")
    assert b"Subject" not in batches[0].headers[0][1] and b"Body" not in batches[0].headers[0][1]


def test_a_second_fetch_finds_nothing_new_and_a_third_only_the_newcomer(
    imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, message(1), message(2))
    account = imap_server.account(folder)
    position = fetch_all(account, None)[-1].position
    assert fetch_all(account, position) == []
    imap_server.append(folder, message(3))
    batches = fetch_all(account, position)
    assert uids(batches) == [3]
    assert batches[-1].position == MailboxPosition(position.uidvalidity, 3)


def test_an_empty_folder_still_gets_a_position(imap_server: ImapServer, folder: str) -> None:
    batches = fetch_all(imap_server.account(folder), None)
    assert [(batch.headers, batch.position.last_uid) for batch in batches] == [((), 0)]


def test_the_first_fetch_honours_since_and_steps_over_older_mail(
    imap_server: ImapServer, folder: str
) -> None:
    imap_server.append(folder, message(1), when=datetime.now() - timedelta(days=400))
    imap_server.append(folder, message(2))
    imap_server.append(folder, message(3), when=datetime.now() - timedelta(days=400))
    account = imap_server.account(folder)
    batches = fetch_all(account, None)
    assert uids(batches) == [2]
    assert batches[-1].position.last_uid == 3
    assert fetch_all(account, batches[-1].position) == []


def test_fetching_leaves_seen_flags_as_they_were(imap_server: ImapServer, folder: str) -> None:
    imap_server.append(folder, message(1), flags=(b"\\Seen",))
    imap_server.append(folder, message(2), flags=(b"\\Flagged",))
    imap_server.append(folder, message(3))
    before = imap_server.flags(folder)
    assert uids(fetch_all(imap_server.account(folder), None)) == [1, 2, 3]
    assert imap_server.flags(folder) == before
    assert b"\\Seen" not in before[2] + before[3]


def test_a_missing_folder_and_a_wrong_password_say_so(imap_server: ImapServer) -> None:
    with pytest.raises(MailboxError) as missing, open_mailbox(imap_server.account("No such folder")):
        pass
    assert (missing.value.code, missing.value.is_transient) == (MailboxErrorCode.FOLDER, False)
    wrong = MailboxAccount(imap_server.host, imap_server.user, "wrong", port=imap_server.port, tls=False)
    with pytest.raises(MailboxError) as refused, open_mailbox(wrong):
        pass
    assert (refused.value.code, refused.value.is_transient) == (MailboxErrorCode.LOGIN, False)
    assert "wrong" not in refused.value.message


def test_tls_is_the_default_and_a_plain_server_fails_it(imap_server: ImapServer) -> None:
    account = MailboxAccount(imap_server.host, imap_server.user, imap_server.password, port=imap_server.port)
    with pytest.raises(MailboxError) as failed, open_mailbox(account):
        pass
    assert failed.value.code is MailboxErrorCode.TLS


# Each rule needs header fields the fetch must ask for: classify what the server hands over.
RULES = [
    (b"Jane Roe <jane@example.org>", b"", None),
    (b"Web form <noreply@example.com>", b"Reply-To: Jane Roe <jane@example.org>\n", None),
    (b"support@example.com", b"", SkipReason.OWN_ADDRESS),
    (b"agent@example.com", b"", SkipReason.AGENT),
    (b"jane@example.org", LOOP.encode() + b": 1\n", SkipReason.LOOP),
    (b"jane@example.org", b"Auto-Submitted: auto-replied\n", SkipReason.AUTO_REPLY),
    (b"jane@example.org", b"X-Autoreply: yes\n", SkipReason.AUTO_REPLY),
    (b"jane@example.org", b"X-Autorespond: yes\n", SkipReason.AUTO_REPLY),
    (b"jane@example.org", b"Return-Path: <>\n", SkipReason.BOUNCE),
    (
        b"jane@example.org",
        b"Content-Type: multipart/report; report-type=delivery-status\n",
        SkipReason.BOUNCE,
    ),
    (b"MAILER-DAEMON@example.org", b"", SkipReason.BOUNCE),
    (b"jane@example.org", b"List-Id: <users.example.org>\n", SkipReason.LIST),
    (b"jane@example.org", b"List-Unsubscribe: <mailto:u@example.org>\n", SkipReason.LIST),
    (b"jane@example.org", b"List-Post: <mailto:users@example.org>\n", SkipReason.LIST),
    (b"jane@example.org", b"Precedence: bulk\n", SkipReason.LIST),
    (b"jane@example.org", b"X-Mailman-Version: 2.1\n", SkipReason.LIST),
    (b"a@example.org, b@example.org", b"Sender: users-bounces@example.org\n", SkipReason.LIST),
    (b"do-not-reply@example.com", b"", SkipReason.NOREPLY),
    (b"jane@example.org", b"X-Spam-Flag: YES\n", SkipReason.SPAM),
    (b"undisclosed-recipients:;", b"", SkipReason.NO_SENDER),
    (b"jane@localhost", b"", SkipReason.INVALID_ADDRESS),
]


def test_the_fetched_fields_are_all_the_classifier_needs(imap_server: ImapServer, folder: str) -> None:
    written = [message(number, sender=sender, extra=extra) for number, (sender, extra, _) in enumerate(RULES)]
    imap_server.append(folder, *written)
    options = {
        "own_addresses": address_keys(["support@example.com"]),
        "agent_addresses": address_keys(["agent@example.com"]),
        "loop_header": LOOP,
    }
    fetched = [
        header for batch in fetch_all(imap_server.account(folder), None) for _, header in batch.headers
    ]
    verdicts = [classify_message(header, **options) for header in fetched]
    assert [verdict.skip for verdict in verdicts] == [reason for _, _, reason in RULES]
    assert verdicts == [classify_message(whole.replace(b"\n", b"\r\n"), **options) for whole in written]
    assert (verdicts[1].email, verdicts[1].first_name, verdicts[1].last_name) == (
        "jane@example.org",
        "Jane",
        "Roe",
    )


def test_a_new_uidvalidity_starts_over_from_since(imap_server: ImapServer, folder: str) -> None:
    imap_server.append(folder, message(1), message(2))
    account = imap_server.account(folder)
    before = fetch_all(account, None)[-1].position
    time.sleep(
        max(0.0, before.uidvalidity + 1.1 - time.time())
    )  # Dovecot's UIDVALIDITY is the creation second
    imap_server.recreate(folder)  # a new UIDVALIDITY, without restarting Dovecot (see test_poll's)
    imap_server.append(folder, message(3))
    batches = fetch_all(account, before)
    assert uids(batches) == [1]
    assert batches[-1].position.uidvalidity != before.uidvalidity
    assert batches[-1].headers[0][1].startswith(b"From: Customer <customer@example.org>")


def test_a_server_stopped_mid_poll_loses_nothing(own_imap_server: ImapServer) -> None:
    own_imap_server.append("INBOX", *(message(number) for number in range(25)))
    account = own_imap_server.account()
    stored: list[int] = []
    position = None
    with open_mailbox(account) as mailbox:
        batches = fetch_new_headers(mailbox, position, since=SINCE, fields=FIELDS, batch_size=10)
        first = next(batches)
        stored += [uid for uid, _ in first.headers]  # the caller stores a batch and its position together
        position = first.position
        own_imap_server.stop()
        with pytest.raises(MailboxError) as lost:
            next(batches)
    assert (lost.value.code, lost.value.is_transient) == (MailboxErrorCode.CONNECTION_LOST, True)
    assert position.last_uid == max(stored) == 10
    own_imap_server.start()
    rest = fetch_all(account, position, batch_size=10)
    stored += uids(rest)
    assert stored == list(range(1, 26))


def test_idle_delivers_a_new_message_within_seconds(imap_server: ImapServer, folder: str) -> None:
    account = imap_server.account(folder)
    with closing(watch_mailbox(account, None, since=SINCE, fields=FIELDS, rng=random.Random(1))) as batches:
        assert next_within(batches, 10).headers == ()  # the empty folder's position
        timer = threading.Timer(0.5, imap_server.append, (folder, message(1)))
        started = time.monotonic()
        timer.start()
        arrived = next_within(batches, 10)
        elapsed = time.monotonic() - started
        timer.join()
    assert [uid for uid, _ in arrived.headers] == [1]
    assert elapsed < 3


def test_watch_renews_idle_and_carries_on(imap_server: ImapServer, folder: str) -> None:
    account = imap_server.account(folder)
    imap_server.append(folder, message(1))
    watch = watch_mailbox(account, None, since=SINCE, fields=FIELDS, rng=random.Random(1), renew_seconds=0.3)
    with closing(watch) as batches:
        assert uids([next_within(batches, 10)]) == [1]
        timer = threading.Timer(1.2, imap_server.append, (folder, message(2)))  # after a few renewals
        timer.start()
        assert uids([next_within(batches, 10)]) == [2]
        timer.join()


def test_watch_reconnects_with_backoff_after_the_server_goes_away(own_imap_server: ImapServer) -> None:
    own_imap_server.append("INBOX", message(1))
    stopper = threading.Timer(0.5, own_imap_server.stop)
    delays: list[float] = []

    def sleep(seconds: float) -> None:  # the server comes back, with new mail, while the watcher waits
        delays.append(seconds)
        if len(delays) == 2:
            stopper.join()
            own_imap_server.start()
            own_imap_server.append("INBOX", message(2))

    watch = watch_mailbox(
        own_imap_server.account(), None, since=SINCE, fields=FIELDS, rng=random.Random(7), sleep=sleep,
        backoff=Backoff(first_seconds=0.1, cap_seconds=1.0),
    )  # fmt: skip
    with closing(watch) as batches:
        assert uids([next_within(batches, 10)]) == [1]
        stopper.start()
        assert uids([next_within(batches, 20)]) == [2]
    assert len(delays) == 2
    assert 0.05 <= delays[0] <= 0.1 and 0.1 <= delays[1] <= 0.2


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    backoff = Backoff(first_seconds=1.0, cap_seconds=60.0)
    rng = random.Random(3)
    delays = [backoff.delay(attempt, rng) for attempt in range(10)]
    assert all(2**n / 2 <= delay <= 2**n for n, delay in enumerate(delays[:6]))
    assert all(30.0 <= delay <= 60.0 for delay in delays[6:])
    assert len(set(delays)) == len(delays)
