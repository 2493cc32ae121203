"""Sign-in failure counts in Redis (when redis_url is set): plugin.ports.people.FailureCounter shared by every
host process that uses the same Redis, without a database write per failed attempt.

Each key is one counter that expires `window` after its first failure (INCR, then EXPIRE on the first); the
first failure's time is read back from the time left to live.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis import Redis


class RedisFailureCounter:
    def __init__(self, client: Redis, *, prefix: str, window: timedelta) -> None:
        self.client, self.prefix, self.window = client, f"{prefix}:sign-in-failures:", window

    def failures(self, key: str, *, since: datetime) -> tuple[int, datetime | None]:
        pipeline = self.client.pipeline()
        pipeline.get(self.prefix + key)
        pipeline.pttl(self.prefix + key)
        count, left_ms = pipeline.execute()
        if count is None or left_ms is None or left_ms < 0:
            return 0, None
        now = since + self.window
        return int(count), now - (self.window - timedelta(milliseconds=left_ms))

    def add_failure(self, key: str, *, now: datetime, window: timedelta) -> None:
        name = self.prefix + key
        if self.client.incr(name) == 1:
            self.client.pexpire(name, int(window.total_seconds() * 1000))

    def clear(self, key: str) -> None:
        self.client.delete(self.prefix + key)

    def forget_older_than(self, moment: datetime) -> None:
        """Nothing to do: Redis expires each count by itself."""
