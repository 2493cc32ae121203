"""SqlNotifications: plugin.ports.Notifications on the notification area the worker's imports write to."""

from __future__ import annotations

from sqlalchemy import Connection

from adapters.db import web_state


class SqlNotifications:
    """Written through web_state.add_notification, in a transaction of its own: notify after committing."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def notify(self, recipient: str, message: str, *, job_id: int | None) -> None:
        web_state.add_notification(self.connection.engine, recipient, message, job_id=job_id)
