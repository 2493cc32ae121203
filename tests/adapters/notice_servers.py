"""What the notice tests share: a real HTTP listener and a real SMTP server (aiosmtpd) on loopback, services that
notify, an import to be told about, and the README's signature check written out again."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import Engine

from adapters.bootstrap import bootstrap
from plugin.report import ImportReport
from plugin.services import Services
from plugin.settings import Settings
from tests.smtp import Outbox, free_port, running_smtp  # noqa: F401  (the notices tests import them from here)

SECRET = "s3cret-for-tests"
ANN = "ann@help.example"  # the person who starts the imports
CUSTOMERS_CSV = ("email,first_name,last_name,phone\n"
                 "zoe.quill@example.org,Zoe,Quill,+44 7700 900123\n"
                 "yann.brook@example.org,Yann,Brook,\n"
                 "not-an-email,Xavier,Marsh,\n")
ROW_DATA = ("zoe.quill", "yann.brook", "Quill", "Brook", "Xavier", "Marsh", "not-an-email", "7700")



@dataclass
class Listener:
    """An HTTP server in a thread: answers POSTs with the statuses in `answers`, in turn (the last one repeats)."""

    answers: list[int] = field(default_factory=lambda: [200])
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def bodies(self) -> list[dict]:  # type: ignore[type-arg]
        return [json.loads(body) for _, body in self.received]


@contextmanager
def running_listener() -> Iterator[Listener]:
    """A Listener on 127.0.0.1 (port 0: a free one), shut down on leaving."""
    heard = Listener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            heard.received.append((dict(self.headers.items()), body))
            status = heard.answers[min(len(heard.received), len(heard.answers)) - 1]
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"try later")

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    heard.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/importer?team=support"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield heard
    finally:
        server.shutdown()
        server.server_close()
        thread.join()



def notifying(settings: Settings, engine: Engine, **changes: object) -> Services:
    return bootstrap(settings.replace(public_url="https://help.example", notice_attempts=3, notice_retry_seconds=60,
                                      **changes), engine=engine)


def import_customers(services: Services, *, actor: str = ANN, dry_run: bool = False) -> ImportReport:
    return services.imports.import_file("customers", io.BytesIO(CUSTOMERS_CSV.encode()), file_name="march.csv",
                                        actor=actor, dry_run=dry_run)


def at(seconds: float) -> Callable[[], datetime]:
    """A clock standing `seconds` from now (notices queued just now are due at once)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return lambda: moment


def verified(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """The README's verification, written out again here: HMAC-SHA256 over timestamp, '.', body."""
    signed = headers["X-Contact-Importer-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Contact-Importer-Signature"])


