"""Per-row results as people read them: the record by email and name, each change's field by its name and its
values with names for ids. What the result, preview and customer pages list (one home: plugin.display)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from plugin.display import ID_FIELDS, Names, shown_field, shown_record, shown_value
from plugin.ports.unit_of_work import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a longer list: its items, its number (from 1) and whether another page follows."""

    items: list[T]
    number: int
    has_next: bool

    @classmethod
    def cut(cls, fetched: list[T], number: int, per_page: int) -> Page[T]:
        """From `per_page + 1` items fetched: the page, and whether there is more (no empty last page offered)."""
        return cls(fetched[:per_page], number, len(fetched) > per_page)


@dataclass(frozen=True, slots=True)
class ShownChange:
    field: str
    old: str | None  # None: the field had no value before (a new record)
    new: str


@dataclass(frozen=True, slots=True)
class ShownRow:
    row: int
    action: str
    record: str  # "Ann Lee <ann@example.com>", a company's name, or '' for a failed row
    changes: tuple[ShownChange, ...]
    errors: tuple[Mapping[str, object], ...]


def names_for(work: UnitOfWork, kind: str, record_ids: Iterable[int | None],
              changes: Iterable[Mapping[str, object]]) -> Names:
    """The names a page of rows needs: its records', and those of the ids its changes hold (companies)."""
    ids_by_kind: dict[str, set[int]] = {}
    for change in changes:
        target = ID_FIELDS.get(str(change.get("field", "")))
        if target is not None:
            ids_by_kind.setdefault(target, set()).update(
                value for value in (change.get("old"), change.get("new")) if isinstance(value, int))
    by_kind = {"companies": work.records.company_names(ids_by_kind.get("companies", set()))}
    return Names(by_kind, work.records.people(kind, [record for record in record_ids if record is not None]))


def shown_changes(changes: Sequence[Mapping[str, object]], names: Names, secret_names: Iterable[str]
                  ) -> tuple[ShownChange, ...]:
    secrets = frozenset(secret_names)
    shown = []
    for change in changes:
        field = str(change.get("field", ""))
        old = change.get("old")
        had_value = old is not None and old != [] and old != ""
        shown.append(ShownChange(shown_field(field),
                                 shown_value(old, field=field, secret_names=secrets, names=names) if had_value else None,
                                 shown_value(change.get("new"), field=field, secret_names=secrets, names=names)))
    return tuple(shown)


def _record_text(row: Mapping[str, Any], names: Names, key: str) -> str:
    if row.get("action") == "failed":
        return ""
    record_id = row.get("record_id")
    if isinstance(record_id, int):
        return shown_record(record_id, names)
    keys = [change.get("new") for change in row.get("changes") or () if change.get("field") == key]
    return str(keys[0]) if keys and keys[0] else ""


def shown_rows(work: UnitOfWork, kind: str, rows: Sequence[Mapping[str, Any]], secret_names: Iterable[str],
               *, key: str = "email") -> list[ShownRow]:
    """Rows of per-row results (row, action, record_id, changes, errors) as people read them. A record a preview
    would create has no id yet: it is shown by its key's value (the email, a company's name)."""
    all_changes = [change for row in rows for change in row.get("changes") or ()]
    names = names_for(work, kind, [row.get("record_id") for row in rows], all_changes)
    return [ShownRow(int(row["row"]), str(row["action"]), _record_text(row, names, key),
                     shown_changes(row.get("changes") or (), names, secret_names), tuple(row.get("errors") or ()))
            for row in rows]
