"""The webhook: one signed JSON POST per delivery attempt, over http.client (redirects are not followed)."""

from __future__ import annotations

import http.client
from datetime import datetime
from urllib.parse import urlsplit

from plugin.notices import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    JobNotice,
    signature,
    webhook_body,
)
from plugin.ports.notices import Delivery, NotSent

USER_AGENT = "contact-importer-webhook/1"
ANSWER_KEPT = 200  # characters of a refusing listener's answer kept in the delivery log


class WebhookSender:
    """Posts a delivery's notice to its URL, signed with the secret; raises NotSent unless the answer is 2xx."""

    def __init__(self, secret: str, *, timeout: float = 10.0) -> None:
        self.secret = secret
        self.timeout = timeout

    def send(self, delivery: Delivery, *, now: datetime) -> int | None:
        body = webhook_body(JobNotice.from_dict(delivery.payload))
        timestamp = int(now.timestamp())
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   TIMESTAMP_HEADER: str(timestamp), DELIVERY_HEADER: str(delivery.id),
                   SIGNATURE_HEADER: signature(self.secret, timestamp, body)}
        parts = urlsplit(delivery.target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotSent(f"the webhook URL must start with http:// or https://, not {delivery.target[:40]!r}")
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.hostname, parts.port, timeout=self.timeout)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(ANSWER_KEPT).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            raise NotSent(f"could not reach the webhook: {error or type(error).__name__}") from error
        finally:
            connection.close()
        if not 200 <= response.status < 300:
            raise NotSent(f"the webhook answered {response.status} {response.reason}: {answer.strip()}".rstrip(": "),
                          status_code=response.status)
        return response.status
