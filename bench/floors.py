"""What the customers import is measured against, each as a whole process on the same file and schema.

  SQL floor (SQLite)      the sqlite3 shell: `.import` into a staging table, then INSERT ... SELECT ... ON CONFLICT
                          DO UPDATE into the product's schema (made by its migrations, with its indexes), labels
                          and custom values included, in one transaction; no validation, no per-row results.
  SQL floor (PostgreSQL)  psql: `\\copy` into a temp table, then the same INSERT ... SELECT ... ON CONFLICT (a
                          DISTINCT ON per email first: PostgreSQL will not update one row twice in a statement).
  .import                 `.import` of the CSV into a bare table: what reading and storing the text costs.
  sqlite-utils            `sqlite-utils upsert DB customers FILE --csv --pk email`: one table, no labels, custom
                          values or per-row results; installed by the bench into a venv of its own under the cache
                          folder, or skipped with a message when it cannot be installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.db.engine import SQLITE_PRAGMAS
from bench.generate_customers import CUSTOM_FIELDS

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "contact-importer-bench"
SQLITE_UTILS_VENV = CACHE / "sqlite-utils"
SQLITE_SETTINGS = "".join(f"PRAGMA {pragma};\n" for pragma in SQLITE_PRAGMAS)  # the product's connections'


@dataclass(frozen=True, slots=True)
class Timing:
    """One whole process: wall seconds (start included), its own CPU seconds (user + system: where SQLite's
    work is done, but not PostgreSQL's, which its server does) and its peak resident memory."""

    seconds: float
    cpu: float
    peak_mb: float


def run_timed(command: list[str], *, input_text: str | None = None, env: dict[str, str] | None = None,
              accepted: tuple[int, ...] = (0,), check_output: bool = True, cwd: Path | None = None
              ) -> tuple[Timing, str]:
    """Run the process to its end; its timing and output (stdout and stderr). A failure is raised."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL if input_text is None else subprocess.PIPE,
                                   stdout=output, stderr=output, text=True, env=env, cwd=cwd)
        if process.stdin is not None:
            process.stdin.write(input_text or "")
            process.stdin.close()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode not in accepted or (check_output and ("Error" in text or "ERROR" in text)):
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {text[-2000:]}")
    return Timing(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024), text


# ---- SQLite, with the sqlite3 shell

def run_sqlite3(database: Path, script: str) -> Timing:
    """The sqlite3 shell running the script against the database."""
    return run_timed(["sqlite3", "-bail", str(database)], input_text=script)[0]


def bare_import_script(csv_path: Path) -> str:
    return f".mode csv\n.import '{csv_path}' bare\n"


def _staging_columns(*, phones: bool) -> list[str]:
    return ["email", "first_name", "last_name", "company_id", "labels",
            *(variable for variable, _, _ in CUSTOM_FIELDS), *(("phone",) if phones else ())]


def sql_upsert_script(csv_path: Path, *, phones: bool = False) -> str:
    """Staging table, then one INSERT ... SELECT ... ON CONFLICT per table, in one transaction."""
    custom_selects = "\n  UNION ALL ".join(
        f"SELECT c.id, f.id, s.{variable} FROM staging AS s JOIN contacts AS c ON c.email_key = lower(s.email) "
        f"JOIN custom_fields AS f ON f.variable = '{variable}' WHERE s.{variable} <> ''"
        for variable, _, _ in CUSTOM_FIELDS)
    columns = ", ".join(f"{name} TEXT" for name in _staging_columns(phones=phones))
    phone_column, phone_value, phone_update = ((", phone", ", nullif(phone, '')", ", phone = excluded.phone")
                                               if phones else ("", "", ""))
    return f"""{SQLITE_SETTINGS}
CREATE TEMP TABLE staging ({columns});
.mode csv
BEGIN;
.import --skip 1 --schema temp '{csv_path}' staging
INSERT INTO contacts (email, email_key, first_name, last_name, company_id, source, source_detail, created_at,
                      updated_at, last_import_id, last_import_row{phone_column})
SELECT email, lower(email), first_name, nullif(last_name, ''), CAST(nullif(company_id, '') AS INTEGER), 'import',
       'import 0', strftime('%Y-%m-%d %H:%M:%f', 'now'), strftime('%Y-%m-%d %H:%M:%f', 'now'), 0, rowid + 1{phone_value}
FROM staging WHERE true
ON CONFLICT (email_key) DO UPDATE SET email = excluded.email, first_name = excluded.first_name,
  last_name = excluded.last_name, company_id = excluded.company_id, updated_at = excluded.updated_at,
  last_import_id = excluded.last_import_id, last_import_row = excluded.last_import_row{phone_update};
INSERT INTO contact_labels (contact_id, label_id)
SELECT c.id, l.id FROM staging AS s JOIN contacts AS c ON c.email_key = lower(s.email)
  JOIN json_each('["' || replace(s.labels, ':', '","') || '"]') AS j JOIN labels AS l ON l.name = j.value
WHERE s.labels <> ''
ON CONFLICT DO NOTHING;
INSERT INTO custom_values (contact_id, field_id, value)
SELECT * FROM ({custom_selects}) WHERE true
ON CONFLICT (contact_id, field_id) DO UPDATE SET value = excluded.value;
COMMIT;
"""


# ---- PostgreSQL, with psql

def postgres_upsert_script(csv_path: Path, *, phones: bool = False) -> str:
    """A temp table filled by \\copy, then INSERT ... SELECT ... ON CONFLICT per table, in one transaction."""
    columns = ", ".join(f"{name} TEXT" for name in _staging_columns(phones=phones))
    custom_selects = "\n  UNION ALL ".join(
        f"SELECT c.id, f.id, s.{variable} FROM staging AS s JOIN contacts AS c ON c.email_key = lower(s.email) "
        f"JOIN custom_fields AS f ON f.variable = '{variable}' WHERE s.{variable} <> ''"
        for variable, _, _ in CUSTOM_FIELDS)
    phone_column, phone_value, phone_update = ((", phone", ", nullif(phone, '')", ", phone = excluded.phone")
                                               if phones else ("", "", ""))
    return f"""\\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE staging (row_number BIGSERIAL, {columns}) ON COMMIT DROP;
\\copy staging ({', '.join(_staging_columns(phones=phones))}) FROM '{csv_path}' WITH (FORMAT csv, HEADER true)
INSERT INTO contacts (email, email_key, first_name, last_name, company_id, source, source_detail, created_at,
                      updated_at, last_import_id, last_import_row{phone_column})
SELECT DISTINCT ON (lower(email)) email, lower(email), first_name, nullif(last_name, ''),
       nullif(company_id, '')::integer, 'import', 'import 0', now(), now(), 0, row_number + 1{phone_value}
FROM staging ORDER BY lower(email), row_number DESC
ON CONFLICT (email_key) DO UPDATE SET email = excluded.email, first_name = excluded.first_name,
  last_name = excluded.last_name, company_id = excluded.company_id, updated_at = excluded.updated_at,
  last_import_id = excluded.last_import_id, last_import_row = excluded.last_import_row{phone_update};
INSERT INTO contact_labels (contact_id, label_id)
SELECT DISTINCT c.id, l.id FROM staging AS s JOIN contacts AS c ON c.email_key = lower(s.email)
  CROSS JOIN LATERAL unnest(string_to_array(s.labels, ':')) AS j(name) JOIN labels AS l ON l.name = j.name
WHERE s.labels <> ''
ON CONFLICT DO NOTHING;
INSERT INTO custom_values (contact_id, field_id, value)
SELECT DISTINCT ON (contact_id, field_id) * FROM ({custom_selects}) AS v(contact_id, field_id, value)
ON CONFLICT (contact_id, field_id) DO UPDATE SET value = excluded.value;
COMMIT;
"""


def run_psql(dsn: str, schema: str, script: str) -> Timing:
    """psql running the script with the schema first on its search_path."""
    env = {**os.environ, "PGOPTIONS": f"-csearch_path={schema}"}
    return run_timed(["psql", "-X", "-q", "-d", dsn], input_text=script, env=env)[0]


# ---- sqlite-utils, in a venv of its own

def sqlite_utils_command() -> tuple[Path | None, str]:
    """The sqlite-utils executable (installed on first use), or None and why not."""
    executable = SQLITE_UTILS_VENV / "bin" / "sqlite-utils"
    if executable.exists():
        return executable, _version(executable)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(SQLITE_UTILS_VENV)], check=True, capture_output=True)
        subprocess.run([str(SQLITE_UTILS_VENV / "bin" / "pip"), "install", "-q", "sqlite-utils"], check=True,
                       capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        return None, f"sqlite-utils could not be installed into {SQLITE_UTILS_VENV}: {str(detail).strip()[-300:]}"
    return executable, _version(executable)


def _version(executable: Path) -> str:
    return subprocess.run([str(executable), "--version"], capture_output=True, text=True).stdout.strip()


def run_sqlite_utils(executable: Path, database: Path, csv_path: Path) -> Timing:
    return run_timed([str(executable), "upsert", str(database), "customers", str(csv_path), "--csv", "--pk", "email"])[0]
