"""The periodic mail poll on huey: every `mail_poll_seconds` (whole minutes, at least one) a worker polls
every mailbox that is due. Nothing exists at import time: `register_mail_tasks` adds the task to a huey
instance that adapters/jobs.py built.

No huey lock is needed: each mailbox's lease keeps two workers off the same mailbox, while a long first
poll of one mailbox does not hold up the others on another worker.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from huey import Huey, crontab
from huey.api import TaskWrapper

from adapters.imap.poller import poll_all_due
from plugin.services import Services

logger = logging.getLogger(__name__)


def poll_schedule(mail_poll_seconds: int) -> crontab:
    """Every n minutes, n = mail_poll_seconds rounded to whole minutes (1 to 60): cron's granularity."""
    minutes = min(max(round(mail_poll_seconds / 60), 1), 60)
    return crontab(minute="*" if minutes == 1 else f"*/{minutes}")


def register_mail_tasks(
    huey: Huey, services: Services, *, environ: Mapping[str, str] | None = None
) -> TaskWrapper:
    """Add the periodic poll of due mailboxes to `huey`; `environ` holds the mailboxes' password variables."""
    passwords = os.environ if environ is None else environ

    @huey.periodic_task(
        poll_schedule(services.settings.mail_poll_seconds), name="contact_importer.poll_mailboxes"
    )
    def poll_mailboxes() -> None:
        results = poll_all_due(services, environ=passwords)
        failed = [result.mailbox for result in results if result.has_failed]
        if failed:
            logger.warning(
                "mail poll: %d of %d mailboxes failed: %s", len(failed), len(results), ", ".join(failed)
            )

    return poll_mailboxes
