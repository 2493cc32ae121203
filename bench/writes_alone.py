"""The product's own database work alone: what an import stores, replayed by the driver with nothing else to do.

A reference for issue 14's SQLite targets. After the product imported a file into `--source`, this process
reads back (untimed) what that import stored, then times storing exactly that into `--into` (a copy of the
database as it was before the import), the way the product does (adapters/db/customers.py, adapters/db/store.py):
batches of `--batch` rows in file order, one transaction each, through sqlite3's executemany:

  first import   INSERT the new contacts (ON CONFLICT DO NOTHING), their label links and custom values (upsert),
                 one import_rows row per row with its changes, errors and cells as the product stored them;
  re-import      first the batch's lookups the plan needs (contacts by email key, their labels and custom values),
                 then UPDATE each changed contact (the columns its recorded changes name, plus updated_at and
                 last_import_*), upsert the changed custom values, and the import_rows rows.

No reading of the file, no validation, no planning, no process start is timed: only the statements and commits,
which the product cannot do without while it keeps per-row results (per-row pages, undo, retry). The product's
smaller statements are left out (the job's progress, new ids read back, usernames looked up, leads made
customers), so its real writes take at least this long: what it leaves for everything else is at most this. Printed as one
JSON line: {"seconds": wall, "cpu": process CPU} of the timed part, and "results_seconds": the part of
"seconds" spent inserting the per-row results (issue 14's step 3 would store most of them per batch). Run by bench/comparison.py; by hand:

    python -m bench.writes_alone --source product.db --job 1 --into copy.db [--batch 5000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

from adapters.db.customers import INSERTED_COLUMNS as CONTACT_COLUMNS  # as the product inserts contacts
from adapters.db.engine import SQLITE_PRAGMAS
from adapters.db.store import RESULT_COLUMNS  # and its per-row results


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # as the product's connections
        connection.execute(f"PRAGMA {pragma}")
    return connection


def _stored(source: sqlite3.Connection, job: int) -> dict:
    """What import `job` stored, in file order: its result rows, the contacts it created, their links and values."""
    results = source.execute(f"SELECT {', '.join(RESULT_COLUMNS)} FROM import_rows WHERE job_id = ? ORDER BY row",
                             (job,)).fetchall()
    created = {record_id for _, _, action, record_id, *_ in results if action == "created"}
    contacts = {row[0]: row[1:] for row in source.execute(
        f"SELECT id, {', '.join(CONTACT_COLUMNS)} FROM contacts") if row[0] in created}
    labels, custom = defaultdict(list), defaultdict(list)
    for contact_id, label_id in source.execute("SELECT contact_id, label_id FROM contact_labels"):
        labels[contact_id].append((contact_id, label_id))
    fields = dict(source.execute("SELECT variable, id FROM custom_fields"))
    label_ids = dict(source.execute("SELECT name, id FROM labels"))
    for contact_id, field_id, value in source.execute("SELECT contact_id, field_id, value FROM custom_values"):
        custom[contact_id].append((contact_id, field_id, value))
    keys = dict(source.execute("SELECT id, email_key FROM contacts"))
    job_row = source.execute("SELECT * FROM import_jobs WHERE id = ?", (job,)).fetchone()
    return {"results": results, "contacts": contacts, "labels": labels, "custom": custom, "fields": fields,
            "label_ids": label_ids, "keys": keys, "job_row": job_row}


Statement = tuple[str, object, bool]  # SQL, its parameters, whether executemany runs it over rows of them
INSERT_LINKS = "INSERT INTO contact_labels (contact_id, label_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
UPSERT_VALUES = ("INSERT INTO custom_values (contact_id, field_id, value) VALUES (?, ?, ?) ON CONFLICT "
                 "(contact_id, field_id) DO UPDATE SET value = excluded.value")
INSERT_RESULTS = f"INSERT INTO import_rows ({', '.join(RESULT_COLUMNS)}) VALUES ({', '.join('?' * len(RESULT_COLUMNS))})"


def _first_import_batch(stored: dict, batch: list[tuple]) -> list[Statement]:
    created = [record_id for _, _, action, record_id, *_ in batch if action == "created"]
    return [
        (f"INSERT INTO contacts ({', '.join(CONTACT_COLUMNS)}) VALUES ({', '.join('?' * len(CONTACT_COLUMNS))}) "
         "ON CONFLICT DO NOTHING", [stored["contacts"][record_id] for record_id in created], True),
        (INSERT_LINKS, [link for record_id in created for link in stored["labels"][record_id]], True),
        (UPSERT_VALUES, [value for record_id in created for value in stored["custom"][record_id]], True),
    ]


def _re_import_batch(stored: dict, batch: list[tuple], moment: str) -> list[Statement]:
    written = [(row, record_id, json.loads(changes or "[]")) for _, row, action, record_id, changes, *_ in batch
               if action == "updated"]
    ids = json.dumps([record_id for _, record_id, _ in written])
    keys = json.dumps([stored["keys"][record_id] for _, record_id, _ in written])
    statements: list[Statement] = [  # the plan's lookups
        ("SELECT * FROM contacts WHERE email_key IN (SELECT value FROM json_each(?))", (keys,), False),
        ("SELECT contact_labels.contact_id, labels.name FROM contact_labels JOIN labels ON labels.id = "
         "contact_labels.label_id WHERE contact_labels.contact_id IN (SELECT value FROM json_each(?))", (ids,), False),
        ("SELECT custom_values.contact_id, custom_fields.variable, custom_values.value FROM custom_values "
         "JOIN custom_fields ON custom_fields.id = custom_values.field_id WHERE custom_values.contact_id IN "
         "(SELECT value FROM json_each(?))", (ids,), False),
    ]
    updates: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
    values: list[tuple] = []
    links: list[tuple] = []
    job = stored["job_row"][0]
    for row, record_id, changes in written:
        new = {change["field"]: change["new"] for change in changes}
        columns = tuple(name for name in new if name in CONTACT_COLUMNS)
        key = (str(new["email"]).casefold(),) if "email" in new else ()  # the product writes the key with the email
        updates[(*columns, *(("email_key",) if key else ()))].append(
            (*(new[name] for name in columns), *key, moment, job, row, record_id))
        links += [(record_id, stored["label_ids"][name]) for name in new.get("labels") or ()]
        values += [(record_id, stored["fields"][name], text) for name, text in new.items()
                   if name in stored["fields"] and text is not None]
    for columns, parameters in updates.items():
        assignments = ", ".join(f"{name} = ?" for name in (*columns, "updated_at", "last_import_id", "last_import_row"))
        statements.append((f"UPDATE contacts SET {assignments} WHERE id = ?", parameters, True))
    return [*statements, (UPSERT_VALUES, values, True), (INSERT_LINKS, links, True)]


def replay(source_path: Path, job: int, into_path: Path, batch_size: int) -> dict[str, float]:
    with sqlite3.connect(source_path) as source:
        stored = _stored(source, job)
    into = _connect(into_path)
    placeholders = ", ".join("?" * len(stored["job_row"]))
    into.execute(f"INSERT OR IGNORE INTO import_jobs VALUES ({placeholders})", stored["job_row"])
    is_re_import = not stored["contacts"]  # an import that created nobody updated everybody
    moment = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())  # stored in UTC
    results = stored["results"]
    batches = []  # each batch's statements, made before the clock starts
    for start in range(0, len(results), batch_size):
        batch = results[start:start + batch_size]
        statements = _re_import_batch(stored, batch, moment) if is_re_import else _first_import_batch(stored, batch)
        batches.append([*statements, (INSERT_RESULTS, batch, True)])
    results_seconds = 0.0
    started, cpu_started = time.perf_counter(), time.process_time()
    for statements in batches:
        into.execute("BEGIN")
        for sql, parameters, is_many in statements:
            statement_started = time.perf_counter()
            if is_many:
                into.executemany(sql, parameters)
            else:
                into.execute(sql, parameters).fetchall()
            if sql is INSERT_RESULTS:
                results_seconds += time.perf_counter() - statement_started
        into.execute("COMMIT")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    into.close()
    return {"seconds": seconds, "cpu": cpu, "results_seconds": results_seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the database the product imported into")
    parser.add_argument("--job", type=int, required=True, help="the import whose writes are replayed")
    parser.add_argument("--into", type=Path, required=True, help="a copy of the database before that import")
    parser.add_argument("--batch", type=int, default=5000, help="rows a transaction (the setting batch_size)")
    args = parser.parse_args(argv)
    print(json.dumps(replay(args.source, args.job, args.into, args.batch)))


if __name__ == "__main__":
    main()
