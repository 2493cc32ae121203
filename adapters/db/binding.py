"""Functions that take a `bind`: an Engine (their own transaction) or a unit of work's Connection (its transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

Bind = Engine | Connection


@contextmanager
def writing(bind: Bind) -> Iterator[Connection]:
    """A connection to write on: the unit of work's own (it commits), or a new transaction on the engine."""
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.begin() as connection:
            yield connection


@contextmanager
def reading(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
    else:
        with bind.connect() as connection:
            yield connection
