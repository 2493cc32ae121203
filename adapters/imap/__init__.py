"""The IMAP adapter: open a mailbox read-only, fetch new mail's headers in batches, watch it with IDLE.

It hands out (uid, header bytes) batches with the position to store alongside; classifying them is
`plugin.mail.classify_message`, storing contacts is the database adapter's job.
"""

from adapters.imap.connection import (
    MailboxAccount,
    MailboxError,
    MailboxErrorCode,
    OpenMailbox,
    open_mailbox,
)
from adapters.imap.fetch import (
    DEFAULT_BATCH_SIZE,
    HeaderBatch,
    MailboxPosition,
    fetch_new_headers,
    header_fetch_item,
)
from adapters.imap.watch import Backoff, wait_for_new_mail, watch_mailbox

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Backoff",
    "HeaderBatch",
    "MailboxAccount",
    "MailboxError",
    "MailboxErrorCode",
    "MailboxPosition",
    "OpenMailbox",
    "fetch_new_headers",
    "header_fetch_item",
    "open_mailbox",
    "wait_for_new_mail",
    "watch_mailbox",
]
