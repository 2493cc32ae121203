"""Side effects muted during imports: a host's hooks hear of an import once, per record only when asked."""

from __future__ import annotations

import io

from sqlalchemy import Engine

from adapters.bootstrap import bootstrap
from plugin.hooks import hookimpl
from plugin.settings import Settings


class HostPlugin:
    """A helpdesk's plugin that would send welcome mail per contact, and one message per import."""

    def __init__(self) -> None:
        self.imports: list[tuple[str, int, int, int]] = []
        self.records: list[tuple[int, str]] = []

    @hookimpl
    def records_imported(self, kind: str, job_id: int, created: int, updated: int) -> None:
        self.imports.append((kind, job_id, created, updated))

    @hookimpl
    def record_imported(self, record_id: int, action: str) -> None:
        self.records.append((record_id, action))


CSV = "email,first_name\nold@example.com,Olga\n" + "".join(f"new{n}@example.com,N{n}\n" for n in range(10)) + "bad@,X\n"


def test_an_import_fires_one_hook_with_its_counts_and_no_per_record_hook(settings: Settings, engine: Engine) -> None:
    host = HostPlugin()
    services = bootstrap(settings, engine=engine, plugins=(host,))
    services.imports.import_file("customers", io.BytesIO(b"email,first_name\nold@example.com,Old\n"))
    report = services.imports.import_file("customers", io.BytesIO(CSV.encode()))
    services.imports.import_file("customers", io.BytesIO(CSV.encode()), dry_run=True)
    assert (report.created, report.updated, report.failed) == (10, 1, 1)
    assert len(host.imports) == 2  # the two applied imports; not the dry run, and never per record
    kind, job_id, created, updated = host.imports[1]
    assert (kind, job_id, created, updated) == ("customers", report.job, 10, 1)
    assert host.records == []


def test_per_record_hooks_run_only_when_the_admin_asks(settings: Settings, engine: Engine) -> None:
    host = HostPlugin()
    services = bootstrap(settings.replace(import_side_effects=True), engine=engine, plugins=(host,))
    report = services.imports.import_file("customers", io.BytesIO(CSV.encode()))
    assert sorted(action for _, action in host.records) == ["created"] * 11
    assert len({record_id for record_id, _ in host.records}) == 11  # each record once
    asked_per_import = HostPlugin()
    quiet = bootstrap(settings, engine=engine, migrate=False, plugins=(asked_per_import,))
    quiet.imports.import_file("customers", io.BytesIO(b"email,first_name\nmore@example.com,M\n"), options={"side_effects": True})
    assert [action for _, action in asked_per_import.records] == ["created"]
    assert report.created == 11
