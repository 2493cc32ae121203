"""Rounds of whole processes on the same files: the floors (bench/floors.py), sqlite-utils and the product's
`contact-importer import customers FILE`; every round, the medians, and the ratios against issue 14's targets."""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from bench.databases import POSTGRES_DSN, prepare_database, prepared_sqlite_copy, throwaway_schema
from bench.floors import (
    Timing,
    bare_import_script,
    postgres_upsert_script,
    run_psql,
    run_sqlite3,
    run_timed,
    run_sqlite_utils,
    sql_upsert_script,
    sqlite_utils_command,
)

CONTACT_IMPORTER = str(Path(sys.executable).with_name("contact-importer"))
# (backend, pass, against): (at least, aim) as rates, the product's over the other's.
TARGETS = {
    ("sqlite", "first", "SQL floor"): (0.45, 0.5),
    ("sqlite", "re-import", "SQL floor"): (0.65, 0.75),
    ("sqlite", "first", "sqlite-utils"): (2.0, None),
    ("sqlite", "re-import", "sqlite-utils"): (1.2, None),
    ("postgresql", "first", "SQL floor"): (0.5, None),
    ("postgresql", "re-import", "SQL floor"): (0.5, None),
}
Environment = Callable[..., dict[str, str]]
WRITES_ALONE = "writes alone"  # the product's statements replayed with nothing else to do (bench/writes_alone.py)


def product_import(url: str, csv_path: Path, rows: int, environment: Environment) -> tuple[Timing, str]:
    """One whole `contact-importer import customers` process, and its summary line."""
    env = environment(database_url=url, row_limit=str(rows),
                      max_file_bytes=str(max(csv_path.stat().st_size, 20 * 1024 * 1024)))
    timing, text = run_timed([CONTACT_IMPORTER, "import", "customers", str(csv_path)], env=env,
                             accepted=(0, 1), check_output=False)  # 1: some rows failed, as the files mean them to
    return timing, text.splitlines()[0] if text else ""


def compare_size(size: int, backends: list[str], files: dict[str, Path], folder: Path, *, rounds: int,
                 companies: int, phones: bool, environment: Environment) -> list[str]:
    report: list[str] = []
    for backend in backends:
        if backend == "sqlite":
            report += _compare_sqlite(size, files, folder, rounds=rounds, companies=companies, phones=phones,
                                      environment=environment)
        else:
            report += _compare_postgresql(size, files, rounds=rounds, companies=companies, phones=phones,
                                          environment=environment)
    return report


def _compare_sqlite(size: int, files: dict[str, Path], folder: Path, *, rounds: int, companies: int,
                    phones: bool, environment: Environment) -> list[str]:
    template = folder / "prepared.db"
    for leftover in folder.glob("prepared.db*"):
        leftover.unlink()
    prepare_database(f"sqlite:///{template}", companies=companies)
    sqlite_utils, about_sqlite_utils = sqlite_utils_command()
    print(f"sqlite-utils: {about_sqlite_utils}", file=sys.stderr, flush=True)
    timings: dict[tuple[str, str], list[Timing]] = {}
    results_share: dict[str, list[float]] = {}  # pass → seconds of the writes alone spent on per-row results
    summaries: dict[str, str] = {}
    for number in range(1, rounds + 1):
        bare = folder / "bare.db"
        bare.unlink(missing_ok=True)
        timings.setdefault(("first", ".import"), []).append(run_sqlite3(bare, bare_import_script(files["first"])))
        floor = prepared_sqlite_copy(template, folder / "floor.db").removeprefix("sqlite:///")
        product = prepared_sqlite_copy(template, folder / "product.db")
        writes = Path(prepared_sqlite_copy(template, folder / "writes.db").removeprefix("sqlite:///"))
        utils = folder / "sqlite-utils.db"
        utils.unlink(missing_ok=True)
        for pass_name, csv_path in files.items():
            timings.setdefault((pass_name, "SQL floor"), []).append(
                run_sqlite3(Path(floor), sql_upsert_script(csv_path, phones=phones)))
            if sqlite_utils is not None:
                timings.setdefault((pass_name, "sqlite-utils"), []).append(
                    run_sqlite_utils(sqlite_utils, utils, csv_path))
            timing, summaries[pass_name] = product_import(product, csv_path, size, environment)
            timings.setdefault((pass_name, "product"), []).append(timing)
            replayed, results_seconds = writes_alone(product.removeprefix("sqlite:///"), writes)
            timings.setdefault((pass_name, WRITES_ALONE), []).append(replayed)
            results_share.setdefault(pass_name, []).append(results_seconds)
            print(f"round {number} {pass_name}: " + ", ".join(
                f"{against} {values[-1].seconds:.2f} s ({values[-1].cpu:.2f} s CPU)"
                for (name, against), values in timings.items() if name == pass_name), file=sys.stderr, flush=True)
    against = ["SQL floor", *(["sqlite-utils"] if sqlite_utils is not None else [])]
    lines = _table(f"{size:,} customers on SQLite, whole processes, {_rounds(rounds)}", timings, size,
                   ["SQL floor", "sqlite-utils", "product"], against, "sqlite")
    lines.insert(2, f"  .import into a bare table (reading and storing the text): median "
                    f"{statistics.median(timing.seconds for timing in timings[('first', '.import')]):.2f} s")
    if sqlite_utils is None:
        lines.insert(2, f"  SKIPPED sqlite-utils: {about_sqlite_utils}")
    else:
        lines.insert(2, f"  {about_sqlite_utils} (emails compared as written: a re-imported email in another "
                        f"case is a new row to it)")
    lines += _writes_alone_lines(timings, results_share)
    lines += [f"  product said ({pass_name}): {summary}" for pass_name, summary in summaries.items()]
    return lines


def writes_alone(product_db: str, into: Path) -> tuple[Timing, float]:
    """bench/writes_alone.py replaying the product's last import into `into`: the timing of its timed part, and
    the seconds of it spent inserting per-row results."""
    with sqlite3.connect(product_db) as connection:
        (job,) = connection.execute("SELECT max(id) FROM import_jobs").fetchone()
    connection.close()
    _, output = run_timed([sys.executable, "-m", "bench.writes_alone", "--source", product_db, "--job", str(job),
                           "--into", str(into)], cwd=Path(__file__).resolve().parent.parent)
    measured = json.loads(output.strip().splitlines()[-1])
    return Timing(measured["seconds"], measured["cpu"], 0.0), measured["results_seconds"]


def _writes_alone_lines(timings: dict[tuple[str, str], list[Timing]], results_share: dict[str, list[float]]
                        ) -> list[str]:
    """The product's writes alone against the floor: the most the product could reach if reading, validating,
    planning and starting took no time at all, beside the target."""
    lines = []
    for pass_name in results_share:  # the passes replayed, in the order they ran
        ceilings = [floor.seconds / writes.seconds for floor, writes in
                    zip(timings[(pass_name, "SQL floor")], timings[(pass_name, WRITES_ALONE)], strict=True)]
        writes = statistics.median(timing.seconds for timing in timings[(pass_name, WRITES_ALONE)])
        least, _ = TARGETS[("sqlite", pass_name, "SQL floor")]
        lines.append(f"  {pass_name}: the product's writes alone (bench/writes_alone.py) take a median {writes:.2f} s "
                     f"({statistics.median(results_share[pass_name]):.2f} s of it per-row results): even with nothing "
                     f"else to do the product would reach {statistics.median(ceilings):.2f} × the floor (rounds "
                     f"{', '.join(f'{ceiling:.2f}' for ceiling in ceilings)}; target {least:g} ×)")
    return lines


def _compare_postgresql(size: int, files: dict[str, Path], *, rounds: int, companies: int, phones: bool,
                        environment: Environment) -> list[str]:
    timings: dict[tuple[str, str], list[Timing]] = {}
    summaries: dict[str, str] = {}
    for number in range(1, rounds + 1):
        with throwaway_schema() as (floor_url, floor_schema), throwaway_schema() as (product_url, _):
            prepare_database(floor_url, companies=companies)
            prepare_database(product_url, companies=companies)
            for pass_name, csv_path in files.items():
                floor = run_psql(POSTGRES_DSN, floor_schema, postgres_upsert_script(csv_path, phones=phones))
                timings.setdefault((pass_name, "SQL floor"), []).append(floor)
                timing, summaries[pass_name] = product_import(product_url, csv_path, size, environment)
                timings.setdefault((pass_name, "product"), []).append(timing)
                print(f"round {number} {pass_name} on PostgreSQL: floor {floor.seconds:.2f} s, "
                      f"product {timing.seconds:.2f} s", file=sys.stderr, flush=True)
    lines = _table(f"{size:,} customers on PostgreSQL (COPY floor), whole processes, {_rounds(rounds)}", timings,
                   size, ["SQL floor", "product"], ["SQL floor"], "postgresql")
    lines += [f"  product said ({pass_name}): {summary}" for pass_name, summary in summaries.items()]
    return lines


def _rounds(count: int) -> str:
    return f"{count} round{'s' if count != 1 else ''}"


def _table(title: str, timings: dict[tuple[str, str], list[Timing]], size: int, tools: list[str],
           against: list[str], backend: str) -> list[str]:
    """Seconds (and rows/s) per round and median, the product's rate over each other's per round, verdicts.

    On SQLite each process does its own work, so the same ratios by CPU seconds follow: steadier than wall
    time on a machine that others share (PostgreSQL's server work is in no process measured here)."""
    passes = [pass_name for pass_name, tool in timings if tool == "product"]
    tools = [tool for tool in tools if any((pass_name, tool) in timings for pass_name in passes)]
    header = (f"  {'pass':<9} {'round':>6} " + " ".join(f"{tool:>22}" for tool in tools)
              + " " + " ".join(f"{'× ' + other:>16}" for other in against) + f" {'product MB':>10}")
    lines = ["", title, header]
    verdicts = []
    for pass_name in passes:
        product = timings[(pass_name, "product")]
        seconds = {tool: [timing.seconds for timing in timings[(pass_name, tool)]] for tool in tools}
        ratios = {other: [theirs.seconds / ours.seconds for theirs, ours in
                          zip(timings[(pass_name, other)], product, strict=True)] for other in against}
        for index in [*range(len(product)), None]:
            def cell(values: list[float]) -> float:
                return statistics.median(values) if index is None else values[index]

            lines.append(f"  {pass_name:<9} {'median' if index is None else index + 1:>6} " + " ".join(
                f"{cell(seconds[tool]):>8.2f} s {size / cell(seconds[tool]):>8,.0f}/s" for tool in tools)
                + " " + " ".join(f"{cell(ratios[other]):>15.2f}×" for other in against)
                + f" {cell([timing.peak_mb for timing in product]):>10.0f}")
        for other in against:
            least, aim = TARGETS[(backend, pass_name, other)]
            median = statistics.median(ratios[other])
            verdicts.append(f"{'MET   ' if median >= least else 'MISSED'} {backend}, {pass_name}: product at least "
                            f"{least:g} × {other}{f' (aim {aim:g})' if aim else ''}: median {median:.2f} × "
                            f"(rounds {', '.join(f'{ratio:.2f}' for ratio in ratios[other])})")
            if backend == "sqlite":
                by_cpu = [theirs.cpu / ours.cpu for theirs, ours in zip(timings[(pass_name, other)], product,
                                                                        strict=True)]
                verdicts.append(f"       by CPU seconds instead: median {statistics.median(by_cpu):.2f} × "
                                f"(rounds {', '.join(f'{ratio:.2f}' for ratio in by_cpu)}; CPU s: {other} "
                                f"{statistics.median(t.cpu for t in timings[(pass_name, other)]):.2f}, product "
                                f"{statistics.median(t.cpu for t in product):.2f})")
    return lines + verdicts
