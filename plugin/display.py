"""A stored field value as people read it: one function, used wherever changes are shown (undo steps, dry-run row
results, result pages), so no page or command ever prints a Python repr such as frozenset({'Demo'})."""

from __future__ import annotations

from collections.abc import Collection

from plugin.plan import HIDDEN

EMPTY = "(empty)"


def shown_value(value: object, *, field: str = "", secret_names: Collection[str] = ()) -> str:
    """'Demo, Trial' for labels, teams and groups (names sorted, joined); 'yes'/'no' for booleans; '(empty)' for
    nothing; '(hidden)' for a secret field (a password); any other value as its text."""
    if field and field in secret_names or value == HIDDEN:
        return HIDDEN
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (set, frozenset, list, tuple)):
        names = sorted(str(name) for name in value)
        return ", ".join(names) if names else EMPTY
    return str(value)


def shown_change(field: str, old: object, new: object, *, secret_names: Collection[str] = ()) -> str:
    """'labels: Demo, Trial → (empty)': one change of one field."""
    return (f"{field}: {shown_value(old, field=field, secret_names=secret_names)} → "
            f"{shown_value(new, field=field, secret_names=secret_names)}")
