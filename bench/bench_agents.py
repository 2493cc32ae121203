"""How fast agents with passwords are imported through the real pipeline, against this machine's limit.

The limit is measured in the same run: one process's argon2id hashes per second (production parameters,
measured before and after the import, averaged) times the CPUs this process may use. The import runs the one pipeline on a fresh SQLite file, hashing each
batch's passwords on all cores; it should reach at least 85% of the limit and report progress as it goes.
Run from the repository root:

    python -m bench.bench_agents [--count 5000]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

from adapters.bootstrap import bootstrap
from adapters.passwords import Argon2Hasher, count_usable_cpus
from bench.bench_hashing import measure_single_process_rate
from plugin.report import Status
from plugin.settings import load_settings

TARGET_SHARE = 0.85


def agents_csv(count: int) -> bytes:
    """count new agents, each with a distinct password."""
    lines = ["email,first_name,last_name,password,active,role"]
    lines += [f"agent{number}@example.com,Agent,No {number},Bench-Password-{number:06d},yes,agent"
              for number in range(count)]
    return ("\n".join(lines) + "\n").encode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="agents in the file (default 5000)")
    parser.add_argument("--single-seconds", type=float, default=10.0, help="how long to measure one process")
    parser.add_argument("--batch-size", type=int, default=None, help="rows per batch (default: the setting)")
    args = parser.parse_args(argv)

    hasher = Argon2Hasher()
    cpus = count_usable_cpus()
    parameters = hasher.parameters
    print(f"argon2id m={parameters.memory_cost} KiB t={parameters.time_cost} p={parameters.parallelism}; "
          f"usable CPUs={cpus} (os.cpu_count()={os.cpu_count()}), workers={hasher.workers}", flush=True)
    rate_before = measure_single_process_rate(hasher, seconds=args.single_seconds)
    print(f"single process before the import: {rate_before:.2f} hashes/s", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-agents-") as folder:
        settings = load_settings(environ={}).replace(
            database_url=f"sqlite:///{Path(folder) / 'bench.db'}", row_limit=max(args.count, 1),
            batch_size=args.batch_size)
        services = bootstrap(settings, hasher=hasher)
        updates: list[tuple[int, int]] = []
        last_print = [time.perf_counter()]

        def on_progress(done: int, total: int) -> None:
            updates.append((done, total))
            if time.perf_counter() - last_print[0] >= 30 or done == total:
                last_print[0] = time.perf_counter()
                print(f"  progress: {done}/{total} rows", flush=True)

        started = time.perf_counter()
        report = services.imports.import_file("users", io.BytesIO(agents_csv(args.count)), file_name="bench.csv",
                                      actor="bench", progress=on_progress)
        elapsed = time.perf_counter() - started
        services.close()
    assert report.status is Status.SUCCEEDED and report.created == args.count, report.as_dict()
    # Measured again afterwards: on a shared machine the load may change while the import runs.
    rate_after = measure_single_process_rate(hasher, seconds=args.single_seconds)
    single_rate = (rate_before + rate_after) / 2
    limit = single_rate * cpus
    print(f"single process after the import: {rate_after:.2f} hashes/s; mean {single_rate:.2f} hashes/s "
          f"x {cpus} CPUs = machine limit {limit:.2f} agents/s")

    rate = args.count / elapsed
    share = rate / limit
    verdict = "met" if share >= TARGET_SHARE else "NOT met"
    print(f"import: {args.count} agents in {elapsed:.1f} s = {rate:.2f} agents/s "
          f"(batches of {settings.batch_size})")
    print(f"{share:.1%} of the machine limit (target >= {TARGET_SHARE:.0%}: {verdict}); "
          f"progress updates seen: {len(updates)}")


if __name__ == "__main__":
    main()
