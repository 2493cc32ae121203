"""A kind is registered whole through the plugin hook: its declaration and its storage. A plugin's own kind then
imports and exports like the built-in ones; a kind registered without storage is refused at start-up by name."""

from __future__ import annotations

import io
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, insert, select, update

from adapters.bootstrap import bootstrap
from adapters.db.kind_storage import KindContext, SqlKindStorage
from plugin.hooks import hookimpl
from plugin.kinds import Catalog, Field, ImportKind
from plugin.plan import Action, Existing, PlannedRow
from plugin.ports.kinds import KindWithoutStorage
from plugin.report import Status
from plugin.settings import Settings
from plugin.validate import parse_name

ROOMS = ImportKind(name="rooms", title="rooms", key="name",
                   fields=(Field("name", parse_name, is_required_column=True, is_required_for_new=True),
                           Field("floor", parse_name)))
rooms = Table("test_plugin_rooms", MetaData(), Column("id", Integer, primary_key=True),
              Column("name_key", String(200), unique=True), Column("name", String(200)), Column("floor", String(200)))


class RoomTable:
    """The plugin's own record table: rooms by their name."""

    kind = "rooms"

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None, *,
             external_ids: Collection[tuple[str, str]] = ()) -> tuple[dict[str, Existing], dict[int, Existing]]:
        found = connection.execute(select(rooms).where(rooms.c.name_key.in_(list(keys)) | rooms.c.id.in_(list(ids))))
        existing = [Existing(id=row.id, key=row.name_key, values={"name": row.name, "floor": row.floor})
                    for row in found]
        return {record.key: record for record in existing}, {record.id: record for record in existing}

    def find_owners(self, connection: Connection, field: str, values: Collection[object]) -> dict[object, str]:
        return {}

    def write(self, connection: Connection, job_id: int, planned: Sequence[PlannedRow], *,
              options: Mapping[str, object], catalog: Catalog, now: datetime) -> dict[int, int]:
        written = {}
        for row in planned:
            if row.action is Action.CREATED:
                written[row.row] = connection.execute(insert(rooms).values(
                    name_key=row.key, name=row.values["name"], floor=row.values.get("floor"))).inserted_primary_key[0]
            elif row.action is Action.UPDATED and row.record_id is not None:
                connection.execute(update(rooms).where(rooms.c.id == row.record_id).values(
                    {name: value for name, value in row.values.items() if name in ("name", "floor")}))
                written[row.row] = row.record_id
        return written


def export_rooms(engine: Engine) -> tuple[list[str], Iterator[list[object]]]:
    def rows() -> Iterator[list[object]]:
        with engine.connect() as connection:
            for row in connection.execute(select(rooms).order_by(rooms.c.id)):
                yield [row.name, row.floor or ""]
    return ["name", "floor"], rows()


class RoomsKind:
    """A third-party plugin's kind: only its declaration."""

    @hookimpl
    def register_import_kinds(self) -> list[ImportKind]:
        return [ROOMS]


class RoomsStorage:
    """The same plugin's storage for it."""

    @hookimpl
    def register_kind_storage(self) -> list[SqlKindStorage]:
        return [SqlKindStorage("rooms", lambda _settings: RoomTable(), export_rooms)]


def test_a_plugins_kind_with_its_own_storage_imports_and_exports(settings: Settings, engine: Engine) -> None:
    rooms.metadata.create_all(engine)
    services = bootstrap(settings, engine=engine, plugins=(RoomsKind(), RoomsStorage()))
    try:
        report = services.imports.import_file("rooms", io.BytesIO(b"name,floor\nAtrium,0\nLoft,3\n"), file_name="r.csv")
        assert (report.status, report.created) == (Status.SUCCEEDED, 2)
        again = services.imports.import_file("rooms", io.BytesIO(b"name,floor\nLoft,4\n"), file_name="r.csv")
        assert (again.created, again.updated) == (0, 1)
        headers, rows = services.imports.export("rooms")
        assert (headers, list(rows)) == (["name", "floor"], [["Atrium", "0"], ["Loft", "4"]])
    finally:
        services.close()


def test_a_kind_registered_without_storage_is_refused_at_start_up_by_name(settings: Settings, engine: Engine) -> None:
    with pytest.raises(KindWithoutStorage, match="The import kind 'rooms' is registered without storage"):
        bootstrap(settings, engine=engine, plugins=(RoomsKind(),))


def test_storage_for_no_registered_kind_is_refused_at_start_up(settings: Settings, engine: Engine) -> None:
    with pytest.raises(KindWithoutStorage, match="storage for 'rooms', but no import kind has that name"):
        bootstrap(settings, engine=engine, plugins=(RoomsStorage(),))


def test_every_built_in_kind_exports_through_the_one_export_use_case(services) -> None:  # type: ignore[no-untyped-def]
    services.imports.import_file("customers", io.BytesIO(b"email,first_name\nann@example.com,Ann\n"), file_name="c.csv")
    headers, rows = services.imports.export("customers")
    assert headers[:2] == ["id", "email"] and [row[1] for row in rows] == ["ann@example.com"]
    assert services.imports.export("agents")[0][:2] == services.imports.export("users")[0][:2]
    assert "name" in services.imports.export("companies")[0]


class RoomsWithSteps:
    """The plugin's storage declaring what runs around the pipeline: a preparer that writes every floor in capitals
    (the batch as it is written), and a finisher that hears of every applied import, with the context's settings."""

    def __init__(self) -> None:
        self.finished: list[tuple[int | None, int, str]] = []

    @hookimpl
    def register_kind_storage(self) -> list[SqlKindStorage]:
        def prepare(context: KindContext):  # type: ignore[no-untyped-def]
            def for_batch(_progress):  # type: ignore[no-untyped-def]
                return lambda planned: [replace(row, values={**row.values, "floor": str(row.values["floor"]).upper()})
                                        if "floor" in row.values else row for row in planned]
            return for_batch

        def finish(context: KindContext):  # type: ignore[no-untyped-def]
            return lambda report, options: self.finished.append((report.job, report.created,
                                                                 context.settings.mail_from))

        return [SqlKindStorage("rooms", lambda _settings: RoomTable(), export_rooms, prepare=prepare, finish=finish)]


def test_a_plugins_kind_declares_its_preparer_and_finisher_with_its_storage(settings: Settings, engine: Engine) -> None:
    rooms.metadata.create_all(engine)
    steps = RoomsWithSteps()
    services = bootstrap(settings.replace(mail_from="rooms@example.com"), engine=engine, plugins=(RoomsKind(), steps))
    try:
        report = services.imports.import_file("rooms", io.BytesIO(b"name,floor\nAtrium,ground\n"), file_name="r.csv")
        services.imports.import_file("rooms", io.BytesIO(b"name,floor\nLoft,top\n"), file_name="r.csv", dry_run=True)
        assert list(services.imports.export("rooms")[1]) == [["Atrium", "GROUND"]]  # prepared before written
        assert steps.finished == [(report.job, 1, "rooms@example.com")]  # after the applied import, not the dry run
    finally:
        services.close()
