"""Undoing an import in the database: plugin.ports.UndoStore on one connection (one unit of work).

The use case (plugin.services.undo) reads the import's applied rows in batches, decides with plugin.undo and
writes each batch here in its own unit of work: records changed, per-row results and progress commit together; on
PostgreSQL the batch's records are locked (FOR UPDATE) between reading and writing them, so a mail poll or another
import cannot slip in between. The undo is a job of its own (operation "undo", options {"undo_of": N}) with its
own counts (removed, restored, deactivated, left alone).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import Connection, Row, Table, delete, insert, select, update

from adapters.db.agents import agent_teams, agents, invitations
from adapters.db.customers import CONTACT_FIELDS, read_created_at, stored_created_at
from adapters.db.engine import insert_many, is_postgresql, update_many
from adapters.db.models import (contact_labels, contacts, custom_fields, custom_values, customer_teams,
                                import_jobs, import_rows, labels, teams)
from adapters.db.store import RESULT_COLUMNS
from plugin.emails import email_key
from plugin.plan import Action
from plugin.ports import JobSummary
from plugin.ports.undo import UndoTraits
from plugin.report import Status
from plugin.undo import ImportedRow, StoredRecord, UndoAction, UndoStep, UndoTally, changes_from_json


class UndoTable(Protocol):
    """How one kind's records are read as they are now and changed back."""

    title: str
    can_deactivate: bool
    secret_names: frozenset[str]

    def stored(self, connection: Connection, ids: Sequence[int], *, job_id: int, finished_at: datetime,
               lock: bool) -> dict[int, StoredRecord]: ...

    def apply(self, connection: Connection, steps: Sequence[UndoStep], *, undo_job: int, now: datetime) -> None: ...


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without a zone; they were written in UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _changed_since_by(connection: Connection, found: Sequence[Row], *, job_id: int, finished_at: datetime
                      ) -> dict[int, str]:
    """Who changed each record since import `job_id` ("import 12", "someone, after the import"), "" for nobody.

    A later import that found a record unchanged marks it as its own (last_import_id, for resuming) without
    changing it: that import's result for the record's row says so, and such a mark changes nothing.
    """
    later_rows: dict[int, list[int]] = defaultdict(list)
    for record in found:
        if record.last_import_id not in (None, job_id) and record.last_import_row is not None:
            later_rows[record.last_import_id].append(record.last_import_row)
    actions: dict[tuple[int, int], str] = {}
    for later, rows in later_rows.items():
        for row, action in connection.execute(select(import_rows.c.row, import_rows.c.action).where(
                import_rows.c.job_id == later, import_rows.c.row.in_(rows))):
            actions[(later, row)] = action
    changed: dict[int, str] = {}
    for record in found:
        written = _utc(record.updated_at)
        if record.last_import_id is None:
            changed[record.id] = "someone, after the import"
        elif (record.last_import_id != job_id
              and actions.get((record.last_import_id, record.last_import_row)) != str(Action.UNCHANGED)):
            changed[record.id] = f"import {record.last_import_id}"
        elif written is not None and written > finished_at:
            changed[record.id] = "someone, after the import"
        else:
            changed[record.id] = ""
    return changed


def _locked(connection: Connection, query, lock: bool):  # type: ignore[no-untyped-def]
    return query.with_for_update() if lock and is_postgresql(connection) else query


def _set_links(connection: Connection, table: Table, owner_column: str, target_column: str,
               wanted: Mapping[int, frozenset[str]], ids_by_name: Mapping[str, int]) -> None:
    """Make each owner's links (labels, groups, teams) exactly the wanted names; names deleted since are skipped."""
    if not wanted:
        return
    connection.execute(delete(table).where(table.c[owner_column].in_(list(wanted))))
    insert_many(connection, table, (owner_column, target_column),
                [(owner, ids_by_name[name]) for owner, names in wanted.items() for name in sorted(names)
                 if name in ids_by_name], on_conflict="ON CONFLICT DO NOTHING")


def _restored_columns(steps: Sequence[UndoStep], columns: Mapping[str, str], *, undo_job: int, now: object
                      ) -> dict[tuple[str, ...], list[tuple[object, ...]]]:
    """Rows for update_many, grouped by the set of columns each record gets back."""
    groups: dict[tuple[str, ...], list[tuple[object, ...]]] = defaultdict(list)
    for step in steps:
        back = {columns[change.field]: change.new for change in step.restores if change.field in columns}
        if "email" in back:
            back["email_key"] = email_key(str(back["email"]))
        names = tuple(sorted(back))
        groups[names].append((*(back[name] for name in names), now, undo_job, step.record_id))
    return groups


class CustomerUndo:
    """Customers: contacts with their labels, groups and custom values."""

    title = "customer"
    can_deactivate = False
    secret_names: frozenset[str] = frozenset()
    columns = {name: name for name in CONTACT_FIELDS}

    def stored(self, connection: Connection, ids: Sequence[int], *, job_id: int, finished_at: datetime,
               lock: bool) -> dict[int, StoredRecord]:
        if not ids:
            return {}
        found = connection.execute(_locked(connection, select(
            contacts.c.id, contacts.c.updated_at, contacts.c.last_import_id, contacts.c.last_import_row,
            *(getattr(contacts.c, name) for name in self.columns)
        ).where(contacts.c.id.in_(ids)), lock)).all()
        sets: dict[int, dict[str, set[str]]] = defaultdict(lambda: {"labels": set(), "groups": set()})
        for contact_id, name in connection.execute(select(contact_labels.c.contact_id, labels.c.name).join(
                labels, labels.c.id == contact_labels.c.label_id).where(contact_labels.c.contact_id.in_(ids))):
            sets[contact_id]["labels"].add(name)
        for contact_id, name in connection.execute(select(customer_teams.c.contact_id, teams.c.name).join(
                teams, teams.c.id == customer_teams.c.team_id).where(customer_teams.c.contact_id.in_(ids))):
            sets[contact_id]["groups"].add(name)
        custom: dict[int, dict[str, str]] = defaultdict(dict)
        for contact_id, variable, value in connection.execute(select(
                custom_values.c.contact_id, custom_fields.c.variable, custom_values.c.value).join(
                custom_fields, custom_fields.c.id == custom_values.c.field_id)
                .where(custom_values.c.contact_id.in_(ids))):
            custom[contact_id][variable] = value
        changed = _changed_since_by(connection, found, job_id=job_id, finished_at=finished_at)
        records: dict[int, StoredRecord] = {}
        for row in found:
            values: dict[str, object] = {name: getattr(row, name) for name in self.columns}
            values["created_at"] = read_created_at(values["created_at"])
            values.update(custom[row.id])
            values.update({name: frozenset(names) for name, names in sets[row.id].items()})
            records[row.id] = StoredRecord(row.id, values, changed[row.id])
        return records

    def apply(self, connection: Connection, steps: Sequence[UndoStep], *, undo_job: int, now: datetime) -> None:
        removed = [step.record_id for step in steps if step.action is UndoAction.REMOVE]
        if removed:  # labels, groups and custom values go with them (ON DELETE CASCADE)
            connection.execute(delete(contacts).where(contacts.c.id.in_(removed)))
        restoring = [step for step in steps if step.action is UndoAction.RESTORE]
        if not restoring:
            return
        for names, params in _restored_columns(restoring, self.columns, undo_job=undo_job, now=now).items():
            if "created_at" in names:
                at = names.index("created_at")
                params = [(*row[:at], stored_created_at(connection, row[at]), *row[at + 1:]) for row in params]
            update_many(connection, contacts, (*names, "updated_at", "last_import_id"), params)
        restored_labels = {step.record_id: change.new for step in restoring for change in step.restores
                           if change.field == "labels"}
        restored_groups = {step.record_id: change.new for step in restoring for change in step.restores
                           if change.field == "groups"}
        _set_links(connection, contact_labels, "contact_id", "label_id", restored_labels,
                   dict(connection.execute(select(labels.c.name, labels.c.id)).all()) if restored_labels else {})
        _set_links(connection, customer_teams, "contact_id", "team_id", restored_groups,
                   dict(connection.execute(select(teams.c.name, teams.c.id)).all()) if restored_groups else {})
        known = {"labels", "groups", *self.columns}
        custom = [(step.record_id, change) for step in restoring for change in step.restores if change.field not in known]
        if custom:
            field_ids = dict(connection.execute(select(custom_fields.c.variable, custom_fields.c.id)
                                                .where(custom_fields.c.applies_to == "customers")).all())
            by_field: dict[int, list[int]] = defaultdict(list)  # a field deleted since has nothing to put back into
            for contact_id, change in custom:
                if change.field in field_ids:
                    by_field[field_ids[change.field]].append(contact_id)
            for field_id, contact_ids in by_field.items():  # one DELETE a field, not one a record and field
                connection.execute(delete(custom_values).where(custom_values.c.field_id == field_id,
                                                               custom_values.c.contact_id.in_(contact_ids)))
            insert_many(connection, custom_values, ("contact_id", "field_id", "value"),
                        [(contact_id, field_ids[change.field], change.new) for contact_id, change in custom
                         if change.field in field_ids and change.new is not None])


class AgentUndo:
    """Agents: removed if created and never used, deactivated if used since; updated ones get old values back."""

    title = "agent"
    can_deactivate = True
    secret_names = frozenset({"password"})
    columns = {"email": "email", "first_name": "first_name", "last_name": "last_name", "active": "is_active",
               "username": "username", "role": "role"}

    def stored(self, connection: Connection, ids: Sequence[int], *, job_id: int, finished_at: datetime,
               lock: bool) -> dict[int, StoredRecord]:
        if not ids:
            return {}
        found = connection.execute(_locked(connection, select(
            agents.c.id, agents.c.updated_at, agents.c.last_import_id, agents.c.last_import_row,
            agents.c.last_sign_in_at, *(getattr(agents.c, column) for column in self.columns.values()))
            .where(agents.c.id.in_(ids)), lock)).all()
        team_names: dict[int, set[str]] = defaultdict(set)
        for agent_id, name in connection.execute(select(agent_teams.c.agent_id, teams.c.name).join(
                teams, teams.c.id == agent_teams.c.team_id).where(agent_teams.c.agent_id.in_(ids))):
            team_names[agent_id].add(name)
        with_password_set = set(connection.execute(select(invitations.c.agent_id).where(
            invitations.c.agent_id.in_(ids), invitations.c.used_at.is_not(None))).scalars())
        changed = _changed_since_by(connection, found, job_id=job_id, finished_at=finished_at)
        records: dict[int, StoredRecord] = {}
        for row in found:
            values: dict[str, object] = {name: getattr(row, column) for name, column in self.columns.items()}
            values["teams"] = frozenset(team_names[row.id])
            records[row.id] = StoredRecord(
                row.id, values, changed[row.id],
                has_been_used=row.last_sign_in_at is not None or row.id in with_password_set)
        return records

    def apply(self, connection: Connection, steps: Sequence[UndoStep], *, undo_job: int, now: datetime) -> None:
        removed = [step.record_id for step in steps if step.action is UndoAction.REMOVE]
        if removed:  # teams and invitations go with them (ON DELETE CASCADE)
            connection.execute(delete(agents).where(agents.c.id.in_(removed)))
        deactivated = [step.record_id for step in steps if step.action is UndoAction.DEACTIVATE]
        if deactivated:
            connection.execute(update(agents).where(agents.c.id.in_(deactivated)).values(
                is_active=False, updated_at=now, last_import_id=undo_job))
        restoring = [step for step in steps if step.action is UndoAction.RESTORE]
        if not restoring:
            return
        for names, params in _restored_columns(restoring, self.columns, undo_job=undo_job, now=now).items():
            update_many(connection, agents, (*names, "updated_at", "last_import_id"), params)
        restored_teams = {step.record_id: change.new for step in restoring for change in step.restores
                          if change.field == "teams"}
        _set_links(connection, agent_teams, "agent_id", "team_id", restored_teams,
                   dict(connection.execute(select(teams.c.name, teams.c.id)).all()) if restored_teams else {})


def _result_rows(undo_job: int, steps: Sequence[UndoStep]) -> list[tuple[object, ...]]:
    """The undo's per-row results in import_rows' columns: restores as changes, a reason as an error-shaped note."""
    text = json.dumps
    return [(undo_job, step.row, str(step.action), step.record_id,
             text([change.as_dict() for change in step.restores]) if step.restores else None,
             text([{"row": step.row, "column": "", "code": f"undo.{step.action}", "message": message}
                   for message in (step.reason, *step.notes) if message]) if step.reason or step.notes else None,
             None) for step in steps]


class SqlUndoStore:
    """plugin.ports.UndoStore on one connection."""

    def __init__(self, connection: Connection, tables: Mapping[str, Callable[[], UndoTable]]) -> None:
        self.connection = connection
        self.tables = tables  # kind → its undo table, as the kinds' storage registered them (kind_storage.py)

    def undoable_kinds(self) -> frozenset[str]:
        return frozenset(self.tables)

    def lock_import(self, job_id: int) -> None:
        if is_postgresql(self.connection):
            self.connection.execute(select(import_jobs.c.id).where(import_jobs.c.id == job_id)
                                    .with_for_update())

    def undo_of(self, job_id: int) -> tuple[int, str] | None:
        found = self.connection.execute(select(import_jobs.c.id, import_jobs.c.status,
                                               import_jobs.c.options)  # an undo comes later
                                        .where(import_jobs.c.id > job_id, import_jobs.c.operation == "undo")
                                        .order_by(import_jobs.c.id)).all()
        for undo_id, status, options in found:
            if (options or {}).get("undo_of") == job_id:
                return undo_id, status
        return None

    def traits(self, kind: str) -> UndoTraits:
        table = self.tables[kind]()
        return UndoTraits(table.title, table.can_deactivate, table.secret_names)

    def start_undo(self, job: JobSummary, *, actor: str, now: datetime) -> int:
        return int(self.connection.execute(insert(import_jobs).values(
            kind=job.kind, operation="undo", status=str(Status.RUNNING), is_dry_run=False, actor=actor,
            file_name=f"undo of import {job.id}", options={"undo_of": job.id}, headers=[], mapping=[],
            total=job.created + job.updated, rows_done=0, created=0, updated=0, unchanged=0, failed=0, message="",
            error_code="", created_at=now, started_at=now, heartbeat_at=now,
        ).returning(import_jobs.c.id)).scalar_one())

    def applied_rows(self, job_id: int, *, after_row: int, limit: int) -> list[ImportedRow]:
        found = self.connection.execute(
            select(import_rows.c.row, import_rows.c.action, import_rows.c.record_id, import_rows.c.changes)
            .where(import_rows.c.job_id == job_id, import_rows.c.row > after_row,
                   import_rows.c.action.in_([str(Action.CREATED),
                                             str(Action.UPDATED)]), import_rows.c.record_id.is_not(None))
            .order_by(import_rows.c.row).limit(limit)).all()
        return [ImportedRow(row.row, Action(row.action), int(row.record_id),
                            changes_from_json(row.changes) if row.action == str(Action.UPDATED) else ())
                for row in found]

    def stored_records(self, kind: str, ids: Sequence[int], *, job_id: int, finished_at: datetime,
                       lock: bool) -> dict[int, StoredRecord]:
        return self.tables[kind]().stored(self.connection, ids, job_id=job_id, finished_at=_utc(finished_at)
                                          or finished_at, lock=lock)

    def apply_steps(self, kind: str, steps: Sequence[UndoStep], *, undo_job: int, rows_done: int,
                    now: datetime) -> None:
        self.tables[kind]().apply(self.connection, steps, undo_job=undo_job, now=now)
        insert_many(self.connection, import_rows, RESULT_COLUMNS, _result_rows(undo_job, steps))
        self.connection.execute(update(import_jobs).where(import_jobs.c.id == undo_job).values(
            rows_done=rows_done, heartbeat_at=now))

    def finish_undo(self, undo_job: int, tally: UndoTally, *, status: str, message: str, now: datetime) -> None:
        self.connection.execute(update(import_jobs).where(import_jobs.c.id == undo_job).values(
            status=status, rows_done=tally.records, total=tally.records, removed=tally.removed,
            restored=tally.restored, deactivated=tally.deactivated, left_alone=tally.skipped,
            message=message, finished_at=now))

    def fail_undo(self, undo_job: int, *, code: str, message: str, now: datetime) -> None:
        self.connection.execute(update(import_jobs).where(import_jobs.c.id == undo_job).values(
            status=str(Status.FAILED), message=message, error_code=code, finished_at=now))

