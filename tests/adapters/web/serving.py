"""`contact-importer serve` as a real process on a free port, for the host tests: start, read its log, stop."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import CONTACT_IMPORTER, ContactImporterProcess, start_contact_importer, wait_until  # noqa: F401

COMMAND = CONTACT_IMPORTER
URL_LINE = re.compile(r"Contact importer: (http://\S+)")
WORKER_LINE = re.compile(r"worker process (\d+) (?:\(|started in place)")  # each worker serve started, in order


def clean_environment(**settings: str) -> dict[str, str]:
    """The process environment without our settings, then these (CONTACT_IMPORTER_<NAME>)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTACT_IMPORTER_")}
    env.update({f"CONTACT_IMPORTER_{name.upper()}": value for name, value in settings.items()})
    return env


def run_cli(folder: Path, env: Mapping[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([COMMAND, *args], cwd=folder, env=dict(env), input=stdin, capture_output=True, text=True,
                          timeout=120)


@dataclass
class Served(ContactImporterProcess):
    """`serve` with the address it printed; it stops on SIGTERM, its worker with it."""

    url: str = ""

    def worker_pids(self) -> list[int]:
        return [int(pid) for pid in WORKER_LINE.findall(self.output())]

    def stop(self, sig: int = signal.SIGTERM, *, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)  # serve itself, not its group: it stops its worker
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(5)


def _limit_open_files(count: int) -> Callable[[], None]:
    def limit() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))

    return limit


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """start(folder, env, *serve_args, open_files=None) → a running `contact-importer serve` on a free port."""
    started: list[Served] = []

    def start(folder: Path, env: Mapping[str, str], *args: str, open_files: int | None = None) -> Served:
        log = tmp_path / f"serve-{len(started)}.log"
        process = start_contact_importer(["serve", "--port", "0", *args], log=log, cwd=folder, env=env,
                                         preexec_fn=_limit_open_files(open_files) if open_files else None)
        served = Served(process, log)
        started.append(served)
        deadline = time.monotonic() + 60
        while not (found := URL_LINE.search(served.output())):
            assert process.poll() is None and time.monotonic() < deadline, served.output()
            time.sleep(0.05)
        served.url = found.group(1)
        return served

    yield start
    for served in started:
        pids = served.worker_pids()
        served.stop()
        for pid in pids:  # a worker the test left behind (it should not exist: serve stops its worker)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
