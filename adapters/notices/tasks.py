"""The worker sends notices: a huey task every minute sends each delivery whose time has come (new ones, and
failed ones whose backoff ran out). Every worker runs it; a delivery is claimed before it is sent, so two workers
never send one twice. Nothing exists at import time: `register_notice_tasks` adds the task to a huey instance
that adapters/jobs.py built."""

from __future__ import annotations

import logging

from huey import Huey, crontab
from huey.api import TaskWrapper

from plugin.services import Services

logger = logging.getLogger(__name__)


def register_notice_tasks(huey: Huey, services: Services) -> TaskWrapper:
    """Add the periodic sending of due notices to `huey`."""

    @huey.periodic_task(crontab(minute="*"), name="contact_importer.send_notices")
    def send_notices() -> None:
        sent = services.notices.send_due()
        failed = sum(not attempt.is_delivered for attempt in sent)
        if failed:
            logger.warning("notices: %d of %d attempts failed; see `contact-importer notices deliveries`",
                           failed, len(sent))

    return send_notices
