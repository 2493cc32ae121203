"""The e-mail notice: counts and a link to the result, for the person who started the job; never row data."""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage

from adapters.invitations import SmtpSender
from plugin.notices import JobNotice
from plugin.ports.notices import Delivery, NotSent

WHAT = {"import": "Import", "undo": "Undo", "mail-capture": "Mail capture"}


class NoticeMailer:
    """Mails a delivery's notice to its target through the SMTP sender invitations use."""

    def __init__(self, smtp: SmtpSender) -> None:
        self.smtp = smtp

    def send(self, delivery: Delivery, *, now: datetime) -> int | None:
        try:
            self.smtp.send_message(compose_notice(delivery.target, JobNotice.from_dict(delivery.payload)))
        except (OSError, smtplib.SMTPException) as error:
            raise NotSent(f"the SMTP server did not take the mail: {error or type(error).__name__}") from error
        return None


def compose_notice(to_email: str, notice: JobNotice) -> EmailMessage:
    """'Import 12 of customers: partial' with each count on a line and the link; the sender stamps the rest."""
    what = WHAT.get(notice.operation, notice.operation.capitalize())
    message = EmailMessage()
    message["Subject"] = f"{what} {notice.job_id} of {notice.kind}: {notice.status}"
    message["To"] = to_email
    counts = "\n".join(f"  {name.replace('_', ' ')}: {count:,}" for name, count in notice.counts.items())
    source = f" ({notice.file_name})" if notice.file_name else ""
    message.set_content(
        f"{what} {notice.job_id} of {notice.kind}{source} ended: {notice.status}.\n\n"
        f"{counts}\n\n"
        f"See the result, and any rows to fix, here:\n{notice.link}\n\n"
        "You get this mail because notices by e-mail are on for you; ask an admin to turn them off.\n"
    )
    return message
