"""How fast customers are imported, against two floors measured in the same run on the same rows.

For each size, a generated file (bench/generate_customers.py) is imported into an empty database, then a
revision of it (same emails, changed names and seats) is imported again: every valid row is an update. Each
import runs in a fresh Python process that bootstraps the real services and times `Services.import_file`
alone (the "work"); its peak memory is the process's VmHWM. Backends: SQLite (a temporary file) and
PostgreSQL (a throwaway database bench_<pid> on 127.0.0.1:5432, dropped afterwards).

The floors, with the sqlite3 command-line shell on the same files:
  .import    `.import` of the CSV into a bare table: what reading and storing the text costs.
  SQL-only   `.import` into a staging table, then INSERT ... SELECT ... ON CONFLICT into the product's schema
             (created by its migrations, with its indexes), labels and custom values included; no validation,
             no per-row results.

Targets (from the issue): 5,000 rows in under 0.5 s of work on SQLite; at 100,000 rows at least half the
SQL-only floor's rows/s, first import and re-import; peak memory under 150 MB at 1,000,000 rows.
With --phones every row has a phone number too (bench/generate_customers.py --phones), which the product
parses into E.164 and the SQL-only floor stores as written. Run from the repository root:

    python -m bench.bench_customers [--sizes 5000,100000,1000000] [--backends sqlite,postgresql] [--phones]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.generate_customers import CUSTOM_FIELDS, DEFAULT_BAD_RATE, DEFAULT_COMPANIES, LABELS, write_customers

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SIZES = (5_000, 100_000, 1_000_000)
PASSES = (("first", 0), ("re-import", 1))  # pass name, generator revision
TARGET_SMALL_ROWS, TARGET_SMALL_SECONDS = 5_000, 0.5
TARGET_FLOOR_ROWS, TARGET_FLOOR_SHARE = 100_000, 0.5
TARGET_MEMORY_ROWS, TARGET_MEMORY_MB = 1_000_000, 150.0


@dataclass(frozen=True, slots=True)
class Measure:
    size: int
    backend: str
    pass_name: str
    seconds: float
    peak_mb: float | None = None
    floor_rows_per_second: float | None = None  # the SQL-only floor of the same pass
    outcome: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.size / self.seconds if self.seconds else float("inf")

    @property
    def floor_share(self) -> float | None:
        return None if not self.floor_rows_per_second else self.rows_per_second / self.floor_rows_per_second


# ---- the product, one import per process

def peak_memory_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(database_url: str, csv_path: Path, rows: int) -> None:
    """In a fresh process: import one file with the real services and print one JSON line."""
    from adapters.bootstrap import bootstrap, freeze_startup_heap, settings_from_environment

    settings = settings_from_environment(environ={}, database_url=database_url, row_limit=rows,
                                         max_file_bytes=max(csv_path.stat().st_size, 20 * 1024 * 1024))
    services = bootstrap(settings)
    freeze_startup_heap()  # as the CLI and the worker do
    base_mb = peak_memory_mb()
    with csv_path.open("rb") as source:
        started = time.perf_counter()
        report = services.imports.import_file("customers", source, file_name=csv_path.name, actor="bench")
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_memory_mb(), "base_mb": base_mb,
                      "status": str(report.status), "rows": report.rows, "created": report.created,
                      "updated": report.updated, "unchanged": report.unchanged, "failed": report.failed}))


def import_in_child(database_url: str, csv_path: Path, rows: int) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_customers", "--child", database_url, str(csv_path), str(rows)],
        cwd=REPO, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"import of {csv_path.name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def prepare_database(database_url: str, *, companies: int) -> None:
    """The schema by the product's migrations, plus the labels, companies and custom fields the files use."""
    from adapters.bootstrap import bootstrap, settings_from_environment
    from plugin.kinds import FieldType

    services = bootstrap(settings_from_environment(environ={}, database_url=database_url))
    try:
        services.catalog.add_labels(LABELS)
        for number in range(1, companies + 1):
            services.catalog.add_company(f"Bench company {number}")
        for variable, field_type, choices in CUSTOM_FIELDS:
            services.catalog.add_custom_field(variable, FieldType(field_type), choices)
    finally:
        services.close()


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file in folder, or a PostgreSQL database dropped on leaving."""
    if backend == "sqlite":
        path = folder / "bench.db"
        for leftover in folder.glob("bench.db*"):
            leftover.unlink()
        yield f"sqlite:///{path}"
        return
    from sqlalchemy import create_engine, text

    name = f"bench_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---- the floors, with the sqlite3 shell

SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\nPRAGMA foreign_keys=ON;\n"


def run_sqlite3(database: Path, script: str) -> float:
    """Seconds the sqlite3 shell takes to run the script against the database."""
    started = time.perf_counter()
    completed = subprocess.run(["sqlite3", "-bail", str(database)], input=script, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0 or "Error" in completed.stderr:
        raise RuntimeError(f"sqlite3 failed: {completed.stderr[-2000:]}")
    return seconds


def bare_import_script(csv_path: Path) -> str:
    return f".mode csv\n.import '{csv_path}' bare\n"


def sql_upsert_script(csv_path: Path, *, phones: bool = False) -> str:
    """Staging table, then one INSERT ... SELECT ... ON CONFLICT per table, in one transaction."""
    custom_selects = "\n  UNION ALL ".join(
        f"SELECT c.id, f.id, s.{variable} FROM staging AS s JOIN contacts AS c ON c.email_key = lower(s.email) "
        f"JOIN custom_fields AS f ON f.variable = '{variable}' WHERE s.{variable} <> ''"
        for variable, _, _ in CUSTOM_FIELDS)
    columns = ", ".join(f"{name} TEXT" for name in
                        ("email", "first_name", "last_name", "company_id", "labels",
                         *(variable for variable, _, _ in CUSTOM_FIELDS), *(("phone",) if phones else ())))
    phone_column, phone_value, phone_update = ((", phone", ", nullif(phone, '')", ", phone = excluded.phone")
                                               if phones else ("", "", ""))
    return f"""{SQLITE_PRAGMAS}
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


def measure_floors(files: dict[str, Path], size: int, folder: Path, *, companies: int, phones: bool = False
                   ) -> list[Measure]:
    """The .import floor (first file) and the SQL-only floor (first import and re-import)."""
    bare = folder / "floor-bare.db"
    bare.unlink(missing_ok=True)
    measures = [Measure(size, "sqlite3", "first", run_sqlite3(bare, bare_import_script(files["first"])),
                        outcome=".import into a bare table")]
    upsert = folder / "floor-upsert.db"
    for leftover in folder.glob("floor-upsert.db*"):
        leftover.unlink()
    prepare_database(f"sqlite:///{upsert}", companies=companies)
    for pass_name, _ in PASSES:
        seconds = run_sqlite3(upsert, sql_upsert_script(files[pass_name], phones=phones))
        measures.append(Measure(size, "sqlite3", pass_name, seconds, outcome="SQL-only upsert"))
    return measures


# ---- the run and its table

def describe(result: dict) -> str:
    return (f"{result['status']}: {result['created']:,} created, {result['updated']:,} updated, "
            f"{result['unchanged']:,} unchanged, {result['failed']:,} failed; {result['base_mb']:.0f} MB before")


def format_table(measures: list[Measure]) -> str:
    header = (f"{'size':>9}  {'backend':<10} {'pass':<9} {'rows/s':>9} {'seconds':>8} {'peak MB':>8} "
              f"{'floor rows/s':>12} {'% floor':>7}  outcome")
    lines = [header, "-" * len(header)]
    for measure in measures:
        share = measure.floor_share
        lines.append(
            f"{measure.size:>9,}  {measure.backend:<10} {measure.pass_name:<9} {measure.rows_per_second:>9,.0f} "
            f"{measure.seconds:>8.2f} {'' if measure.peak_mb is None else f'{measure.peak_mb:.0f}':>8} "
            f"{'' if measure.floor_rows_per_second is None else f'{measure.floor_rows_per_second:,.0f}':>12} "
            f"{'' if share is None else f'{share:.0%}':>7}  {measure.outcome}")
    return "\n".join(lines)


def check_targets(measures: list[Measure]) -> list[str]:
    verdicts = []

    def verdict(is_met: bool, text: str) -> None:
        verdicts.append(f"{'MET   ' if is_met else 'MISSED'} {text}")

    for measure in measures:
        if measure.backend == "sqlite" and measure.size == TARGET_SMALL_ROWS and measure.pass_name == "first":
            verdict(measure.seconds < TARGET_SMALL_SECONDS,
                    f"{TARGET_SMALL_ROWS:,} rows on SQLite in under {TARGET_SMALL_SECONDS} s of work: {measure.seconds:.3f} s")
        if measure.backend == "sqlite" and measure.size == TARGET_FLOOR_ROWS and measure.floor_share is not None:
            verdict(measure.floor_share >= TARGET_FLOOR_SHARE,
                    f"{TARGET_FLOOR_ROWS:,} rows on SQLite, {measure.pass_name}, at least {TARGET_FLOOR_SHARE:.0%} of the "
                    f"SQL-only floor: {measure.floor_share:.0%} ({measure.rows_per_second:,.0f} of "
                    f"{measure.floor_rows_per_second:,.0f} rows/s)")
        if measure.size == TARGET_MEMORY_ROWS and measure.peak_mb is not None:
            verdict(measure.peak_mb < TARGET_MEMORY_MB,
                    f"{TARGET_MEMORY_ROWS:,} rows on {measure.backend}, {measure.pass_name}, peak memory under "
                    f"{TARGET_MEMORY_MB:.0f} MB: {measure.peak_mb:.0f} MB")
    return verdicts


def bench_size(size: int, backends: list[str], folder: Path, *, seed: int, bad_rate: float, companies: int,
               phones: bool = False) -> list[Measure]:
    files: dict[str, Path] = {}
    for pass_name, revision in PASSES:
        files[pass_name] = folder / f"customers-{size}-{pass_name}.csv"
        with files[pass_name].open("w", encoding="utf-8", newline="") as out:
            write_customers(out, size, seed=seed, companies=companies, bad_rate=bad_rate, revision=revision,
                            phones=phones)
    floors = measure_floors(files, size, folder, companies=companies, phones=phones)
    floor_rates = {floor.pass_name: floor.rows_per_second for floor in floors if floor.outcome == "SQL-only upsert"}
    measures = list(floors)
    for backend in backends:
        with fresh_database(backend, folder) as url:
            prepare_database(url, companies=companies)
            for pass_name, _ in PASSES:
                result = import_in_child(url, files[pass_name], size)
                measures.append(Measure(size, backend, pass_name, result["seconds"], result["peak_mb"],
                                        floor_rates[pass_name], describe(result)))
                print(format_table(measures[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    for path in files.values():
        path.unlink()
    return measures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(size) for size in SIZES),
                        help="comma-separated row counts (default 5000,100000,1000000)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both (default both)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-rate", type=float, default=DEFAULT_BAD_RATE)
    parser.add_argument("--companies", type=int, default=DEFAULT_COMPANIES)
    parser.add_argument("--phones", action="store_true", help="a phone number in every row (parsed into E.164)")
    parser.add_argument("--child", nargs=3, metavar=("URL", "CSV", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, csv_path, rows = args.child
        run_child(url, Path(csv_path), int(rows))
        return
    if shutil.which("sqlite3") is None:
        parser.error("the sqlite3 shell is needed for the floors: apt-get install -y sqlite3")
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    backends = [backend.strip() for backend in args.backends.split(",") if backend.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend {sorted(unknown)[0]!r}; use sqlite, postgresql or both")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; seed {args.seed}, bad rate {args.bad_rate}, "
          f"{args.companies} companies{', a phone in every row' if args.phones else ''}; floors by sqlite3 {subprocess.run(['sqlite3', '--version'], capture_output=True, text=True).stdout.split()[0]}",
          flush=True)
    measures: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="bench-customers-") as temporary:
        for size in sizes:
            measures += bench_size(size, backends, Path(temporary), seed=args.seed, bad_rate=args.bad_rate,
                                   companies=args.companies, phones=args.phones)
    print(format_table(measures))
    print()
    for line in check_targets(measures):
        print(line)


if __name__ == "__main__":
    main()
