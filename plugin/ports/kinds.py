"""A kind's storage, as the core sees it: which kind it stores and how its records are exported.

The storage adapter registers one for each kind it stores (the built-in kinds through the same hook a third-party
plugin implements, plugin.hooks.register_kind_storage); what else it carries (its record table, its undo table)
only the adapter reads, so the core never sees a database type."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

# The headers and the rows of every record of one kind, in the kind's import format.
Exported = tuple[list[str], Iterator[list[object]]]


class KindStorage(Protocol):
    """Where one kind's records live; `kind` is the name of the kind (ImportKind.name) it stores."""

    @property
    def kind(self) -> str: ...


Exporter = Callable[[], Exported]


class KindWithoutStorage(LookupError):
    """A kind was registered with no storage, or a storage for no kind: said at start-up, naming the kind."""
