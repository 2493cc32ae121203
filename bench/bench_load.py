"""Imports under load: many uploads at once through the JSON API of the standalone host, run by worker processes.

Starts `contact-importer serve --no-worker` (the standalone host) and `--worker-processes` (2) separate
`contact-importer worker` processes on a fresh database: SQLite with the SQLite queue, or with
`--backend postgresql` a throwaway PostgreSQL database (bench_load_<pid> on 127.0.0.1:5432) with the Redis
queue (127.0.0.1:6379/14, under a queue name of this run's own). An admin and an API token are made, the
labels, companies and custom fields the files use are added, and then `--uploads` (20) clients each POST a
`--rows` (5,000) row customers file (bench/generate_customers.py, each with its own seed) to
/api/v1/imports at the same moment, and poll until every import has finished.

Checked: every import succeeded, its counts add up to its file's rows with no failed row, and each person
(email key, any case) became exactly one contact: the contacts stored equal the distinct addresses of all
files, and the imports' created counts add up to them. Printed: jobs per minute (from the first upload to
the last import done), the p50 / p95 / max time from an upload to its import being done (the server's own
created_at and finished_at), and the peak memory (VmHWM) and last resident size of the host and of each
worker. Run from the repository root:

    python -m bench.bench_load [--uploads 20] [--rows 5000] [--backend sqlite|postgresql] [--worker-processes 2]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bench.bench_customers import fresh_database, prepare_database
from bench.generate_customers import DEFAULT_COMPANIES, write_customers

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).with_name("contact-importer"))
REDIS_URL = "redis://127.0.0.1:6379/14"
ADMIN = "load-admin@example.com"


def multipart(fields: dict[str, str], file_name: str, body: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + body + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def api(url: str, token: str, path: str, *, data: bytes | None = None, content_type: str = "") -> dict:
    request = urllib.request.Request(url + path, data=data, method="POST" if data is not None else "GET",
                                     headers={"Authorization": f"Bearer {token}",
                                              **({"Content-Type": content_type} if content_type else {})})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM (peak resident) and VmRSS (resident now) of a process, in kB; empty once it has ended."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("VmHWM", "VmRSS"))}


class MemorySampler(threading.Thread):
    """Samples the resident size of some processes every `every` seconds: the highest and the last seen."""

    def __init__(self, processes: dict[str, int], every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.processes, self.every = processes, every
        self.peak_kb = {name: 0 for name in processes}
        self.last_kb = {name: 0 for name in processes}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            for name, pid in self.processes.items():
                rss = memory_kb(pid).get("VmRSS")
                if rss is not None:
                    self.peak_kb[name] = max(self.peak_kb[name], rss)
                    self.last_kb[name] = rss


def distinct_keys(files: Sequence[bytes]) -> int:
    """How many people the files name: distinct email keys, by the product's own rule."""
    import csv

    from plugin.emails import InvalidEmail, email_key, normalize_email

    keys: set[str] = set()
    for body in files:
        for row in csv.DictReader(io.StringIO(body.decode("utf-8"))):
            try:
                keys.add(email_key(normalize_email(row["email"])))
            except InvalidEmail:
                pass
    return len(keys)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]  # the nearest rank


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def run(args: argparse.Namespace, folder: Path, database_url: str) -> int:
    from adapters.bootstrap import bootstrap
    from adapters.db import tokens
    from adapters.db.accounts import create_admin
    from adapters.passwords import Argon2Hasher
    from plugin.settings import load_settings

    queue_name = f"bench-load-{uuid.uuid4().hex}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CONTACT_IMPORTER_")}
    env.update(CONTACT_IMPORTER_DATABASE_URL=database_url, CONTACT_IMPORTER_QUEUE_PATH=str(folder / "queue.db"),
               CONTACT_IMPORTER_QUEUE_NAME=queue_name, CONTACT_IMPORTER_UPLOAD_DIR=str(folder / "uploads"),
               CONTACT_IMPORTER_SECRET_KEY="bench-load-" + "k" * 40, CONTACT_IMPORTER_ROW_LIMIT=str(args.rows),
               CONTACT_IMPORTER_REDIS_URL=REDIS_URL if args.backend == "postgresql" else "")
    prepare_database(database_url, companies=DEFAULT_COMPANIES)
    settings = load_settings(environ=env)
    services = bootstrap(settings, hasher=Argon2Hasher(memory_cost=1024, time_cost=1))
    engine = services.store.engine  # type: ignore[attr-defined]
    create_admin(engine, services.hasher, ADMIN, "load-password-7")  # type: ignore[arg-type]
    token = tokens.create_token(engine, ADMIN, name="bench_load")

    files = []
    for number in range(args.uploads):
        out = io.StringIO()
        write_customers(out, args.rows, seed=1000 + number, bad_rate=0.0)
        files.append(out.getvalue().encode())
    people = distinct_keys(files)

    logs = {name: (folder / f"{name}.log").open("wb") for name in ["host", *(f"worker{n}" for n in range(1, args.worker_processes + 1))]}
    host = subprocess.Popen([CLI, "serve", "--port", "0", "--no-worker"], env=env, cwd=folder, stdout=subprocess.PIPE,
                            stderr=logs["host"], text=True, start_new_session=True)
    processes: dict[str, subprocess.Popen] = {"host": host}
    try:
        url = host.stdout.readline().strip().split(": ", 1)[1]  # type: ignore[union-attr]
        for n in range(1, args.worker_processes + 1):
            processes[f"worker{n}"] = subprocess.Popen(
                [CLI, "worker", "--max-delay", "0.5", *(["--workers", str(args.threads)] if args.threads else [])],
                env=env, cwd=folder, stdout=logs[f"worker{n}"], stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not all("Huey consumer started" in (folder / f"worker{n}.log").read_text(errors="replace")
                      for n in range(1, args.worker_processes + 1)):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.1)
        sampler = MemorySampler({name: process.pid for name, process in processes.items()})
        sampler.start()

        jobs: list[int | None] = [None] * args.uploads
        failures: list[str] = []
        start = threading.Barrier(args.uploads)

        def upload(index: int) -> None:
            body, content_type = multipart({"kind": "customers"}, f"load-{index}.csv", files[index])
            start.wait()
            try:
                jobs[index] = api(url, token, "/api/v1/imports", data=body, content_type=content_type)["job"]
            except Exception as error:  # reported below
                failures.append(f"upload {index}: {error}")

        clients = [threading.Thread(target=upload, args=(index,)) for index in range(args.uploads)]
        began = time.monotonic()
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        if failures:
            raise RuntimeError("; ".join(failures))
        documents: dict[int, dict] = {}
        deadline = time.monotonic() + args.timeout
        while len(documents) < args.uploads:
            for job_id in jobs:
                if job_id is not None and job_id not in documents:
                    document = api(url, token, f"/api/v1/imports/{job_id}")
                    if document["is_finished"]:
                        documents[job_id] = document
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args.uploads - len(documents)} imports did not finish in {args.timeout} s")
            time.sleep(0.2)
        wall = time.monotonic() - began
        sampler.stopped.set()
        sampler.join()
        peaks = {name: memory_kb(process.pid) for name, process in processes.items()}
    finally:
        for process in processes.values():
            stop(process)
        for handle in logs.values():
            handle.close()
        if settings.redis_url:
            from adapters.jobs import make_huey

            make_huey(settings).storage.flush_all()  # this run's queue only

    from sqlalchemy import text

    with engine.connect() as connection:
        contacts = connection.execute(text("SELECT count(*) FROM contacts")).scalar_one()
        timing = {job_id: (created, finished) for job_id, created, finished in connection.execute(
            text("SELECT id, created_at, finished_at FROM import_jobs WHERE kind = 'customers'"))}
    services.close()

    problems = []
    for job_id, document in documents.items():
        counted = document["created"] + document["updated"] + document["unchanged"]
        if document["status"] != "succeeded" or document["failed"] or counted != args.rows:
            problems.append(f"import {job_id}: {document['status']}, {document['created']} created, "
                            f"{document['updated']} updated, {document['unchanged']} unchanged, "
                            f"{document['failed']} failed: {document.get('message', '')}")
    created = sum(document["created"] for document in documents.values())
    if contacts != people or created != people:
        problems.append(f"{people:,} people in the files, {contacts:,} contacts stored, {created:,} created by the imports")

    def seconds(moment: object) -> float:
        value = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
        return value.timestamp()

    waits = [seconds(finished) - seconds(created_at) for created_at, finished in timing.values()]
    span = max(seconds(f) for _, f in timing.values()) - min(seconds(c) for c, _ in timing.values())
    print(f"{args.backend}: {args.uploads} uploads of {args.rows:,} rows at once, {args.worker_processes} worker "
          f"processes ({args.threads or settings.worker_count} imports each at a time), {people:,} people")
    print(f"  jobs per minute      {args.uploads / span * 60:8.1f}   ({span:.1f} s from the first upload to the "
          f"last import done; {wall:.1f} s as the clients saw it)")
    print(f"  upload to done       p50 {statistics.median(waits):6.1f} s   p95 {percentile(waits, 0.95):6.1f} s   "
          f"max {max(waits):6.1f} s")
    print(f"  rows per second      {args.uploads * args.rows / span:8.0f}")
    worker_logs = "".join((folder / f"{name}.log").read_text(errors="replace") for name in processes if name != "host")
    print(f"  batch transactions run again (deadlock, lock) {worker_logs.count('trying again')}, "
          f"batches planned again (stale plan) {worker_logs.count('planned again')}")
    for name in processes:
        print(f"  {name:<8} memory    peak {peaks[name].get('VmHWM', sampler.peak_kb[name]) / 1024:6.1f} MB   "
              f"resident at the end {sampler.last_kb[name] / 1024:6.1f} MB")
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        for name in processes:
            log = (folder / f"{name}.log").read_text(errors="replace")
            if "Traceback" in log:
                print(f"--- {name}.log, its first traceback:\n" + log[log.index("Traceback"):][:6000])
        return 1
    print(f"  checked: every import succeeded with its {args.rows:,} rows, none failed; {contacts:,} contacts, "
          "one per person")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20, help="files uploaded at the same moment (default 20)")
    parser.add_argument("--rows", type=int, default=5000, help="rows in each file (default 5000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--worker-processes", type=int, default=2, help="`contact-importer worker` processes (default 2)")
    parser.add_argument("--threads", type=int, default=0,
                        help="imports each worker runs at once (default: the worker_count setting)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for all imports (default 1800)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as temporary:
        folder = Path(temporary)
        with fresh_database(args.backend, folder) as database_url:
            status = run(args, folder, database_url)
    sys.exit(status)


if __name__ == "__main__":
    main()
