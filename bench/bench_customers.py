"""How fast customers are imported: the whole command against the database's own limit, in the same run.

Files come from bench/generate_customers.py (labels and 3 custom fields; about 0.2 % bad rows): a first file,
and its revision (same emails, changed names and seats), imported again on top: the re-import.

The comparison (issue 14), at each size of --compare (default 100,000), over --rounds rounds (default 3):
every round times, as whole processes (start included) on the same files, the SQL floor and sqlite-utils
(bench/floors.py says what each does) and the product, `contact-importer import customers FILE`, each into
a fresh database with the product's schema and catalog, for the first import and the re-import. It prints
every round, the medians and the rates' ratios, each taken within its round (floor seconds / product seconds),
with the targets; and, on SQLite, the product's writes alone (bench/writes_alone.py replays what each import
stored, with nothing else to do): the most the product could reach while it stores that, beside the target.
The targets:
  SQLite      first import ≥ 0.45 × the SQL floor (aim 0.5), re-import ≥ 0.65 × (aim 0.75);
              ≥ 2 × sqlite-utils on the first import, ≥ 1.2 × on the re-import.
  PostgreSQL  ≥ 0.5 × the COPY floor on both (a throwaway schema on 127.0.0.1:5432).

The work, at each size of --sizes (default 5,000 and 1,000,000): each import runs in a fresh Python process
that bootstraps the real services and times `Services.import_file` alone, in wall and CPU seconds (CPU is
steadier on a machine others share); its peak memory is the process's VmHWM. Targets: 5,000 rows in under
0.5 s of work on SQLite; peak memory under 150 MB at 1,000,000 rows.
With --phones every row has a phone number too (the product parses it into E.164, the floors store it as
written): issue 8's "within 15 % of without". Bytecode caches are used as in an installed copy
(PYTHONDONTWRITEBYTECODE is dropped for the processes measured). Run from the repository root:

    python -m bench.bench_customers [--compare 100000] [--rounds 3] [--sizes 5000,1000000]
                                    [--backends sqlite,postgresql] [--phones]
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
from pathlib import Path

from bench.comparison import compare_size
from bench.databases import fresh_database, prepare_database  # noqa: F401  (bench_store and bench_load use them)
from bench.generate_customers import DEFAULT_BAD_RATE, DEFAULT_COMPANIES, write_customers

REPO = Path(__file__).resolve().parent.parent
PASSES = (("first", 0), ("re-import", 1))  # pass name, generator revision
TARGET_SMALL_ROWS, TARGET_SMALL_SECONDS = 5_000, 0.5
TARGET_MEMORY_ROWS, TARGET_MEMORY_MB = 1_000_000, 150.0


# ---- the work, one import per process

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
        started, cpu_started = time.perf_counter(), time.process_time()
        report = services.imports.import_file("customers", source, file_name=csv_path.name, actor="bench")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak_memory_mb(), "base_mb": base_mb,
                      "status": str(report.status), "rows": report.rows, "created": report.created,
                      "updated": report.updated, "unchanged": report.unchanged, "failed": report.failed}))


def import_in_child(database_url: str, csv_path: Path, rows: int) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_customers", "--child", database_url, str(csv_path), str(rows)],
        cwd=REPO, capture_output=True, text=True, check=False, env=measured_environment())
    if completed.returncode != 0:
        raise RuntimeError(f"import of {csv_path.name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measured_environment(**settings: str) -> dict[str, str]:
    """Our environment without CONTACT_IMPORTER_* leftovers or PYTHONDONTWRITEBYTECODE, plus these settings."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CONTACT_IMPORTER_") and name != "PYTHONDONTWRITEBYTECODE"}
    env.update({f"CONTACT_IMPORTER_{name.upper()}": value for name, value in settings.items()})
    return env


def write_files(folder: Path, size: int, *, seed: int, bad_rate: float, companies: int, phones: bool
                ) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for pass_name, revision in PASSES:
        files[pass_name] = folder / f"customers-{size}-{pass_name}.csv"
        with files[pass_name].open("w", encoding="utf-8", newline="") as out:
            write_customers(out, size, seed=seed, companies=companies, bad_rate=bad_rate, revision=revision,
                            phones=phones)
    return files


def work_size(size: int, backends: list[str], files: dict[str, Path], folder: Path, *, companies: int
              ) -> list[str]:
    """One line per backend and pass, and the verdicts of the targets at this size."""
    lines, verdicts = [], []
    for backend in backends:
        with fresh_database(backend, folder) as url:
            prepare_database(url, companies=companies)
            for pass_name, _ in PASSES:
                result = import_in_child(url, files[pass_name], size)
                line = (f"{size:>9,}  {backend:<10} {pass_name:<9} {size / result['seconds']:>9,.0f} "
                        f"{result['seconds']:>8.2f} {result['cpu']:>8.2f} {result['peak_mb']:>8.0f}  {result['status']}: "
                        f"{result['created']:,} created, {result['updated']:,} updated, {result['unchanged']:,} "
                        f"unchanged, {result['failed']:,} failed; {result['base_mb']:.0f} MB before")
                print(line, file=sys.stderr, flush=True)
                lines.append(line)
                if backend == "sqlite" and size == TARGET_SMALL_ROWS and pass_name == "first":
                    verdicts.append(_verdict(result["seconds"] < TARGET_SMALL_SECONDS,
                                             f"{size:,} rows on SQLite in under {TARGET_SMALL_SECONDS} s of work: "
                                             f"{result['seconds']:.3f} s"))
                if size == TARGET_MEMORY_ROWS:
                    verdicts.append(_verdict(result["peak_mb"] < TARGET_MEMORY_MB,
                                             f"{size:,} rows on {backend}, {pass_name}, peak memory under "
                                             f"{TARGET_MEMORY_MB:.0f} MB: {result['peak_mb']:.0f} MB"))
    return lines + verdicts


def _verdict(is_met: bool, text: str) -> str:
    return f"{'MET   ' if is_met else 'MISSED'} {text}"


def _sizes(text: str) -> list[int]:
    return [int(size.replace("_", "")) for size in text.split(",") if size.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", default="100000",
                        help="comma-separated row counts for the comparison with the floors (default 100000; '' none)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the comparison (default 3)")
    parser.add_argument("--sizes", default="5000,1000000",
                        help="comma-separated row counts for the work and memory checks (default 5000,1000000; '' none)")
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
    backends = [backend.strip() for backend in args.backends.split(",") if backend.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend {sorted(unknown)[0]!r}; use sqlite, postgresql or both")
    if "postgresql" in backends and shutil.which("psql") is None:
        parser.error("psql is needed for the PostgreSQL floor: apt-get install -y postgresql-client")
    sqlite_version = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout.split()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{load:.2f}' for load in os.getloadavg())}; seed {args.seed}, bad rate {args.bad_rate}, "
          f"{args.companies} companies{', a phone in every row' if args.phones else ''}; sqlite3 {sqlite_version}",
          flush=True)
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-customers-") as temporary:
        folder = Path(temporary)
        compare, work = _sizes(args.compare), _sizes(args.sizes)
        for size in sorted({*compare, *work}):
            files = write_files(folder, size, seed=args.seed, bad_rate=args.bad_rate, companies=args.companies,
                                phones=args.phones)
            if size in compare:
                report += compare_size(size, backends, files, folder, rounds=args.rounds, companies=args.companies,
                                       phones=args.phones, environment=measured_environment)
            if size in work:
                report += ["", f"{'size':>9}  {'backend':<10} {'pass':<9} {'rows/s':>9} {'seconds':>8} "
                               f"{'CPU s':>8} {'peak MB':>8}  work alone (Services.import_file in a fresh process)"]
                report += work_size(size, backends, files, folder, companies=args.companies)
            for path in files.values():
                path.unlink()
    print("\n".join(report))


if __name__ == "__main__":
    main()
