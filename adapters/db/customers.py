"""Customers in the database: found by email key or id in one query a batch, written in batches.

Besides the contacts' own columns: labels, groups (the teams that serve them, in customer_teams), custom
values, companies a file names that do not exist yet (--create-companies), and a username made from the
email for each new customer who has none (adapters.db.usernames: a query a batch).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, Table, delete

from adapters.db.catalog import ensure_companies, ensure_labels, ensure_teams
from adapters.db.engine import any_of, each_by_unique_key, each_match, insert_many, is_postgresql, stored_value, update_many
from adapters.db.models import contact_labels, contacts, custom_values, customer_teams
from adapters.db.usernames import allocate_usernames
from plugin.companies import company_name_key
from plugin.kinds import Catalog
from plugin.moments import moment_of, moment_text
from plugin.plan import Action, Existing, PlannedRow
from plugin.ports import StalePlan
from plugin.usernames import username_from_email

# the fields kept in contacts' own columns
CONTACT_FIELDS = ("email", "first_name", "middle_name", "last_name", "username", "phone", "mobile", "company_id",
                  "active", "type", "created_at", "external_id", "external_source")
USERNAME_AT = CONTACT_FIELDS.index("username")
CREATED_AT = CONTACT_FIELDS.index("created_at")
NEW_CONTACT_DEFAULTS = {"active": True}  # what a new contact has when its row does not say
INSERTED_COLUMNS = ("email_key", *CONTACT_FIELDS, "source", "source_detail", "updated_at",
                    "last_import_id", "last_import_row", "is_lead")
CONTACTS_SELECT = f"SELECT id, email_key, last_import_id, last_import_row, {', '.join(CONTACT_FIELDS)} FROM contacts"
LABELS_SELECT = ("SELECT contact_labels.contact_id, labels.name "
                 "FROM contact_labels JOIN labels ON labels.id = contact_labels.label_id")
GROUPS_SELECT = ("SELECT customer_teams.contact_id, teams.name "
                 "FROM customer_teams JOIN teams ON teams.id = customer_teams.team_id")
CUSTOM_VALUES_SELECT = ("SELECT custom_values.contact_id, custom_fields.variable, custom_values.value "
                        "FROM custom_values JOIN custom_fields ON custom_fields.id = custom_values.field_id")
# Someone else stored the same email, or the same username, after the batch was planned: that row is not
# inserted. A taken email or typed username makes the plan stale (StalePlan; adapters.db.stale_plans: the batch is
# written again, its taken emails planned as updates, a typed username then failing as username.taken); a
# made-up username is made again.
ON_VALUE_TAKEN = "ON CONFLICT DO NOTHING"
USERNAME_ATTEMPTS = 10


class CustomerTable:
    """The customers kind's storage: contacts with their labels, groups and custom values.

    Lookups and writes are raw SQL through adapters.db.engine's bulk helpers: a batch is a few statements,
    whatever its size, and no parameter passes through SQLAlchemy's per-row processing.
    """

    kind = "customers"
    is_lead = False  # what the contacts it creates are; a customer written through it stops being a lead

    def __init__(self) -> None:
        # For the import being written: username base → first number worth trying (see allocate_usernames).
        self.username_hints: dict[str, int] = {}
        self.hints_job: int | None = None

    def find(self, connection: Connection, keys: Collection[str], ids: Collection[int], job_id: int | None, *,
             external_ids: Collection[tuple[str, str]] = ()) -> tuple[dict[str, Existing], dict[int, Existing]]:
        """By email key and id; and by (external source, external id), those in by_id only."""
        if not keys and not ids and not external_ids:
            return {}, {}
        found = _contacts_with(connection, keys, ids, external_ids)
        contact_ids = [row[0] for row in found]
        labels = _names_linked(connection, LABELS_SELECT, "contact_labels.contact_id", contact_ids)
        groups = _names_linked(connection, GROUPS_SELECT, "customer_teams.contact_id", contact_ids)
        custom = _custom_values_of(connection, contact_ids)
        by_key: dict[str, Existing] = {}
        by_id: dict[int, Existing] = {}
        for contact_id, key, last_import_id, last_import_row, *fields in found:
            values: dict[str, object] = dict(zip(CONTACT_FIELDS, fields))
            values["active"], values["created_at"] = bool(values["active"]), read_created_at(values["created_at"])
            values["labels"] = frozenset(labels.get(contact_id, ()))
            values["groups"] = frozenset(groups.get(contact_id, ()))
            existing = Existing(
                id=contact_id, key=key, values=values, custom=custom.get(contact_id, {}),
                claimed_by_row=last_import_row if job_id is not None and last_import_id == job_id else None,
            )
            by_key[key] = existing
            by_id[contact_id] = existing
        return by_key, by_id

    def find_owners(self, connection: Connection, field: str, values: Collection[object]) -> dict[object, str]:
        """Who holds these usernames: username → email key."""
        if field != "username" or not values:
            return {}
        return dict(each_match(connection, "SELECT username, email_key FROM contacts", "username", values))

    def write(self, connection: Connection, job_id: int, planned: Sequence[PlannedRow], *,
              options: Mapping[str, object], catalog: Catalog, now: datetime, source: str = "import",
              source_details: Mapping[int, str] | None = None) -> dict[int, int]:
        """Apply a batch; returns row number → contact id for the rows that were written.

        New contacts record where they came from: `source` ("import", or "mail" for mail capture, whose rows are
        messages) and, by row, `source_details` (default "import N")."""
        if is_postgresql(connection):  # SQLite has one writer at a time: there new contacts' ids follow the file
            planned = sorted(planned, key=_lock_order)
        wanted_labels = {name for row in planned for name in row.values.get("labels", ())}  # type: ignore[union-attr]
        missing = wanted_labels - set(catalog.label_ids)
        if missing:
            catalog.label_ids.update(ensure_labels(connection, missing, now=lambda: now))
        wanted_teams = {name for row in planned for name in row.values.get("groups", ())}  # type: ignore[union-attr]
        missing = wanted_teams - set(catalog.teams)
        if missing:
            catalog.teams.update(ensure_teams(connection, missing, now=now, externals=catalog.new_externals))
        if any("company" in row.values for row in planned):
            planned = _with_named_companies(connection, planned, catalog, now)
        moment = stored_value(connection, contacts.c.updated_at, now)
        written: dict[int, int] = {}
        creating = [row for row in planned if row.action is Action.CREATED]
        if creating:
            written.update(self._insert(connection, job_id, creating, moment, source, source_details or {}))
        for row in planned:
            if row.action in (Action.UPDATED, Action.UNCHANGED) and row.record_id is not None:
                written[row.row] = row.record_id
        self._update(connection, job_id, [row for row in planned if row.action is Action.UPDATED], moment)
        update_many(connection, contacts, ("last_import_id", "last_import_row"),
                    [(job_id, row.row, row.record_id) for row in planned if row.action is Action.UNCHANGED])
        changing = [row for row in planned if row.action in (Action.CREATED, Action.UPDATED)]
        self._write_links(connection, changing, written, field="labels", table=contact_labels, target_column="label_id",
                          ids=catalog.label_ids, replace=bool(options.get("replace_labels")))
        self._write_links(connection, changing, written, field="groups", table=customer_teams, target_column="team_id",
                          ids=catalog.teams, replace=bool(options.get("replace_groups")))
        self._write_custom(connection, changing, written, catalog)
        stored_before = [row.record_id for row in planned if row.action is not Action.CREATED and row.row in written]
        if not self.is_lead and stored_before:  # a lead imported or captured as a customer becomes one: same record
            tail, parameter = any_of(connection, stored_before)  # (the contacts it created are customers already)
            connection.exec_driver_sql(f"UPDATE contacts SET is_lead = false WHERE is_lead AND id {tail}", (parameter,))
        return written

    def _insert(self, connection: Connection, job_id: int, rows: Sequence[PlannedRow], moment: object, source: str,
                source_details: Mapping[int, str]) -> dict[int, int]:
        """Insert new customers; a row whose email or username another writer stored meanwhile is not inserted:
        a made-up username is made again, anything else makes the plan stale."""
        source_detail = f"import {job_id}"
        ids: dict[str, int] = {}
        pending = list(rows)
        for _ in range(USERNAME_ATTEMPTS):
            usernames = self._usernames(connection, job_id, pending)
            params: list[tuple[object, ...]] = []
            for row, username in zip(pending, usernames, strict=True):
                fields = [row.values.get(name, NEW_CONTACT_DEFAULTS.get(name)) for name in CONTACT_FIELDS]
                fields[USERNAME_AT] = username
                fields[CREATED_AT] = moment if fields[CREATED_AT] is None else stored_created_at(connection, fields[CREATED_AT])
                params.append((row.key, *fields, source, source_details.get(row.row, source_detail), moment,
                               job_id, row.row, self.is_lead))
            returned = insert_many(connection, contacts, INSERTED_COLUMNS, params, on_conflict=ON_VALUE_TAKEN,
                                   returning=("id", "email_key"))
            ids.update({key: contact_id for contact_id, key in returned})  # by key: RETURNING keeps no order
            pending = [row for row in pending if row.key not in ids]
            if not pending:
                return {planned.row: ids[planned.key] for planned in rows}
            _raise_if_plan_is_stale(connection, pending)
        raise StalePlan(f"usernames made for {len(pending)} new customers were taken meanwhile, {USERNAME_ATTEMPTS} times")

    def _usernames(self, connection: Connection, job_id: int, rows: Sequence[PlannedRow]) -> list[str]:
        """Each new customer's username: the one given, or one made from the email (jane, jane2...)."""
        if self.hints_job != job_id:
            self.username_hints, self.hints_job = {}, job_id
        given = [str(row.values.get("username") or "") for row in rows]
        unnamed = [index for index, username in enumerate(given) if not username]
        if unnamed:
            made = allocate_usernames(connection, contacts.c.username,
                                      [username_from_email(str(rows[index].key), fallback="customer") for index in unnamed],
                                      reserved={username for username in given if username}, hints=self.username_hints)
            for index, username in zip(unnamed, made, strict=True):
                given[index] = username
        return given

    def _update(self, connection: Connection, job_id: int, rows: Sequence[PlannedRow], moment: object) -> None:
        """One UPDATE per set of changed columns, each run over all the rows that change just those."""
        groups: dict[tuple[str, ...], list[tuple[object, ...]]] = defaultdict(list)
        for row in rows:
            columns = tuple(name for name in CONTACT_FIELDS if name in row.values)
            key = (row.key,) if "email" in columns else ()
            groups[columns].append((*(stored_created_at(connection, row.values[name]) if name == "created_at"
                                      else row.values[name] for name in columns), *key, moment, job_id, row.row,
                                    row.record_id))
        for columns, params in groups.items():
            key_column = ("email_key",) if "email" in columns else ()
            update_many(connection, contacts, (*columns, *key_column, "updated_at", "last_import_id", "last_import_row"),
                        params)

    def _write_links(self, connection: Connection, rows: Sequence[PlannedRow], written: Mapping[int, int], *,
                     field: str, table: Table, target_column: str, ids: Mapping[str, int], replace: bool) -> None:
        """A name-set field (labels, groups) as link rows; on update they are added, or replace the old ones."""
        with_names = [row for row in rows if field in row.values]
        if replace:
            replaced = [written[row.row] for row in with_names if row.action is Action.UPDATED]
            if replaced:
                connection.execute(delete(table).where(table.c.contact_id.in_(replaced)))
        insert_many(connection, table, ("contact_id", target_column),
                    [(written[row.row], ids[name]) for row in with_names for name in sorted(row.values[field])],  # type: ignore[call-overload]
                    on_conflict="ON CONFLICT DO NOTHING")

    def _write_custom(self, connection: Connection, rows: Sequence[PlannedRow], written: Mapping[int, int],
                      catalog: Catalog) -> None:
        insert_many(connection, custom_values, ("contact_id", "field_id", "value"),
                    [(written[row.row], catalog.custom_fields[variable].id, text)
                     for row in rows for variable, text in sorted(row.custom.items()) if text is not None],
                    on_conflict="ON CONFLICT (contact_id, field_id) DO UPDATE SET value = excluded.value")
        cleared: dict[int, list[int]] = defaultdict(list)  # field id → contacts whose value is cleared
        for row in rows:
            for variable, text in row.custom.items():
                if text is None:
                    cleared[catalog.custom_fields[variable].id].append(written[row.row])
        for field_id, contact_ids in cleared.items():
            connection.execute(delete(custom_values).where(custom_values.c.field_id == field_id,
                                                           custom_values.c.contact_id.in_(contact_ids)))


def _raise_if_plan_is_stale(connection: Connection, rows: Sequence[PlannedRow]) -> None:
    """StalePlan when rows that were not inserted lost their email, or the username their file gives, to
    another writer; otherwise only their made-up usernames were taken, and new ones will do."""
    taken = sorted(key for (key,) in each_match(connection, "SELECT email_key FROM contacts", "email_key",
                                                [row.key for row in rows]))
    if taken:
        raise StalePlan(f"{len(taken)} new customers were created meanwhile by someone else, e.g. {taken[0]}")
    given = [row.values["username"] for row in rows if row.values.get("username")]
    held = list(each_match(connection, "SELECT username FROM contacts", "username", given)) if given else []
    if held:
        raise StalePlan(f"{len(held)} usernames given in the file were taken meanwhile, e.g. {held[0][0]}")
    given = {(row.values["external_id"], row.values["external_source"]) for row in rows if row.values.get("external_id")}
    held = [pair for pair in each_match(connection, "SELECT external_id, external_source FROM contacts", "external_id",
                                        {external_id for external_id, _ in given}) if tuple(pair) in given] if given else []
    if held:
        raise StalePlan(f"{len(held)} external ids given in the file were taken meanwhile, e.g. {held[0][0]}")


def _lock_order(row: PlannedRow) -> tuple[str, int]:
    """On PostgreSQL every batch writes its contacts in email order, so two writers lock shared rows in the
    same order and rarely deadlock (a deadlock that still happens is retried: adapters.db.store)."""
    return (row.key or "", row.row)


def _contacts_with(connection: Connection, keys: Collection[str], ids: Collection[int],
                   external_ids: Collection[tuple[str, str]]) -> list[tuple]:
    """The contacts whose email key is one of keys, whose id is one of ids, or who hold one of the (external
    source, external id) pairs; each once."""
    found: dict[int, tuple] = {}
    for column, values in (("email_key", keys), ("id", ids)):
        if values:
            found.update((row[0], row) for row in each_by_unique_key(connection, CONTACTS_SELECT, column, values))
    if external_ids:
        at = 4 + CONTACT_FIELDS.index("external_id")  # after id, email_key, last_import_id, last_import_row
        wanted = set(external_ids)
        found.update((row[0], row) for row in each_match(connection, CONTACTS_SELECT, "external_id",
                                                         {external_id for _, external_id in wanted})
                     if (row[at + 1], row[at]) in wanted)
    return list(found.values())


@lru_cache(maxsize=4096)  # the contacts an import created share its moment: a batch reads few distinct ones
def read_created_at(stored: object) -> str | None:
    """contacts.created_at as the database hands it (SQLite: text) → the customers' created_at value."""
    if stored is None:
        return None
    return moment_text(stored if isinstance(stored, datetime) else datetime.fromisoformat(str(stored)))


def stored_created_at(connection: Connection, value: object) -> object:
    """A created_at value (canonical text) → what the column is written with on this database."""
    return stored_value(connection, contacts.c.created_at, moment_of(str(value)))


def _names_linked(connection: Connection, select: str, column: str, contact_ids: Sequence[int]
                  ) -> dict[int, list[str]]:
    """contact id → the names its link rows point at (labels, groups), for these contacts, in one query."""
    names: dict[int, list[str]] = defaultdict(list)
    if contact_ids:
        for contact_id, name in each_match(connection, select, column, contact_ids):
            names[contact_id].append(name)
    return names


def _with_named_companies(connection: Connection, planned: Sequence[PlannedRow], catalog: Catalog,
                          now: datetime) -> list[PlannedRow]:
    """Rows naming a company that did not exist when they were planned (--create-companies): create it once,
    and give the rows its id."""
    names = [str(row.values["company"]) for row in planned if "company" in row.values]
    new_names = {company_name_key(name): " ".join(name.split()) for name in names}
    new_names = {key: name for key, name in new_names.items() if key not in catalog.company_keys}
    if new_names:
        created = ensure_companies(connection, new_names.values(), now=now, externals=catalog.new_externals)
        catalog.company_keys.update(created)
        catalog.companies.update({created[key]: name for key, name in new_names.items()})
    resolved: list[PlannedRow] = []
    for row in planned:
        if "company" in row.values:
            values = {name: value for name, value in row.values.items() if name != "company"}
            values["company_id"] = catalog.company_keys[company_name_key(str(row.values["company"]))]
            row = dataclasses.replace(row, values=values)
        resolved.append(row)
    return resolved


def _custom_values_of(connection: Connection, contact_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    custom: dict[int, dict[str, str]] = defaultdict(dict)
    if contact_ids:
        for contact_id, variable, value in each_match(connection, CUSTOM_VALUES_SELECT, "custom_values.contact_id",
                                                      contact_ids):
            custom[contact_id][variable] = value
    return custom


class LeadTable(CustomerTable):
    """The leads kind's storage: contacts marked as leads, written as customers are. A lead import of someone who
    is already a customer updates them and leaves them a customer."""

    kind = "leads"
    is_lead = True
