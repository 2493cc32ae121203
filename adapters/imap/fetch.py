"""New mail since a MailboxPosition, as batches of (uid, header bytes): read-only, headers only.

The caller stores each batch's contacts together with `batch.position` in one transaction before
asking for the next batch; a crash in between then neither loses nor doubles a message. Nothing
here sets a flag or reads a body: the fetch is `BODY.PEEK[HEADER.FIELDS (...)]`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from adapters.imap.connection import OpenMailbox, connection_errors

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
_UID_ITEM = re.compile(rb"[( ]UID (\d+)")


@dataclass(frozen=True, slots=True)
class MailboxPosition:
    """Every message up to `last_uid` of the folder with this UIDVALIDITY has been processed."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class HeaderBatch:
    """Some new messages' header blocks, in UID order, and the position to store with them."""

    headers: tuple[tuple[int, bytes], ...]  # (uid, raw header fields); may be empty, see fetch_new_headers
    position: MailboxPosition
    remaining: int  # messages of this pass still to come, for progress


def header_fetch_item(fields: Sequence[str]) -> str:
    """The FETCH data item that reads only these header fields and leaves \\Seen alone."""
    return f"BODY.PEEK[HEADER.FIELDS ({' '.join(fields)})]"


def fetch_new_headers(
    mailbox: OpenMailbox,
    position: MailboxPosition | None,
    *,
    since: date,
    fields: Sequence[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[HeaderBatch]:
    """The messages after `position`, fetched `batch_size` UIDs at a time.

    With no position (a first poll), or one whose UIDVALIDITY is no longer the folder's, the pass
    starts over with the messages that arrived on or after `since` (server date, whole days); the
    last batch's position then covers the older messages too, so later polls never read them.
    A batch with no headers is yielded only to move the position (e.g. a first poll that found
    nothing); when nothing is new and the position stands, nothing is yielded.
    Raises MailboxError(CONNECTION_LOST) when the connection drops; batches already yielded stand.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    client = mailbox.client
    uidvalidity = mailbox.uidvalidity
    item = header_fetch_item(fields)
    with connection_errors(mailbox.account):
        if position is not None and position.uidvalidity == uidvalidity:
            floor = position.last_uid
            uids = sorted(uid for uid in client.search(["UID", f"{floor + 1}:*"]) if uid > floor)
        else:
            if position is not None:
                logger.info(
                    "UIDVALIDITY of %s changed from %s to %s: reading again from %s",
                    mailbox.account.folder, position.uidvalidity, uidvalidity, since,
                )  # fmt: skip
            floor = _highest_uid(mailbox)
            uids = sorted(client.search(["SINCE", since]))
    if not uids:
        if position != MailboxPosition(uidvalidity, floor):
            yield HeaderBatch((), MailboxPosition(uidvalidity, floor), 0)
        return
    for start in range(0, len(uids), batch_size):
        chunk = uids[start : start + batch_size]
        with connection_errors(mailbox.account):
            blocks = _header_blocks(mailbox, chunk, item)
        headers = tuple((uid, blocks[uid]) for uid in chunk if uid in blocks)
        remaining = max(len(uids) - start - len(chunk), 0)
        last_uid = chunk[-1] if remaining else max(chunk[-1], floor)
        logger.debug("Fetched %d header blocks up to UID %d, %d to go", len(headers), last_uid, remaining)
        yield HeaderBatch(headers, MailboxPosition(uidvalidity, last_uid), remaining)


def _highest_uid(mailbox: OpenMailbox) -> int:
    """The UID of the newest message when the folder was selected; 0 for an empty folder."""
    if mailbox.uidnext is not None:
        return mailbox.uidnext - 1
    return max(mailbox.client.search(["ALL"]), default=0)


def _header_blocks(mailbox: OpenMailbox, uids: Sequence[int], item: str) -> dict[int, bytes]:
    """UID → header block of these messages. Read from the answer imaplib (under imapclient) hands back, where
    each block is a literal next to its FETCH line: imapclient's own parse of the same answer took longer than
    classifying the mail (../shared/scripts/README.md). A message answered otherwise (no literal) is fetched
    again through imapclient."""
    client = mailbox.client
    kind, data = client._imap.uid("FETCH", ",".join(map(str, uids)), f"({item})")
    if kind != "OK":
        raise client.Error(f"FETCH failed: {data!r}")
    blocks: dict[int, bytes] = {}
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and b"BODY[" in part[0]:
            found = _UID_ITEM.search(part[0])
            if found is not None:
                blocks[int(found.group(1))] = part[1]
    missing = [uid for uid in uids if uid not in blocks]
    if missing:
        response = client.fetch(missing, [item])
        blocks.update((uid, _header_block(response[uid])) for uid in missing if uid in response)
    return blocks


def _header_block(data: dict[bytes, object]) -> bytes:
    """The BODY[HEADER.FIELDS (...)] value of one FETCH response (the server names it, not us)."""
    for key, value in data.items():
        if key.startswith(b"BODY["):
            return value if isinstance(value, bytes) else b""
    return b""
