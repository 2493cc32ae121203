"""Free usernames for many new people at once, asked of the database a batch at a time, not a row at a time.

The rule (the email's local part, then a number) is plugin.usernames'; this module only finds out which
candidates a table holds already. Agents (the first admin) and customers (imports and mail capture) use it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, MutableMapping, Sequence

from typing import cast

from sqlalchemy import Column, Connection, Table

from adapters.db.engine import each_match
from adapters.db.stale_plans import take_turns_creating
from plugin.usernames import assign_usernames, numbered_username

_SLACK = 2  # candidates asked for beyond what a base needs, so a taken one or two cost no second query


def held_usernames(connection: Connection, column: Column, candidates: Collection[str]) -> set[str]:
    """Which of these names the column holds already, in one query (one parameter, whatever their number)."""
    if not candidates:
        return set()
    table = cast(Table, column.table)  # a Column of a Table (ColumnClause.table is any FROM clause)
    select = f"SELECT {column.name} FROM {table.name}"
    return {name for (name,) in each_match(connection, select, column.name, sorted(set(candidates)))}


def allocate_usernames(connection: Connection, column: Column, bases: Sequence[str], *,
                       reserved: Collection[str] = (), hints: MutableMapping[str, int] | None = None) -> list[str]:
    """One username per base, none held in the column yet nor given twice: 'jane', then 'jane2'...

    `reserved` are names about to be written by others (a batch's typed usernames). `hints` (base → the
    first number worth trying) is read and updated, so the batches of one import do not ask again about
    names their earlier batches took.
    """
    if not bases:
        return []
    hints = {} if hints is None else hints
    needed = Counter(bases)
    # Writers making usernames (imports, mail capture) take turns: otherwise two of them choose the same free
    # name (jane.doe2) at the same moment and wait on each other's inserts, often in opposite orders (a deadlock).
    take_turns_creating(connection)
    starts = {base: hints.get(base, 1) for base in needed}
    checked = {numbered_username(base, number) for base, count in needed.items()
               for number in range(starts[base], starts[base] + count + _SLACK)}
    taken = held_usernames(connection, column, checked) | set(reserved)
    while True:
        names = assign_usernames(bases, taken.__contains__, starts=starts)
        unchecked = set(names) - checked
        if not unchecked:
            break
        checked |= unchecked
        taken |= held_usernames(connection, column, unchecked)
    for base, name in zip(bases, names, strict=True):
        number = int(name[len(base):] or 1)
        if number > 1:  # a base given as it is needs no hint: the next batch finds it taken in the same query
            hints[base] = max(hints.get(base, 1), number + 1)  # so hints stay few, not one per new customer
    return names
