"""Web fixtures: a real SQLite database with an admin, a support admin and an agent; the standalone host on
it; real `contact-importer worker` processes; a live server in a thread; Debian's Chromium via Playwright."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from adapters.bootstrap import bootstrap
from adapters.db.agents import agents
from adapters.db.accounts import create_admin
from adapters.db.models import contacts, import_jobs
from adapters.db.import_queue import web_queued_imports
from adapters.db.uploads import web_uploads
from adapters.jobs import ImportQueue, make_import_queue
from adapters.passwords import Argon2Hasher
from adapters.web.host import create_app
from adapters.web.server import make_wsgi_server
from adapters.web.security import CSRF_SESSION_KEY
from plugin.services import Services
from plugin.settings import Settings, load_settings
from tests.conftest import FAST_HASHES
from tests.processes import (CONTACT_IMPORTER, ContactImporterProcess, environment_for, start_contact_importer,
                             wait_until)

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct-horse-7"
ADMIN, SUPPORT_ADMIN, AGENT = "admin@example.com", "support@example.com", "agent@example.com"
WORKER = CONTACT_IMPORTER  # the console script of this venv


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    return load_settings(environ={}).replace(
        database_url=f"sqlite:///{tmp_path}/contacts.db", queue_path=str(tmp_path / "queue.db"),
        upload_dir=str(tmp_path / "uploads"), secret_key="test-secret-key-" + "x" * 32, batch_size=5)


@pytest.fixture
def web_services(web_settings: Settings) -> Iterator[Services]:
    services = bootstrap(web_settings, hasher=Argon2Hasher(**FAST_HASHES))
    add_people(services)
    yield services
    services.store.engine.dispose()  # type: ignore[attr-defined]


def add_people(services: Services) -> None:
    """The first admin (as `users create-admin` makes it), then a support admin and an agent, imported."""
    engine = services.store.engine  # type: ignore[attr-defined]
    create_admin(engine, services.hasher, ADMIN, PASSWORD, first_name="Ada")  # type: ignore[attr-defined]
    people = ("email,first_name,last_name,password,role\n"
              f"{SUPPORT_ADMIN},Sam,Support,{PASSWORD},support_admin\n"
              f"{AGENT},Alex,Agent,{PASSWORD},agent\n")
    report = services.imports.import_file("users", io.BytesIO(people.encode()), file_name="people.csv", actor="setup")
    assert (report.created, report.failed) == (2, 0), report.as_dict()


@pytest.fixture
def immediate_queue(web_services: Services) -> ImportQueue:
    """Jobs run inline when enqueued (huey's immediate mode): for tests about pages and permissions."""
    return make_import_queue(web_services, immediate=True)


@pytest.fixture
def app(web_settings: Settings, web_services: Services, immediate_queue: ImportQueue) -> Flask:
    return create_app(web_settings, services=web_services, queue=immediate_queue)


@dataclass
class Browser:
    """A test client that signs in like a person and sends the CSRF token like the pages do."""

    client: FlaskClient

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.client.get("/sign-in")
        response = self.client.post("/sign-in", data={"email": email, "password": password, "csrf_token": self.csrf})
        assert response.status_code == 302, response.text

    @property
    def csrf(self) -> str:
        with self.client.session_transaction() as session:
            token = session.get(CSRF_SESSION_KEY)
        if token is None:
            self.client.get("/sign-in")
            with self.client.session_transaction() as session:
                token = session[CSRF_SESSION_KEY]
        return str(token)

    def post_import(self, csv_text: str | bytes, *, kind: str = "customers", file_name: str = "people.csv",
                    headers: dict[str, str] | None = None, **fields: str):  # type: ignore[no-untyped-def]
        body = csv_text.encode() if isinstance(csv_text, str) else csv_text
        return self.client.post("/api/v1/imports", data={"kind": kind, "file": (io.BytesIO(body), file_name), **fields},
                                headers={"X-CSRF-Token": self.csrf, **(headers or {})},
                                content_type="multipart/form-data")

    def upload_page(self, csv_text: str, *, kind: str = "customers", file_name: str = "people.csv"):  # type: ignore[no-untyped-def]
        return self.client.post(f"/importer/new/{kind}", data={"csrf_token": self.csrf,
                                                                "file": (io.BytesIO(csv_text.encode()), file_name)},
                                content_type="multipart/form-data")


@pytest.fixture
def browser_for(app: Flask) -> Callable[[str | None], Browser]:
    def make(email: str | None) -> Browser:
        browser = Browser(app.test_client())
        if email is not None:
            browser.sign_in(email)
        return browser

    return make


def counts(engine: Engine) -> dict[str, int]:
    """What a forbidden call must not change."""
    with engine.connect() as connection:
        return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (import_jobs, contacts, agents, web_uploads, web_queued_imports)}


def files_in(folder: str | Path) -> list[str]:
    path = Path(folder)
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def customers_csv(rows: int, *, bad_every: int = 0, header: str = "E-mail Address,Given Name,Surname") -> str:
    lines = [header]
    for number in range(1, rows + 1):
        email = f"not-an-email-{number}" if bad_every and number % bad_every == 0 else f"person{number}@example.com"
        lines.append(f"{email},First{number},Last{number}")
    return "\n".join(lines) + "\n"


# ---- real worker processes


def worker_environment(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a separately started worker reads its settings from (only ours, no leftovers)."""
    return {**environment_for(settings), **extra}


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., ContactImporterProcess]]:
    started: list[ContactImporterProcess] = []

    def start(settings: Settings, *args: str) -> ContactImporterProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        worker = ContactImporterProcess(start_contact_importer(["worker", "--max-delay", "0.5", *args], log=log,
                                                               settings=settings, cwd=tmp_path), log)
        started.append(worker)
        wait_until(lambda: "Huey consumer started" in worker.output() or worker.process.poll() is not None,
                   what="the worker to start", log=log)
        assert worker.process.poll() is None, worker.output()
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=10)


def wait_for(condition: Callable[[], object], *, timeout: float = 30, every: float = 0.1, what: str = "") -> object:
    return wait_until(condition, timeout=timeout, every=every, what=what)


# ---- live server and Chromium


@pytest.fixture
def live_server(web_settings: Settings, web_services: Services) -> Iterator[str]:
    """The standalone host served by waitress (as `serve` runs it: make_wsgi_server) in a thread, on a free port,
    with a real (file-backed) queue."""
    app = create_app(web_settings, services=web_services, queue=make_import_queue(web_services))
    server = make_wsgi_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(5)


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium: apt-get install -y --no-install-recommends chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"web-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


def watch_the_bar(page) -> None:  # type: ignore[no-untyped-def]
    """From now on, every value the progress bar takes is added to window.seen (the polling really ran)."""
    page.evaluate("""() => {
        window.seen = [];
        const bar = document.querySelector('#bar');
        new MutationObserver(() => window.seen.push(+bar.getAttribute('aria-valuenow')))
            .observe(bar, {attributes: true, attributeFilter: ['aria-valuenow']});
    }""")


def job_id_from(url: str) -> int:
    found = re.search(r"/jobs/(\d+)", url)
    assert found, url
    return int(found.group(1))
