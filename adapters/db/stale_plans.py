"""Another writer between a batch's plan and its write: the one way every kind (customers, agents, companies)
meets it.

A batch is planned on a read made before its write transaction began; meanwhile another import, mail capture
or a person may have created a record the plan would create. So (adapters.db.store.SqlImportStore.apply_batch):
1. The inserts say ON CONFLICT (key) DO NOTHING, and `raise_unless_inserted` turns a row that lost its key into
   StalePlan: nothing of the batch is kept. Until that happens a batch costs no query more.
2. The batch is then written once more, reading first: `take_turns_creating` (on PostgreSQL, writers that
   create records take turns, one advisory lock held until commit; SQLite has one writer at a time already,
   from the batch's first write on), then `plan_again_where_taken` reads the batch's new keys again, and rows
   whose key is now stored are planned again, by the core (plugin.pipeline), against that record: they update
   it (or leave it unchanged), never counted as created, so an undo of the import never removes a record
   someone else created. However busy the other writer is, this attempt makes progress.
3. Only a writer that does not take turns can still take a key in between: StalePlan reaches the pipeline,
   which plans the batch again from a fresh read, where that row is an update.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence

from sqlalchemy import Connection

from adapters.db.engine import is_postgresql
from plugin.plan import Action, Existing, PlannedRow
from plugin.ports import Replan, StalePlan

logger = logging.getLogger(__name__)

# PostgreSQL advisory lock key ("USER", for the usernames it first guarded) held by a transaction while it
# creates records: imports of every kind, and mail capture making usernames (adapters.db.usernames).
CREATING_LOCK = 0x55534552
FindByKeys = Callable[[Connection, Collection[str]], Mapping[str, Existing]]


def take_turns_creating(connection: Connection) -> None:
    """On PostgreSQL, wait for other writers creating records to commit, and hold the turn until this
    transaction ends. One lock, not one a key: PostgreSQL's lock table is small."""
    if is_postgresql(connection):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CREATING_LOCK})")


def new_keys(planned: Sequence[PlannedRow]) -> list[str]:
    return [row.key for row in planned if row.action is Action.CREATED and row.key is not None]


def plan_again_where_taken(connection: Connection, planned: Sequence[PlannedRow], find: FindByKeys,
                           replan: Replan, *, what: str) -> Sequence[PlannedRow]:
    """The batch as it is written: as planned, or, when records with some of its new keys were stored
    meanwhile (read in this transaction, after taking turns), planned again against them by `replan`."""
    keys = new_keys(planned)
    if not keys:
        return planned
    taken = find(connection, keys)
    if not taken:
        return planned
    logger.warning("%s: %d rows planned again: another writer created their records meanwhile, e.g. %s", what,
                   len(taken), min(taken))
    return replan(taken)


def raise_unless_inserted(rows: Sequence[PlannedRow], inserted_keys: Collection[object], title: str) -> None:
    """StalePlan when a row planned as new was not inserted: its key was stored meanwhile by someone else."""
    lost = sorted(str(row.key) for row in rows if row.key not in inserted_keys)
    if lost:
        raise StalePlan(f"{len(lost)} new {title} were created meanwhile by someone else, e.g. {lost[0]}")
