"""Records + a snapshot of what is stored → a Plan: each row created, updated, unchanged or failed, with its changes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from plugin.errors import RowError
from plugin.kinds import Catalog, ImportKind, singular
from plugin.validate import Record

HIDDEN = "(hidden)"


def hide_cells(cells: Sequence[str], hidden: Collection[int]) -> tuple[str, ...]:
    """The cells with those of the `hidden` columns (secrets: passwords) shown as HIDDEN; empty ones stay empty."""
    return tuple(HIDDEN if index in hidden and cell else cell for index, cell in enumerate(cells))


class Action(StrEnum):
    """What happens, or happened, to a row."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Existing:
    """A stored record as the planner sees it: its fields, its sets (labels, teams) and custom values."""

    id: int
    key: str
    values: Mapping[str, object]
    custom: Mapping[str, str] = field(default_factory=dict)
    claimed_by_row: int | None = None  # the row of this same import that already wrote it


class Change(NamedTuple):
    """One field's old and new value; secrets show as "(hidden)". A tuple: made for every value of every row."""

    field: str
    old: object
    new: object

    def as_dict(self) -> dict[str, object]:
        return {"field": self.field, "old": _plain(self.old), "new": _plain(self.new)}


def _plain(value: object) -> object:
    if isinstance(value, (frozenset, set)):
        return sorted(value)  # type: ignore[type-var]
    return value


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One row's fate: the values to write (only what changes), its changes, or its errors."""

    row: int
    action: Action
    key: str | None
    record_id: int | None = None
    values: Mapping[str, object] = field(default_factory=dict)
    custom: Mapping[str, str | None] = field(default_factory=dict)  # None: the stored value is cleared
    changes: tuple[Change, ...] = ()
    errors: tuple[RowError, ...] = ()
    cells: tuple[str, ...] = ()


def _failed(record: Record, *errors: RowError) -> PlannedRow:
    return PlannedRow(record.row, Action.FAILED, record.key, errors=tuple(record.errors) + errors, cells=record.cells)


def _changes_for_update(kind: ImportKind, record: Record, existing: Existing, options: Mapping[str, object]
                        ) -> tuple[dict[str, object], dict[str, str | None], list[Change]]:
    values: dict[str, object] = {}
    changes: list[Change] = []
    secrets = kind.secret_names
    for name, new in record.values.items():
        if name == "id":
            continue
        if name in secrets:
            values[name] = new
            changes.append(Change(name, HIDDEN, HIDDEN))
            continue
        old = existing.values.get(name)
        if isinstance(new, frozenset):
            old_set = old if isinstance(old, frozenset) else frozenset()
            target = new if options.get(f"replace_{name}") else old_set | new
            if target != old_set:
                values[name] = target
                changes.append(Change(name, old_set, target))
        elif name == kind.key and isinstance(old, str) and old.casefold() == str(new).casefold():
            continue  # the same address in other letters: the key matched, nothing to change
        elif old != new:
            values[name] = new
            changes.append(Change(name, old, new))
    custom: dict[str, str | None] = {}
    for variable, new_text in record.custom.items():
        old_text = existing.custom.get(variable)
        if old_text != new_text:
            custom[variable] = new_text
            changes.append(Change(variable, old_text, new_text))
    for target in record.cleared:  # empty cells of the columns the import clears (the option clear_empty)
        if target.startswith("custom:"):
            variable = target[7:]
            if existing.custom.get(variable) not in (None, ""):
                custom[variable] = None
                changes.append(Change(variable, existing.custom[variable], None))
        elif target not in record.values and existing.values.get(target) not in (None, ""):
            values[target] = None
            changes.append(Change(target, existing.values[target], None))
    return values, custom, changes


def _unique_value_taken(kind: ImportKind, record: Record, name: str, existing: Existing | None,
                        claims: MutableMapping[str, int], owners: Mapping[str, Mapping[object, str]] | None,
                        headers: Mapping[str, str]) -> RowError | None:
    """The error when the row's value of a unique field belongs to another record, stored or earlier in the file."""
    value = record.values.get(name)
    if value is None:
        return None
    column = headers.get(name, name)
    own_key = existing.key if existing is not None else record.key
    owner = (owners or {}).get(name, {}).get(value)
    if owner is not None and owner != own_key:
        return RowError(record.row, column, f"{name}.taken", f"The {name.replace('_', ' ')} {value!r} already belongs to "
                                                             f"another {singular(kind.title)}; choose another or leave the cell empty.")
    claim = f"{name}:{value}"
    earlier = claims.get(claim)
    if earlier is not None and earlier != record.row:
        return RowError(record.row, column, f"{name}.duplicate_in_file",
                        f"The {name.replace('_', ' ')} {value!r} is also given on row {earlier}; only the first row gets it.")
    claims[claim] = record.row
    return None


def plan_row(
    kind: ImportKind,
    record: Record,
    *,
    by_key: Mapping[str, Existing],
    by_id: Mapping[int, Existing],
    claims: MutableMapping[str, int],
    options: Mapping[str, object],
    headers: Mapping[str, str] | None = None,
    catalog: Catalog | None = None,
    owners: Mapping[str, Mapping[object, str]] | None = None,
    by_external: Mapping[tuple[str, str], Existing] | None = None,
) -> PlannedRow:
    """Decide one row; `claims` remembers which row of this file took each key, so a later twin fails.

    `headers` names the file's column for each field, so errors point at what the spreadsheet shows.
    `catalog` is what the kind's `complete_new` reads; `owners` (field → value → key of the stored record
    holding it) is what the store said about the batch's values of the kind's unique fields. `by_external`
    (external_by_id) finds the stored records by the external id rows give, when they give no id of ours.
    """
    headers = headers or {}
    key_column = headers.get(kind.key, kind.key)
    if record.has_errors:
        return _failed(record)
    assert record.key is not None  # validate_row reports a missing key as an error
    existing = by_key.get(record.key)
    record_id = record.values.get("id")
    external_id = external_key(record.values)
    if isinstance(record_id, int) and record_id not in by_id:
        return _failed(record, RowError(record.row, headers.get("id", "id"), "id.unknown",
                                        f"There is no {singular(kind.title)} with id {record_id}; leave the id empty "
                                        f"to match by {kind.key} (or create a new {singular(kind.title)})."))
    matched = by_id.get(record_id) if isinstance(record_id, int) else (by_external or {}).get(external_id)
    if matched is not None:
        existing = matched
        owner = by_key.get(record.key)
        if owner is not None and owner.id != existing.id:
            return _failed(record, RowError(record.row, key_column, f"{kind.key}.taken",
                                            f"{record.values[kind.key]} already belongs to another record (id {owner.id})."))
    if existing is None and external_id is not None:  # two new rows with one external id: the first creates it
        claim = "external_id:{}:{}".format(*external_id)
        earlier = claims.get(claim)
        if earlier is not None and earlier != record.row:
            return _failed(record, RowError(record.row, headers.get("external_id", "external_id"),
                                            "external_id.duplicate_in_file", f"The external id {external_id[1]!r} is "
                                            f"also given on row {earlier}; only the first row gets it."))
        claims[claim] = record.row
    identity = f"id:{existing.id}" if existing is not None else record.key
    earlier = claims.get(identity, claims.get(record.key))
    if earlier is None and existing is not None and existing.claimed_by_row not in (None, record.row):
        earlier = existing.claimed_by_row
    if earlier is not None:
        return _failed(record, RowError(record.row, key_column, f"{kind.key}.duplicate_in_file",
                                        f"{record.values[kind.key]} is a duplicate of row {earlier}; only the first is applied."))
    claims[identity] = record.row
    claims[record.key] = record.row
    for name in kind.unique_fields:
        taken = _unique_value_taken(kind, record, name, existing, claims, owners, headers)
        if taken is not None:
            return _failed(record, taken)
    if existing is None:
        missing = [name for name in kind.required_for_new if name not in record.values]
        if missing:
            return _failed(record, *(RowError(record.row, headers.get(name, name), f"{name}.required",
                                              f"A new {singular(kind.title)} needs a {name.replace('_', ' ')}; this cell is empty.")
                                     for name in missing))
        values = record.values
        if "id" in values:
            values = {name: value for name, value in values.items() if name != "id"}
        if kind.complete_new is not None and catalog is not None:
            values = kind.complete_new(values, catalog, options)
        secrets = kind.secret_names
        changes = tuple([*(Change(name, None, HIDDEN if name in secrets else value) for name, value in values.items()),
                         *(Change(variable, None, text) for variable, text in record.custom.items())])
        return PlannedRow(record.row, Action.CREATED, record.key, None, values, dict(record.custom), changes, cells=record.cells)
    values, custom, changes = _changes_for_update(kind, record, existing, options)
    action = Action.UPDATED if changes else Action.UNCHANGED
    return PlannedRow(record.row, action, record.key, existing.id, values, custom, tuple(changes), cells=record.cells)


def external_key(values: Mapping[str, object]) -> tuple[str, str] | None:
    """(external source, external id) of a row's or a stored record's values; None without an external id."""
    external_id, source = values.get("external_id"), values.get("external_source")
    return None if external_id is None or source is None else (str(source), str(external_id))


def external_by_id(found: Iterable[Existing]) -> dict[tuple[str, str], Existing]:
    """The stored records among `found` by their (external source, external id)."""
    return {external: existing for existing in found if (external := external_key(existing.values)) is not None}
