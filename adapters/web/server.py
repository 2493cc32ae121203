"""What `contact-importer serve` runs: waitress in front of the host app, and a supervised worker beside it.

Why waitress: it is pure Python (nothing to compile on a laptop, Windows included), well kept (the Pylons
project), and its model suits slow clients: one event loop holds the connections, and only complete requests
reach the bounded pool of threads. A client that sends half a request costs a socket, never a thread.

The bounds, in `server_options`:
- `threads`: requests handled at once (the pool).
- `connection_limit`: sockets held at once, kept under the process's open-files limit, so that a flood of
  connections waits in the listen backlog instead of making accept() fail with "Too many open files".
- `channel_timeout` (read and idle timeout): a connection with no complete request that sent nothing for this
  long is closed; `cleanup_interval` is how often that is checked.
- `asyncore_use_poll`: poll() rather than select(), which cannot watch descriptors above 1,023.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from plugin.settings import Settings

logger = logging.getLogger(__name__)

THREADS = 8
CHANNEL_TIMEOUT = 8  # seconds a connection may stay silent without a complete request
CLEANUP_INTERVAL = 1  # seconds between looks for such connections
BACKLOG = 2048  # connections the kernel queues while the server holds connection_limit of them
FILES_KEPT_FREE = 124  # descriptors left for the database, the queue file, uploads and logs
MOST_CONNECTIONS = 1000


def keep_files_private(settings: Settings, *, key_file: Path) -> None:
    """Files private to the service user: what is created from now on (umask 077), and what exists already
    (made by an older version, or with another umask): the instance folder and upload_dir 0700; the secret key,
    the SQLite database, the queue file and uploads 0600. Other folders (where a database path points, /tmp...)
    are left as they are."""
    os.umask(0o077)
    files = [key_file, Path(settings.queue_path)]
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        files += [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]
    uploads = Path(settings.upload_dir)
    for folder in (key_file.parent, uploads):
        if _is_own_folder(folder):
            folder.chmod(0o700)
    for path in [*files, *(uploads.iterdir() if _is_own_folder(uploads) else [])]:
        if path.is_file():
            path.chmod(0o600)


def _is_own_folder(folder: Path) -> bool:
    """A folder of ours alone: not the working folder, not a shared one such as /tmp (sticky), and ours."""
    if not folder.is_dir() or folder.resolve() == Path.cwd().resolve():
        return False
    status = folder.stat()
    return status.st_uid == os.getuid() and not status.st_mode & stat.S_ISVTX


def connection_limit(open_files: int | None = None) -> int:
    """How many connections to hold at once: at most 1,000, and always below the open-files limit."""
    if open_files is None:
        open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if open_files == resource.RLIM_INFINITY:
        return MOST_CONNECTIONS
    return max(16, min(MOST_CONNECTIONS, open_files - FILES_KEPT_FREE))


def server_options() -> dict[str, object]:
    """waitress's adjustments for the host (see the module docstring)."""
    return {"threads": THREADS, "connection_limit": connection_limit(), "channel_timeout": CHANNEL_TIMEOUT,
            "cleanup_interval": CLEANUP_INTERVAL, "backlog": BACKLOG, "asyncore_use_poll": True,
            "ident": "contact-importer", "clear_untrusted_proxy_headers": True}


def make_wsgi_server(app: object, host: str, port: int):  # type: ignore[no-untyped-def]
    """A waitress server bound to host:port (0: a free port; see .effective_port), not yet running."""
    from waitress import create_server

    return create_server(app, host=host, port=port, **server_options())


class WorkerSupervisor:
    """Runs `contact-importer worker` as a child and keeps it running.

    A worker that exits is reaped at once, logged, and started again after a pause that doubles (up to
    `longest_pause`) while it keeps dying within `steady_seconds` of starting. stop() sends SIGTERM to its
    process group (imports stop after their batch, to resume later) and waits for it.
    """

    def __init__(self, command: Sequence[str], *, env: Mapping[str, str] | None = None, first_pause: float = 1.0,
                 longest_pause: float = 60.0, steady_seconds: float = 30.0) -> None:
        self.command = list(command)
        self.env = dict(env) if env is not None else None
        self.first_pause, self.longest_pause, self.steady_seconds = first_pause, longest_pause, steady_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> subprocess.Popen[bytes]:
        with self._lock:
            self.process = self._spawn()
        self._thread.start()
        return self.process

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, env=self.env, start_new_session=True)

    def _watch(self) -> None:
        pause = self.first_pause
        while not self._stopping.is_set():
            process = self.process
            assert process is not None
            started = time.monotonic()
            code = process.wait()  # reaps it: no zombie
            if self._stopping.is_set():
                return
            pause = self.first_pause if time.monotonic() - started >= self.steady_seconds else pause
            logger.warning("worker process %s exited with %s; starting another in %.0f s", process.pid, code, pause)
            if self._stopping.wait(pause):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = self._spawn()
                self.restarts += 1
            logger.warning("worker process %s started in place of %s", self.process.pid, process.pid)
            pause = min(pause * 2, self.longest_pause)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the worker gracefully and stop restarting it."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._thread.is_alive():
            self._thread.join(5)
