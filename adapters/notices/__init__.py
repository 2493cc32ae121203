"""Job notices leaving the machine: the webhook's signed POST, the e-mail through the SMTP sender, the worker's
periodic task that sends them and the `notices` commands. The use cases are plugin.services.notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin.notices import EMAIL, WEBHOOK

if TYPE_CHECKING:  # the senders (http.client, smtplib) load only when the settings set up their channel
    from plugin.ports.notices import NoticeSender
    from plugin.settings import Settings


def notice_senders(settings: Settings) -> dict[str, NoticeSender]:
    """The channels these settings set up: the webhook when webhook_url is set, e-mail when smtp_url is."""
    senders: dict[str, NoticeSender] = {}
    if settings.webhook_url:
        from adapters.notices.webhook import WebhookSender

        senders[WEBHOOK] = WebhookSender(settings.webhook_secret)
    if settings.smtp_url:
        from adapters.invitations import SmtpSender
        from adapters.notices.mail import NoticeMailer

        senders[EMAIL] = NoticeMailer(SmtpSender(settings.smtp_url, sender=settings.mail_from,
                                                 loop_header=settings.loop_header))
    return senders
