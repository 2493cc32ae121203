"""How fast agents' passwords are hashed, against this machine's limit measured in the same run.

The limit is one process's hashes per second (production parameters) times os.cpu_count(); Argon2Hasher's
hash_many should reach at least 85% of it. Run from the repository root:

    python -m bench.bench_hashing [--count 5000]
"""

from __future__ import annotations

import argparse
import os
import time

from adapters.passwords import Argon2Hasher

TARGET_SHARE = 0.85


def measure_single_process_rate(hasher: Argon2Hasher, *, seconds: float) -> float:
    """Hashes per second in this process alone, hashing one password after another for about seconds."""
    hasher.hash("warm-up")
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or count < 5:
        hasher.hash(f"single-{count}")
        count += 1
    return count / elapsed


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, to judge whether other work disturbed the run."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="passwords for hash_many (default 5000)")
    parser.add_argument("--single-seconds", type=float, default=10.0, help="how long to measure one process")
    args = parser.parse_args(argv)

    hasher = Argon2Hasher()
    cpus = os.cpu_count() or 1
    parameters = hasher.parameters
    print(
        f"argon2id m={parameters.memory_cost} KiB t={parameters.time_cost} p={parameters.parallelism}; "
        f"os.cpu_count()={cpus}, workers={hasher.workers}; load average {load_average()}"
    )

    single_rate = measure_single_process_rate(hasher, seconds=args.single_seconds)
    limit = single_rate * cpus
    print(f"single process: {single_rate:.2f} hashes/s; machine limit: {limit:.2f} hashes/s")

    updates: list[int] = []
    passwords = [f"bench-password-{number}" for number in range(args.count)]

    def report_progress(done_now: int) -> None:
        updates.append(done_now)
        if len(updates) % 25 == 0:
            print(f"  progress: {sum(updates)}/{args.count}", flush=True)

    started = time.perf_counter()
    hashes = hasher.hash_many(passwords, on_progress=report_progress)
    elapsed = time.perf_counter() - started
    assert len(hashes) == args.count and sum(updates) == args.count

    rate = args.count / elapsed
    share = rate / limit
    verdict = "met" if share >= TARGET_SHARE else "NOT met"
    print(f"hash_many: {args.count} agents in {elapsed:.1f} s = {rate:.2f} agents/s")
    print(f"{share:.1%} of the limit (target >= {TARGET_SHARE:.0%}: {verdict})")
    print(f"progress updates seen: {len(updates)}")
    print(f"load average at the end {load_average()} (other work on the machine lowers the share)")


if __name__ == "__main__":
    main()
