"""The store side of a customers import alone: microseconds per row in each store call, by pass.

The real pipeline runs (bench_customers' generated files, the real services), but the store's methods are
wrapped with timers, so what the core costs (reading, validating, planning) is left out of the figures. For
each size: a dry run, a first import and a re-import (every valid row an update), on SQLite (a temporary
file) or PostgreSQL (a throwaway database). Run from the repository root:

    python -m bench.bench_store [--sizes 100000] [--backends sqlite,postgresql] [--passes first] [--cpu]

On SQLite it also prints the wall time spent inside SQLite's own calls (SqliteClock): the rate the import
could reach, with the statements it runs, if reading, validating and planning cost nothing.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event

from bench.bench_customers import PASSES, fresh_database, prepare_database
from bench.generate_customers import DEFAULT_BAD_RATE, DEFAULT_COMPANIES, write_customers

# (where, attribute): the store calls timed, and the parts of them worth seeing apart.
TIMED = (
    ("adapters.db.store:SqlImportStore", "find_existing"),
    ("adapters.db.store:SqlImportStore", "apply_batch"),
    ("adapters.db.store:SqlImportStore", "record_results"),
    ("adapters.db.store:SqlImportStore", "_insert_results"),
    ("adapters.db.customers:CustomerTable", "write"),
    ("adapters.db.customers:CustomerTable", "_insert"),
    ("adapters.db.customers:CustomerTable", "_update"),
    ("adapters.db.customers:CustomerTable", "_write_labels"),
    ("adapters.db.customers:CustomerTable", "_write_custom"),
)


def _owner(where: str) -> type:
    module_name, class_name = where.split(":")
    module = __import__(module_name, fromlist=[class_name])
    return getattr(module, class_name)


@contextmanager
def timed_calls(clock: Callable[[], float] = time.perf_counter) -> Iterator[dict[str, float]]:
    """Seconds spent in each TIMED method (that exists) while the block runs; originals restored after."""
    seconds: dict[str, float] = defaultdict(float)
    originals: list[tuple[type, str, Callable]] = []
    for where, name in TIMED:
        owner = _owner(where)
        original = owner.__dict__.get(name)
        if original is None:
            continue

        def timed(*args, __original=original, __name=name, **kwargs):  # type: ignore[no-untyped-def]
            started = clock()
            try:
                return __original(*args, **kwargs)
            finally:
                seconds[__name] += clock() - started

        originals.append((owner, name, original))
        setattr(owner, name, timed)
    try:
        yield seconds
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


class SqliteClock:
    """Wall time spent inside SQLite's own calls (statements, stepping through rows, commits), summed.

    Installed through the engine's do_connect event, so the product's engine, pragmas and SQL stay as they are.
    It tells how fast an import could be at best with the SQL it runs: rows / (time inside SQLite).
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        clock = self

        class TimedCursor(sqlite3.Cursor):
            def execute(self, *args):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    return super().execute(*args)
                finally:
                    clock.seconds += time.perf_counter() - started

            def executemany(self, *args):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    return super().executemany(*args)
                finally:
                    clock.seconds += time.perf_counter() - started

            def fetchall(self):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    return super().fetchall()
                finally:
                    clock.seconds += time.perf_counter() - started

            def __next__(self):  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                try:
                    return super().__next__()
                finally:
                    clock.seconds += time.perf_counter() - started

        class TimedConnection(sqlite3.Connection):
            def cursor(self, factory=TimedCursor):  # type: ignore[no-untyped-def, override]
                return super().cursor(factory)

            def commit(self) -> None:
                started = time.perf_counter()
                try:
                    super().commit()
                finally:
                    clock.seconds += time.perf_counter() - started

        self.connection_class = TimedConnection

    def install(self, engine) -> None:  # type: ignore[no-untyped-def]
        @event.listens_for(engine, "do_connect")
        def use_timed_connections(_dialect, _record, _cargs, cparams) -> None:  # type: ignore[no-untyped-def]
            cparams["factory"] = self.connection_class


def bench_pass(url: str, csv_path: Path, rows: int, *, dry_run: bool, clock: Callable[[], float] = time.perf_counter,
               sqlite_clock: SqliteClock | None = None) -> tuple[float, dict[str, float], str]:
    from adapters.bootstrap import bootstrap, freeze_startup_heap, settings_from_environment
    from adapters.db.engine import make_engine

    settings = settings_from_environment(environ={}, database_url=url, row_limit=rows,
                                         max_file_bytes=max(csv_path.stat().st_size, 20 * 1024 * 1024))
    engine = make_engine(url)
    if sqlite_clock is not None and url.startswith("sqlite"):
        sqlite_clock.install(engine)
    services = bootstrap(settings, engine=engine)
    if sqlite_clock is not None:
        sqlite_clock.seconds = 0.0  # the migrations' and catalog's queries are not the import's
    freeze_startup_heap()  # as the CLI and the worker do
    try:
        with timed_calls(clock) as seconds, csv_path.open("rb") as source:
            started = clock()
            report = services.imports.import_file("customers", source, file_name=csv_path.name, actor="bench", dry_run=dry_run)
            total = clock() - started
    finally:
        services.close()
    outcome = f"{report.created:,} created, {report.updated:,} updated, {report.failed:,} failed"
    return total, dict(seconds), outcome


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", action="store_true",
                        help="this process's CPU time instead of wall time (steadier on a shared machine; "
                             "leaves out the time PostgreSQL works)")
    parser.add_argument("--passes", default="dry run,first,re-import", help="which passes to time (default all)")
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.passes.split(",")}
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    backends = [backend.strip() for backend in args.backends.split(",") if backend.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-store-") as temporary:
        folder = Path(temporary)
        for size in sizes:
            files = {}
            for pass_name, revision in PASSES:
                files[pass_name] = folder / f"customers-{size}-{pass_name}.csv"
                with files[pass_name].open("w", encoding="utf-8", newline="") as out:
                    write_customers(out, size, seed=args.seed, companies=DEFAULT_COMPANIES,
                                    bad_rate=DEFAULT_BAD_RATE, revision=revision)
            for backend in backends:
                with fresh_database(backend, folder) as url:
                    prepare_database(url, companies=DEFAULT_COMPANIES)
                    passes = [("dry run", files["first"], True)] + [(name, files[name], False) for name, _ in PASSES]
                    for pass_name, csv_path, dry_run in passes:
                        if pass_name not in wanted and pass_name != "first":  # a re-import needs the first
                            continue
                        sqlite_clock = SqliteClock() if backend == "sqlite" else None
                        total, seconds, outcome = bench_pass(url, csv_path, size, dry_run=dry_run,
                                                           clock=time.process_time if args.cpu else time.perf_counter,
                                                           sqlite_clock=sqlite_clock)
                        if pass_name not in wanted:
                            continue
                        store = sum(seconds.get(name, 0.0) for name in ("find_existing", "apply_batch", "record_results"))
                        parts = "  ".join(f"{name} {seconds[name] / size * 1e6:.1f}" for name in sorted(seconds))
                        print(f"{size:>9,} {backend:<10} {pass_name:<9} total {total / size * 1e6:6.1f} µs/row, "
                              f"store {store / size * 1e6:5.1f} µs/row ({outcome})\n    {parts}", flush=True)
                        if sqlite_clock is not None:
                            inside = sqlite_clock.seconds / size * 1e6
                            print(f"    inside SQLite (wall) {inside:.1f} µs/row: at best {1e6 / inside:,.0f} rows/s "
                                  "with this SQL and nothing else", flush=True)


if __name__ == "__main__":
    main()
