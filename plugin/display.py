"""Values as people read them: the one home for what pages, commands and notices show of stored values.

No page or command ever prints a Python repr such as frozenset({'Demo'}), an id where a name exists
(`company_id: 1` is "company: Acme Ltd"), or "Record 2228" where a person has an email and a name."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from plugin.plan import HIDDEN

EMPTY = "(empty)"
FIELD_WORDS = {"company_id": "company", "labels_id": "labels", "is_active": "active", "type": "account type"}  # fields named as people say
ID_FIELDS = {"company_id": "companies"}  # fields holding an id, and what the id names


@dataclass(frozen=True, slots=True)
class Names:
    """What ids stand for, as far as a page needs them: {"companies": {1: "Acme Ltd"}}; records of a kind by id."""

    by_kind: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    records: Mapping[int, str] = field(default_factory=dict)

    def of(self, kind: str, value: object) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return self.by_kind.get(kind, {}).get(value)
        return None


NO_NAMES = Names()


def shown_field(field: str) -> str:
    """'company' for company_id, 'first name' for first_name: a field as people call it."""
    return FIELD_WORDS.get(field, field.replace("_", " "))


def shown_value(value: object, *, field: str = "", secret_names: Collection[str] = (), names: Names = NO_NAMES) -> str:
    """'Demo, Trial' for labels, teams and groups (names sorted, joined); 'yes'/'no' for booleans; '(empty)' for
    nothing; '(hidden)' for a secret field (a password); a company's name for its id; any other value as its text."""
    if field and field in secret_names or value == HIDDEN:
        return HIDDEN
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (set, frozenset, list, tuple)):
        names_sorted = sorted(str(name) for name in value)
        return ", ".join(names_sorted) if names_sorted else EMPTY
    if field in ID_FIELDS and ID_FIELDS[field] in names.by_kind:
        named = names.of(ID_FIELDS[field], value)
        return named if named is not None else f"(removed since, id {value})"
    return str(value)


def shown_change(field: str, old: object, new: object, *, secret_names: Collection[str] = (),
                 names: Names = NO_NAMES) -> str:
    """'labels: Demo, Trial → (empty)': one change of one field."""
    return (f"{field}: {shown_value(old, field=field, secret_names=secret_names, names=names)} → "
            f"{shown_value(new, field=field, secret_names=secret_names, names=names)}")


def shown_person(email: str, first_name: str | None = None, last_name: str | None = None) -> str:
    """'Ann Lee <ann@example.com>', or the email alone: a customer or an agent, never 'Record 2228'."""
    name = " ".join(part for part in (first_name, last_name) if part)
    return f"{name} <{email}>" if name else email


def shown_record(record_id: int | None, names: Names = NO_NAMES) -> str:
    """The person (or company) a row wrote, by email and name; '' when the row wrote nothing."""
    if record_id is None:
        return ""
    return names.records.get(record_id, "(removed since)")
