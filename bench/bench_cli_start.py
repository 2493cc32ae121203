"""How fast the command line answers: whole processes against a bare Python started in the same round.

Each round runs, one after another, `python -c "import sqlite3, csv, json"` (the bare start), `contact-importer
--help`, and `contact-importer import customers` of a 1-row file (a new email each round) into a SQLite database
whose schema is current (made before the rounds). It prints every round, the medians and the ratios, each ratio
taken within its round, by wall time and by the processes' CPU time (steadier on a machine others share).
Targets (issue 14): the 1-row import at most 12 × the bare start (aim 8 ×), --help at most 5 ×. Bytecode
caches are used as in an installed copy (PYTHONDONTWRITEBYTECODE is dropped for the processes measured).
Run from the repository root:

    python -m bench.bench_cli_start [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.floors import Timing, run_timed

CONTACT_IMPORTER = str(Path(sys.executable).with_name("contact-importer"))
TARGETS = {"1-row import": (12.0, 8.0), "--help": (5.0, None)}  # what: (at most × bare, aim)


def environment(database_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CONTACT_IMPORTER_") and name != "PYTHONDONTWRITEBYTECODE"}
    env["CONTACT_IMPORTER_DATABASE_URL"] = database_url
    return env


def timed(command: list[str], env: dict[str, str], cwd: Path) -> Timing:
    return run_timed(command, env=env, cwd=cwd, check_output=False)[0]


def one_row_file(folder: Path, number: int) -> str:
    path = folder / f"one-{number}.csv"
    path.write_text(f"email,first_name\nperson{number}@example.com,Person {number}\n", encoding="utf-8")
    return str(path)


def run(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cli-start-") as temporary:
        folder = Path(temporary)
        env = environment(f"sqlite:///{folder}/contacts.db")
        commands = {"bare python": [sys.executable, "-c", "import sqlite3, csv, json"],
                    "--help": [CONTACT_IMPORTER, "--help"]}
        # Warm-up, not measured: makes the schema (Alembic) and the bytecode caches, fills the OS's file cache.
        for command in commands.values():
            timed(command, env, folder)
        timed([CONTACT_IMPORTER, "import", "customers", one_row_file(folder, 0)], env, folder)
        timings: dict[str, list[Timing]] = {"bare python": [], "--help": [], "1-row import": []}
        print(f"{'round':>5}  {'bare python':>11}  {'--help':>8}  {'1-row import':>12}  {'help ×':>7}  {'import ×':>8}"
              f"  {'CPU: help ×':>11}  {'import ×':>8}")
        for number in range(1, rounds + 1):
            for what, command in commands.items():
                timings[what].append(timed(command, env, folder))
            timings["1-row import"].append(
                timed([CONTACT_IMPORTER, "import", "customers", one_row_file(folder, number)], env, folder))
            bare, help_, one = (timings[what][-1] for what in ("bare python", "--help", "1-row import"))
            print(f"{number:>5}  {bare.seconds:>10.3f}s  {help_.seconds:>7.3f}s  {one.seconds:>11.3f}s  "
                  f"{help_.seconds / bare.seconds:>6.1f}×  {one.seconds / bare.seconds:>7.1f}×  "
                  f"{help_.cpu / bare.cpu:>10.1f}×  {one.cpu / bare.cpu:>7.1f}×", flush=True)
    print(f"{'median':>5}  " + "  ".join(
        f"{statistics.median(timing.seconds for timing in timings[what]):>{width}.3f}s"
        for what, width in (("bare python", 10), ("--help", 7), ("1-row import", 11))))
    print()
    for what, (limit, aim) in TARGETS.items():
        for clock in ("seconds", "cpu"):
            ratios = [getattr(product, clock) / getattr(bare, clock)
                      for product, bare in zip(timings[what], timings["bare python"], strict=True)]
            ratio = statistics.median(ratios)
            verdict = "MET   " if ratio <= limit else "MISSED"
            print(f"{verdict} {what} at most {limit:g} × a bare Python start{f' (aim {aim:g} ×)' if aim else ''}, "
                  f"{'wall' if clock == 'seconds' else 'CPU'} time: median {ratio:.1f} × "
                  f"(rounds {', '.join(f'{value:.1f}' for value in ratios)})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds, each timing all three (default 7)")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{load:.2f}' for load in os.getloadavg())}", flush=True)
    run(args.rounds)


if __name__ == "__main__":
    main()
