"""Undoing an import in the database: read its applied rows in batches, decide with plugin.undo, write each batch.

The undo is a job of its own (same kind as the import, options {"undo_of": N}), so the history shows it, its
per-row results say what happened to each record, and an import is never undone twice. Each batch — records
changed, per-row results, progress — commits in one transaction; on PostgreSQL the batch's records are locked
(FOR UPDATE) between reading them and writing them, so a mail poll or another import cannot slip in between.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import Connection, Engine, Table, delete, select, update

from adapters.db.agents import Agent, AgentTeam, Invitation
from adapters.db.catalog import utc_now
from adapters.db.engine import insert_many, is_postgresql, update_many
from adapters.db.models import (Contact, ContactLabel, CustomerTeam, CustomFieldRow, CustomValue, ImportJob, ImportRow,
                                Label, Team)
from adapters.db.store import RESULT_COLUMNS
from plugin.emails import email_key
from plugin.plan import Action
from plugin.report import Status
from plugin.undo import ImportedRow, StoredRecord, UndoAction, UndoStep, UndoTally, changes_from_json, plan_undo_row

logger = logging.getLogger(__name__)

UNDOABLE_STATUSES = frozenset({str(Status.SUCCEEDED), str(Status.PARTIAL)})
import_jobs = ImportJob.__table__
import_rows = ImportRow.__table__


class UndoRefused(Exception):
    """This import cannot be undone (not found, a dry run, still running, undone already...); the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class UndoResult:
    """What undoing an import did, or would do: per-record steps and their counts."""

    job: int  # the import undone
    kind: str
    is_dry_run: bool
    undo_job: int | None = None  # the undo's own job; None for a dry run
    tally: UndoTally = field(default_factory=UndoTally)
    steps: list[UndoStep] = field(default_factory=list)

    def summary(self) -> str:
        verb = "Undoing import {} would leave: " if self.is_dry_run else "Undid import {}: "
        return verb.format(self.job) + self.tally.summary()

    def as_dict(self) -> dict[str, object]:
        return {"job": self.job, "undo_job": self.undo_job, "kind": self.kind, "dry_run": self.is_dry_run,
                "removed": self.tally.removed, "restored": self.tally.restored,
                "deactivated": self.tally.deactivated, "skipped": self.tally.skipped, "summary": self.summary(),
                "records": [step_dict(step) for step in self.steps]}


def step_dict(step: UndoStep) -> dict[str, object]:
    return {"row": step.row, "record_id": step.record_id, "action": str(step.action),
            "restores": [change.as_dict() for change in step.restores], "reason": step.reason,
            "notes": list(step.notes)}


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


def _changed_since_by(last_import_id: int | None, updated_at: datetime | None, *, job_id: int,
                      finished_at: datetime) -> str:
    if last_import_id is not None and last_import_id != job_id:
        return f"import {last_import_id}"
    written = _utc(updated_at)
    if last_import_id is None or (written is not None and written > finished_at):
        return "someone, after the import"
    return ""


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
    columns = {name: name for name in ("email", "first_name", "middle_name", "last_name", "username", "phone", "mobile",
                                       "company_id")}

    def stored(self, connection: Connection, ids: Sequence[int], *, job_id: int, finished_at: datetime,
               lock: bool) -> dict[int, StoredRecord]:
        if not ids:
            return {}
        found = connection.execute(_locked(connection, select(
            Contact.id, Contact.updated_at, Contact.last_import_id, *(getattr(Contact, name) for name in self.columns)
        ).where(Contact.id.in_(ids)), lock)).all()
        sets: dict[int, dict[str, set[str]]] = defaultdict(lambda: {"labels": set(), "groups": set()})
        for contact_id, name in connection.execute(select(ContactLabel.contact_id, Label.name).join(
                Label, Label.id == ContactLabel.label_id).where(ContactLabel.contact_id.in_(ids))):
            sets[contact_id]["labels"].add(name)
        for contact_id, name in connection.execute(select(CustomerTeam.contact_id, Team.name).join(
                Team, Team.id == CustomerTeam.team_id).where(CustomerTeam.contact_id.in_(ids))):
            sets[contact_id]["groups"].add(name)
        custom: dict[int, dict[str, str]] = defaultdict(dict)
        for contact_id, variable, value in connection.execute(select(
                CustomValue.contact_id, CustomFieldRow.variable, CustomValue.value).join(
                CustomFieldRow, CustomFieldRow.id == CustomValue.field_id).where(CustomValue.contact_id.in_(ids))):
            custom[contact_id][variable] = value
        records: dict[int, StoredRecord] = {}
        for row in found:
            values: dict[str, object] = {name: getattr(row, name) for name in self.columns}
            values.update(custom[row.id])
            values.update({name: frozenset(names) for name, names in sets[row.id].items()})
            records[row.id] = StoredRecord(row.id, values, _changed_since_by(
                row.last_import_id, row.updated_at, job_id=job_id, finished_at=finished_at))
        return records

    def apply(self, connection: Connection, steps: Sequence[UndoStep], *, undo_job: int, now: datetime) -> None:
        removed = [step.record_id for step in steps if step.action is UndoAction.REMOVE]
        if removed:  # labels, groups and custom values go with them (ON DELETE CASCADE)
            connection.execute(delete(Contact).where(Contact.id.in_(removed)))
        restoring = [step for step in steps if step.action is UndoAction.RESTORE]
        if not restoring:
            return
        contacts = Contact.__table__
        for names, params in _restored_columns(restoring, self.columns, undo_job=undo_job, now=now).items():
            update_many(connection, contacts, (*names, "updated_at", "last_import_id"), params)
        labels = {step.record_id: change.new for step in restoring for change in step.restores if change.field == "labels"}
        groups = {step.record_id: change.new for step in restoring for change in step.restores if change.field == "groups"}
        _set_links(connection, ContactLabel.__table__, "contact_id", "label_id", labels,  # type: ignore[arg-type]
                   dict(connection.execute(select(Label.name, Label.id)).all()) if labels else {})
        _set_links(connection, CustomerTeam.__table__, "contact_id", "team_id", groups,  # type: ignore[arg-type]
                   dict(connection.execute(select(Team.name, Team.id)).all()) if groups else {})
        known = {"labels", "groups", *self.columns}
        custom = [(step.record_id, change) for step in restoring for change in step.restores if change.field not in known]
        if custom:
            field_ids = dict(connection.execute(select(CustomFieldRow.variable, CustomFieldRow.id)
                                                .where(CustomFieldRow.applies_to == "customers")).all())
            by_field: dict[int, list[int]] = defaultdict(list)  # a field deleted since has nothing to put back into
            for contact_id, change in custom:
                if change.field in field_ids:
                    by_field[field_ids[change.field]].append(contact_id)
            for field_id, contact_ids in by_field.items():  # one DELETE a field, not one a record and field
                connection.execute(delete(CustomValue).where(CustomValue.field_id == field_id,
                                                             CustomValue.contact_id.in_(contact_ids)))
            insert_many(connection, CustomValue.__table__, ("contact_id", "field_id", "value"),
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
            Agent.id, Agent.updated_at, Agent.last_import_id, Agent.last_sign_in_at,
            *(getattr(Agent, column) for column in self.columns.values())).where(Agent.id.in_(ids)), lock)).all()
        teams: dict[int, set[str]] = defaultdict(set)
        for agent_id, name in connection.execute(select(AgentTeam.agent_id, Team.name).join(
                Team, Team.id == AgentTeam.team_id).where(AgentTeam.agent_id.in_(ids))):
            teams[agent_id].add(name)
        with_password_set = set(connection.execute(select(Invitation.agent_id).where(
            Invitation.agent_id.in_(ids), Invitation.used_at.is_not(None))).scalars())
        records: dict[int, StoredRecord] = {}
        for row in found:
            values: dict[str, object] = {name: getattr(row, column) for name, column in self.columns.items()}
            values["teams"] = frozenset(teams[row.id])
            records[row.id] = StoredRecord(
                row.id, values, _changed_since_by(row.last_import_id, row.updated_at, job_id=job_id,
                                                  finished_at=finished_at),
                has_been_used=row.last_sign_in_at is not None or row.id in with_password_set)
        return records

    def apply(self, connection: Connection, steps: Sequence[UndoStep], *, undo_job: int, now: datetime) -> None:
        removed = [step.record_id for step in steps if step.action is UndoAction.REMOVE]
        if removed:  # teams and invitations go with them (ON DELETE CASCADE)
            connection.execute(delete(Agent).where(Agent.id.in_(removed)))
        deactivated = [step.record_id for step in steps if step.action is UndoAction.DEACTIVATE]
        if deactivated:
            connection.execute(update(Agent).where(Agent.id.in_(deactivated)).values(
                is_active=False, updated_at=now, last_import_id=undo_job))
        restoring = [step for step in steps if step.action is UndoAction.RESTORE]
        if not restoring:
            return
        agents = Agent.__table__
        for names, params in _restored_columns(restoring, self.columns, undo_job=undo_job, now=now).items():
            update_many(connection, agents, (*names, "updated_at", "last_import_id"), params)
        teams = {step.record_id: change.new for step in restoring for change in step.restores if change.field == "teams"}
        _set_links(connection, AgentTeam.__table__, "agent_id", "team_id", teams,  # type: ignore[arg-type]
                   dict(connection.execute(select(Team.name, Team.id)).all()) if teams else {})


UNDO_TABLES: dict[str, Callable[[], UndoTable]] = {"customers": CustomerUndo, "users": AgentUndo}


def _job_row(connection: Connection, job_id: int):  # type: ignore[no-untyped-def]
    return connection.execute(select(import_jobs).where(import_jobs.c.id == job_id)).one_or_none()


def undo_job_of(connection: Connection, job_id: int) -> tuple[int, str] | None:
    """The undo job (id, status) of an import, if it was undone (or is being undone)."""
    found = connection.execute(select(ImportJob.id, ImportJob.status, ImportJob.options)  # an undo comes later
                               .where(ImportJob.id > job_id, ImportJob.kind.in_(list(UNDO_TABLES)),
                                      ImportJob.is_dry_run.is_(False))
                               .order_by(ImportJob.id)).all()
    for undo_id, status, options in found:
        if (options or {}).get("undo_of") == job_id:
            return undo_id, status
    return None


def check_undoable(connection: Connection, job_id: int) -> tuple[object, UndoTable]:
    """The import's job row and its kind's undo table, or UndoRefused saying why it cannot be undone."""
    job = _job_row(connection, job_id)
    if job is None:
        raise UndoRefused("undo.not_found", f"There is no import {job_id}.")
    if job.kind not in UNDO_TABLES:
        raise UndoRefused("undo.kind", f"Imports of {job.kind} cannot be undone; customers and agents imports can.")
    if (job.options or {}).get("undo_of") is not None:
        raise UndoRefused("undo.is_undo", f"Job {job_id} is itself the undo of import {job.options['undo_of']}; "
                                          "it cannot be undone in turn.")
    if job.is_dry_run or job.status not in UNDOABLE_STATUSES:
        raise UndoRefused("undo.not_applied", f"Import {job_id} is {job.status}: only a finished import that "
                                              "changed something (succeeded or partial) can be undone.")
    done = undo_job_of(connection, job_id)
    if done is not None:
        raise UndoRefused("undo.already", f"Import {job_id} was undone already, by job {done[0]} ({done[1]}).")
    return job, UNDO_TABLES[job.kind]()


def _applied_rows(engine: Engine, job_id: int, *, batch_size: int) -> Iterator[list[ImportedRow]]:
    """The import's created and updated rows, in file order, a batch at a time (keyset on the row number)."""
    after = 0
    while True:
        with engine.connect() as connection:
            found = connection.execute(select(ImportRow.row, ImportRow.action, ImportRow.record_id, ImportRow.changes)
                                       .where(ImportRow.job_id == job_id, ImportRow.row > after,
                                              ImportRow.action.in_([str(Action.CREATED), str(Action.UPDATED)]),
                                              ImportRow.record_id.is_not(None))
                                       .order_by(ImportRow.row).limit(batch_size)).all()
        if not found:
            return
        yield [ImportedRow(row.row, Action(row.action), int(row.record_id),
                           changes_from_json(row.changes) if row.action == str(Action.UPDATED) else ())
               for row in found]
        after = found[-1].row


def _result_rows(undo_job: int, steps: Sequence[UndoStep]) -> list[tuple[object, ...]]:
    """The undo's per-row results in import_rows' columns: restores as changes, a reason as an error-shaped note."""
    text = json.dumps
    return [(undo_job, step.row, str(step.action), step.record_id,
             text([change.as_dict() for change in step.restores]) if step.restores else None,
             text([{"row": step.row, "column": "", "code": f"undo.{step.action}", "message": message}
                   for message in (step.reason, *step.notes) if message]) if step.reason or step.notes else None,
             None) for step in steps]


def undo_import(engine: Engine, job_id: int, *, actor: str = "", dry_run: bool = False, batch_size: int = 1000,
                now: Callable[[], datetime] = utc_now) -> UndoResult:
    """Undo an import (or, with dry_run, say what undoing it would do). Raises UndoRefused when it cannot be."""
    with engine.begin() as connection:
        if not dry_run and is_postgresql(connection):  # two undos of one import at once: the second waits here
            connection.execute(select(import_jobs.c.id).where(import_jobs.c.id == job_id).with_for_update())
        job, table = check_undoable(connection, job_id)
        result = UndoResult(job=job_id, kind=job.kind, is_dry_run=dry_run)
        if not dry_run:
            result.undo_job = connection.execute(import_jobs.insert().values(
                kind=job.kind, status=str(Status.RUNNING), is_dry_run=False, actor=actor,
                file_name=f"undo of import {job_id}", options={"undo_of": job_id}, headers=[], mapping=[],
                total=job.created + job.updated, rows_done=0, created=0, updated=0, unchanged=0, failed=0, message="",
                error_code="", created_at=now(), started_at=now(), heartbeat_at=now(),
            ).returning(import_jobs.c.id)).scalar_one()
    finished_at = _utc(job.finished_at) or now()
    logger.info("undo of import %s started (%s)", job_id, "dry run" if dry_run else f"job {result.undo_job}")
    try:
        for imported in _applied_rows(engine, job_id, batch_size=batch_size):
            with engine.begin() as connection:
                stored = table.stored(connection, [row.record_id for row in imported], job_id=job_id,
                                      finished_at=finished_at, lock=not dry_run)
                steps = [plan_undo_row(row, stored.get(row.record_id), secret_names=table.secret_names,
                                       can_deactivate=table.can_deactivate, title=table.title) for row in imported]
                if not dry_run:
                    assert result.undo_job is not None
                    moment = now()
                    table.apply(connection, steps, undo_job=result.undo_job, now=moment)
                    insert_many(connection, import_rows, RESULT_COLUMNS, _result_rows(result.undo_job, steps))
                    connection.execute(update(ImportJob).where(ImportJob.id == result.undo_job).values(
                        rows_done=result.tally.records + len(steps), heartbeat_at=moment))
            result.tally.count(steps)
            result.steps.extend(steps)
    except Exception:
        if result.undo_job is not None:  # the batches written stay written; the job says it stopped
            with engine.begin() as connection:
                connection.execute(update(ImportJob).where(ImportJob.id == result.undo_job).values(
                    status=str(Status.FAILED), message="The undo stopped because of an internal error.",
                    error_code="undo.crashed", finished_at=now()))
        raise
    if result.undo_job is not None:
        tally = result.tally
        with engine.begin() as connection:
            connection.execute(update(ImportJob).where(ImportJob.id == result.undo_job).values(
                status=str(Status.PARTIAL if tally.skipped else Status.SUCCEEDED), rows_done=tally.records,
                total=tally.records, updated=tally.restored + tally.deactivated, unchanged=tally.skipped,
                created=0, failed=0, message=result.summary(), finished_at=now()))
    logger.info("undo of import %s ended: %s", job_id, result.tally.summary())
    return result
