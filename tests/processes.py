"""Real contact-importer processes for tests (workers, `serve`, killed CLI imports), and waiting for them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from plugin.settings import Settings

CONTACT_IMPORTER = str(Path(sys.executable).with_name("contact-importer"))  # the console script of this venv
T = TypeVar("T")


def environment_for(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a separately started process reads its settings from: ours only, no leftovers."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTACT_IMPORTER_")}
    env.update(CONTACT_IMPORTER_DATABASE_URL=settings.database_url, CONTACT_IMPORTER_QUEUE_PATH=settings.queue_path,
               CONTACT_IMPORTER_UPLOAD_DIR=settings.upload_dir, CONTACT_IMPORTER_REDIS_URL=settings.redis_url,
               CONTACT_IMPORTER_QUEUE_NAME=settings.queue_name, CONTACT_IMPORTER_BATCH_SIZE=str(settings.batch_size),
               CONTACT_IMPORTER_ROW_LIMIT=str(settings.row_limit), CONTACT_IMPORTER_SMTP_URL=settings.smtp_url,
               CONTACT_IMPORTER_PUBLIC_URL=settings.public_url, **extra)
    if settings.secret_key:  # the key sealed uploads (agents' files) are encrypted with: a worker must read them
        env.setdefault("CONTACT_IMPORTER_SECRET_KEY", settings.secret_key)
    return env


@dataclass
class ContactImporterProcess:
    """A `contact-importer ...` process in a session of its own, its output in a log file."""

    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGKILL, *, timeout: float = 30) -> int:
        return stop_group(self.process, sig, timeout=timeout)


def stop_group(process: subprocess.Popen, sig: int = signal.SIGKILL, *, timeout: float = 30) -> int:
    """Signal a process's whole group (a worker's consumer and its threads or processes), reap it; its exit status.
    SIGKILL when it has not ended within `timeout` seconds."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(10)


def start_contact_importer(args: list[str], *, log: Path, settings: Settings | None = None, cwd: Path | None = None,
                           env: Mapping[str, str] | None = None,
                           preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    """`contact-importer ARGS` in a session of its own, its output appended to `log`; its environment is the
    settings' (environment_for) with `env` over it, or `env` alone when no settings are given."""
    environment = {**(environment_for(settings) if settings is not None else {}), **(env or {})}
    with log.open("ab") as handle:
        return subprocess.Popen([CONTACT_IMPORTER, *args], cwd=cwd or log.parent, env=environment, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn)


def wait_until(condition: Callable[[], T], *, timeout: float = 30, every: float = 0.05, what: str = "",
               log: Path | None = None) -> T:
    """condition()'s first truthy value; fails after `timeout` seconds saying what it waited for (and the log's end)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}\n{tail}")
        time.sleep(every)
    return value
