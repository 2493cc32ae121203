"""`contact-importer serve` as a process: waitress sheds slow clients, the worker is supervised, files are private."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.adapters.web.conftest import ARTIFACTS
from tests.adapters.web.serving import clean_environment, run_cli, serve, wait_until  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow]

HALF_SENT = 1100
OPEN_FILES = 1024  # a service's default limit (systemd's LimitNOFILE soft default)
SLOW_CLIENT_SCRIPT = r"""
import resource, socket, sys, time
host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
held = []
for _ in range(count):
    sock = socket.socket()
    sock.settimeout(30)
    sock.connect((host, port))
    sock.sendall(b"GET /sign-in HTTP/1.1\r\nHost: slow\r\nX-Half: ")  # never finished
    held.append(sock)
print(f"open {len(held)}", flush=True)
time.sleep(hold)
"""


def test_a_normal_request_is_answered_within_20_seconds_while_1100_half_sent_requests_are_open(serve, tmp_path):
    served = serve(tmp_path, clean_environment(secret_key="k" * 40), "--no-worker", open_files=OPEN_FILES)
    host, port = served.url.removeprefix("http://").split(":")
    client = subprocess.Popen([sys.executable, "-c", SLOW_CLIENT_SCRIPT, host, port, str(HALF_SENT), "90"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert client.stdout is not None
        assert client.stdout.readline().strip() == f"open {HALF_SENT}"  # every connection made, none finished
        started = time.monotonic()
        response = requests.get(served.url + "/sign-in", timeout=60)
        seconds = time.monotonic() - started
    finally:
        client.kill()
        client.wait(10)
        client.stdout.close()  # type: ignore[union-attr]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "host-slow-clients.txt").write_text(
        f"normal request with {HALF_SENT} half-sent requests open, serve at {OPEN_FILES} open files: "
        f"{seconds:.2f} s\n")
    print(f"slow clients: a normal request took {seconds:.2f} s")
    assert response.status_code == 200
    assert seconds < 20
    assert "Too many open files" not in served.output()


def test_serve_restarts_a_killed_worker_with_backoff_and_a_job_queued_meanwhile_runs(serve, tmp_path):
    env = clean_environment(secret_key="k" * 40)
    assert run_cli(tmp_path, env, "users", "create-admin", "admin@example.com", "--password-stdin",
                   stdin="admin-password-1\n").returncode == 0
    token = run_cli(tmp_path, env, "tokens", "create", "admin@example.com").stdout.strip()
    served = serve(tmp_path, env)
    for death in range(1, 4):  # each quick death doubles the pause: 1 s, 2 s, then 4 s
        pid = served.worker_pids()[-1]
        wait_until(lambda: "Huey consumer started" in served.output() and served.output().count(
            "Huey consumer started") >= death, what="the worker to start")
        os.killpg(pid, signal.SIGKILL)
        wait_until(lambda: f"worker process {pid} exited with -9" in served.output(), what="the restart log line")
        assert not Path(f"/proc/{pid}").exists()  # reaped: no zombie left
        if death < 3:
            wait_until(lambda: len(served.worker_pids()) > death, what="a new worker")
    assert "starting another in 4 s" in served.output()
    response = requests.post(served.url + "/api/v1/imports", headers={"Authorization": f"Bearer {token}"},
                             data={"kind": "customers"},
                             files={"file": ("people.csv", io.BytesIO(b"email\nann@example.com\n"))}, timeout=30)
    assert response.status_code == 202, response.text
    job = response.json()["job"]
    status = requests.get(f"{served.url}/api/v1/imports/{job}", headers={"Authorization": f"Bearer {token}"},
                          timeout=30).json()["status"]
    assert status == "queued"  # nobody runs it while the worker is down
    finished = lambda: requests.get(f"{served.url}/api/v1/imports/{job}",  # noqa: E731
                                    headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    wait_until(lambda: finished()["status"] not in ("queued", "running"), what="the job to run")
    assert finished()["rows"] == 1
    last_worker = served.worker_pids()[-1]
    assert served.stop() == 0
    assert not Path(f"/proc/{last_worker}").exists()  # stopped with the host, and reaped


def test_serve_makes_the_database_secret_key_queue_and_uploads_private_to_its_user(serve, tmp_path):
    env = clean_environment()  # every default: instance/ under the working folder
    served = serve(tmp_path, env)
    requests.get(served.url + "/sign-in", timeout=30)
    instance = tmp_path / "instance"
    wait_until(lambda: (instance / "queue.db").exists(), what="the queue file")
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(instance) == 0o700
    for name in ("contacts.db", "secret_key", "queue.db"):
        assert mode(instance / name) == 0o600, name
    served.stop()
    (instance / "uploads").mkdir(mode=0o755)
    (instance / "secret_key").chmod(0o644)  # as older versions left them
    os.chmod(instance, 0o755)
    serve(tmp_path, env, "--no-worker")
    assert (mode(instance), mode(instance / "uploads"), mode(instance / "secret_key")) == (0o700, 0o700, 0o600)


def test_make_run_passes_its_port_to_serve():
    makefile = (Path(__file__).resolve().parents[3] / "Makefile").read_text()
    dry_run = subprocess.run(["make", "-n", "-C", str(Path(makefile and __file__).resolve().parents[3]), "run",
                              "PORT=8089", "VENV=/nonexistent"], capture_output=True, text=True)
    assert "serve --host 127.0.0.1 --port 8089" in dry_run.stdout, dry_run.stdout + dry_run.stderr
