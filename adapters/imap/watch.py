"""Watching a mailbox with IMAP IDLE: new mail within seconds, reconnecting with jittered backoff.

imapclient's `idle_check(timeout)` does not raise when the server closes the connection: it returns
`[]` at once, every time. An empty answer well before the timeout therefore means a dead connection,
and one that lasts the whole timeout means silence, which is checked by leaving IDLE and searching
(a real command, bounded by the account's timeout). IDLE is renewed before RFC 2177's 29 minutes.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from adapters.imap.connection import (
    MailboxAccount,
    MailboxError,
    MailboxErrorCode,
    OpenMailbox,
    connection_errors,
    open_mailbox,
)
from adapters.imap.fetch import DEFAULT_BATCH_SIZE, HeaderBatch, MailboxPosition, fetch_new_headers

logger = logging.getLogger(__name__)

RENEW_IDLE_SECONDS = 24 * 60  # RFC 2177: servers may log an idle client off after 30 minutes
SILENCE_SECONDS = 120.0  # no word from the server this long: check it is still there
_QUICK_EMPTY_LIMIT = 3  # empty idle_check answers in a row, each well before its timeout: dead


@dataclass(frozen=True, slots=True)
class Backoff:
    """Jittered exponential backoff: the n-th retry in a row waits between half and all of
    min(cap_seconds, first_seconds * 2**n), so many watchers of one server do not retry in step."""

    first_seconds: float = 1.0
    cap_seconds: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap_seconds, self.first_seconds * 2 ** min(attempt, 32))
        return ceiling / 2 + rng.random() * ceiling / 2


def wait_for_new_mail(
    mailbox: OpenMailbox,
    *,
    clock: Callable[[], float],
    renew_seconds: float = RENEW_IDLE_SECONDS,
    silence_seconds: float = SILENCE_SECONDS,
) -> bool:
    """IDLE until the server announces new mail (True), or until it is time to look anyway (False):
    `renew_seconds` passed, or the server said nothing for `silence_seconds`.

    Raises MailboxError(CONNECTION_LOST) when the connection is dead or drops.
    """
    client = mailbox.client
    with connection_errors(mailbox.account):
        client.idle()
        deadline = clock() + renew_seconds
        quick_empties = 0
        has_news = False
        while not has_news:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            wait = min(remaining, silence_seconds)
            started = clock()
            responses = client.idle_check(timeout=wait)
            if responses:
                quick_empties = 0
                has_news = _announces_new_mail(responses)
            elif clock() - started < wait / 2:
                quick_empties += 1
                if quick_empties >= _QUICK_EMPTY_LIMIT:
                    raise MailboxError(
                        MailboxErrorCode.CONNECTION_LOST,
                        f"The connection to {mailbox.account.host} was closed during IDLE.",
                    )
            else:
                break  # silence: the search that follows tells whether the server is still there
        _, responses = client.idle_done()
    return has_news or _announces_new_mail(responses)


def watch_mailbox(
    account: MailboxAccount,
    position: MailboxPosition | None,
    *,
    since: date,
    fields: Sequence[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff = Backoff(),
    renew_seconds: float = RENEW_IDLE_SECONDS,
    silence_seconds: float = SILENCE_SECONDS,
) -> Iterator[HeaderBatch]:
    """Batches of new mail for as long as the caller asks: what is there now, then what IDLE announces.

    The caller stores each batch (contacts and position together) before asking for the next one;
    this generator then carries on from that position, also after reconnecting. Transient failures
    (host unreachable, connection lost) are retried after `backoff` delays; the others (login, TLS,
    folder) raise MailboxError. Stop by closing the generator (or leaving the `for` loop).
    """
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            with open_mailbox(account) as mailbox:
                while True:
                    for batch in fetch_new_headers(
                        mailbox, position, since=since, fields=fields, batch_size=batch_size
                    ):
                        yield batch
                        position = batch.position
                    attempt = 0  # a whole pass worked: the next failure starts the backoff over
                    wait_for_new_mail(
                        mailbox, clock=clock, renew_seconds=renew_seconds, silence_seconds=silence_seconds
                    )
        except MailboxError as error:
            if not error.is_transient:
                raise
            delay = backoff.delay(attempt, rng)
            attempt += 1
            logger.warning(
                "Mailbox %s on %s: %s (trying again in %.1f s, attempt %d)",
                account.folder, account.host, error.message, delay, attempt,
            )  # fmt: skip
            sleep(delay)


def _announces_new_mail(responses: list[tuple[object, ...]]) -> bool:
    """Whether IDLE responses include an EXISTS (a message arrived, or the count changed)."""
    return any(len(response) > 1 and response[1] == b"EXISTS" for response in responses)
