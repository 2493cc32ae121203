"""What an import left in a database, in a form two databases can be compared by: rows keyed by email and
row number, never by generated ids (PostgreSQL spends sequence numbers on rolled-back batches)."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text


def import_snapshot(engine: Engine, job_id: int) -> dict[str, object]:
    """Contacts, their labels, groups and custom values, the job's per-row results and its counts."""
    with engine.connect() as connection:
        def rows(sql: str, **params: object) -> list[tuple]:
            return [tuple(row) for row in connection.execute(text(sql), params)]

        email_of = dict(rows("SELECT id, email_key FROM contacts"))
        contacts = rows("SELECT c.email_key, c.email, c.first_name, c.middle_name, c.last_name, c.username, c.phone, "
                        "c.mobile, co.name, c.source, c.last_import_id, c.last_import_row "
                        "FROM contacts c LEFT JOIN companies co ON co.id = c.company_id ORDER BY c.email_key")
        labels = rows("SELECT c.email_key, l.name FROM contact_labels cl JOIN contacts c ON c.id = cl.contact_id "
                      "JOIN labels l ON l.id = cl.label_id ORDER BY 1, 2")
        groups = rows("SELECT c.email_key, t.name FROM customer_teams ct JOIN contacts c ON c.id = ct.contact_id "
                      "JOIN teams t ON t.id = ct.team_id ORDER BY 1, 2")
        custom = rows("SELECT c.email_key, f.variable, v.value FROM custom_values v "
                      "JOIN contacts c ON c.id = v.contact_id JOIN custom_fields f ON f.id = v.field_id ORDER BY 1, 2")
        results = [(row, action, email_of.get(record_id) if record_id is not None else None, _json(changes),
                    _json(errors), _json(cells))
                   for row, action, record_id, changes, errors, cells in rows(
                       "SELECT row, action, record_id, changes, errors, cells FROM import_rows "
                       "WHERE job_id = :job ORDER BY row", job=job_id)]
        job = rows("SELECT status, total, rows_done, created, updated, unchanged, failed, message, error_code "
                   "FROM import_jobs WHERE id = :job", job=job_id)
    return {"contacts": contacts, "labels": labels, "groups": groups, "custom_values": custom, "results": results,
            "job": job}


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def differences(expected: dict[str, object], found: dict[str, object]) -> list[str]:
    """The first few differing entries of each part, for an assertion message a person can read."""
    messages: list[str] = []
    for part, wanted in expected.items():
        got = found[part]
        if wanted != got:
            missing = [item for item in wanted if item not in got][:3]  # type: ignore[attr-defined]
            extra = [item for item in got if item not in wanted][:3]  # type: ignore[attr-defined]
            messages.append(f"{part}: {len(wanted)} expected, {len(got)} found; missing {missing}; extra {extra}")  # type: ignore[arg-type]
    return messages
