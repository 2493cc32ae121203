"""A real Dovecot on loopback (../shared/scripts/imap-server), one folder per test, and a way to fill it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from adapters.imap import MailboxAccount

REPO = Path(__file__).resolve().parents[3]
IMAP_SERVER = REPO.parent / "shared" / "scripts" / "imap-server"
DOVECOT_MISSING = 3  # imap-server's exit status when Dovecot 2.3 is not installed
START_FAILED = 1  # e.g. "no IMAP greeting" or "Dovecot did not start": worth another try
START_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ImapServer:
    """One running imap-server instance, living in `where`."""

    where: Path
    host: str
    port: int
    user: str
    password: str

    def start(self, *, fresh: bool = False) -> None:
        """Start it again on the same port; `fresh` empties the store, which gives INBOX a new UIDVALIDITY."""
        started = run_imap_server("--port", str(self.port), *(["--fresh"] if fresh else []), self.where)
        assert started.returncode == 0, started.stdout + started.stderr

    def stop(self) -> None:
        stop_imap_server(self.where)

    def account(self, folder: str = "INBOX") -> MailboxAccount:
        return MailboxAccount(self.host, self.user, self.password, port=self.port, folder=folder, tls=False)

    def append(
        self, folder: str, *messages: bytes, flags: tuple[bytes, ...] = (), when: datetime | None = None
    ) -> None:
        """Deliver messages the way a test author writes them (CRLF or LF, headers and a body)."""
        with IMAPClient(self.host, port=self.port, ssl=False, timeout=10) as client:
            client.login(self.user, self.password)
            for message in messages:
                client.append(folder, message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), flags, when)

    def recreate(self, folder: str) -> None:
        """Delete the folder and make it again, empty: it gets a new UIDVALIDITY (unless made in the same second)."""
        with IMAPClient(self.host, port=self.port, ssl=False, timeout=10) as client:
            client.login(self.user, self.password)
            client.delete_folder(folder)
            client.create_folder(folder)

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        with IMAPClient(self.host, port=self.port, ssl=False, timeout=10) as client:
            client.login(self.user, self.password)
            client.select_folder(folder, readonly=True)
            return {uid: tuple(sorted(flags)) for uid, flags in client.get_flags(client.search()).items()}


def run_imap_server(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    """imap-server with these arguments (the last is DIR), tried again when the start fails.

    On a busy machine imap-server now and then gives up on a Dovecot that is still starting (its
    wait loop stops when the pid file is not written yet) and may leave that Dovecot running
    without a pid file, where --stop cannot find it and the next start fails on its sockets.
    """
    for _ in range(START_ATTEMPTS):
        started = subprocess.run([IMAP_SERVER, *arguments], check=False, capture_output=True, text=True)
        if started.returncode != START_FAILED:
            break
        stop_imap_server(Path(arguments[-1]))
    return started


def stop_imap_server(where: Path) -> None:
    """imap-server --stop, then end a master of this DIR that lost its pid file: by its pid, after
    matching its exact command line (`dovecot -c DIR/dovecot.conf`), never by name."""
    subprocess.run([IMAP_SERVER, "--stop", where], check=False, capture_output=True)
    config = str(where.resolve() / "dovecot.conf").encode()
    for process in Path("/proc").iterdir():
        try:
            is_ours = process.name.isdigit() and config in (process / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if is_ours:
            master = int(process.name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(master, signal.SIGTERM)  # the master leads a process group with its children
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _is_running(master):
                time.sleep(0.05)


def _is_running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def start_imap_server(where: Path) -> ImapServer:
    started = run_imap_server("--port", "auto", "--fresh", where)
    if started.returncode == DOVECOT_MISSING:
        pytest.skip(f"Dovecot 2.3 is not installed: {started.stdout}{started.stderr}".strip())
    assert started.returncode == 0, started.stdout + started.stderr
    env = dict(
        line.split("=", 1) for line in (where / "instance.env").read_text().splitlines() if "=" in line
    )
    return ImapServer(where, env["IMAP_HOST"], int(env["IMAP_PORT"]), env["IMAP_USER"], env["IMAP_PASSWORD"])


@pytest.fixture(scope="session")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    """The server most tests share; each test works in a folder of its own (see `folder`)."""
    server = start_imap_server(tmp_path_factory.mktemp("imap"))
    yield server
    server.stop()


@pytest.fixture
def own_imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    """A server for one test that stops, restarts or empties it."""
    server = start_imap_server(tmp_path_factory.mktemp("imap-own"))
    yield server
    server.stop()


@pytest.fixture
def folder(imap_server: ImapServer) -> str:
    """A new, empty folder on the shared server."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    with IMAPClient(imap_server.host, port=imap_server.port, ssl=False, timeout=10) as client:
        client.login(imap_server.user, imap_server.password)
        client.create_folder(name)
    return name
