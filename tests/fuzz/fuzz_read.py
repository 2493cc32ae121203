"""Fuzz the CSV reader with atheris: any bytes give a clean BadFile or numbered rows, never another exception.

Run by hand for a bounded time (libFuzzer options pass through; a corpus folder is optional):

    .venv/bin/python tests/fuzz/fuzz_read.py -max_total_time=60 [corpus_dir ...]

tests/fuzz/test_fuzz.py runs it for a few seconds from the seeds in tests/fuzz/seeds/read.
"""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports(include=["plugin"]):
    from plugin.errors import BadFile
    from plugin.read import inspect_csv, read_rows

ROW_LIMIT = 1_000
MAX_BYTES = 1_000_000


def check_file(data: bytes) -> None:
    """The reader's promise: BadFile before any row, or rows numbered from 2, increasing, as many as counted."""
    source = io.BytesIO(data)
    try:
        layout = inspect_csv(source, row_limit=ROW_LIMIT, max_bytes=MAX_BYTES)
    except BadFile as problem:
        if not problem.code.startswith("file.") or not problem.message:
            raise AssertionError(f"BadFile without a file code or message: {problem.code!r}") from None
        return
    numbers = [row.number for row in read_rows(source, layout)]
    if numbers != sorted(set(numbers)) or any(number < 2 for number in numbers):
        raise AssertionError(f"row numbers out of order: {numbers[:20]}")
    if len(numbers) != layout.row_count:
        raise AssertionError(f"inspection counted {layout.row_count} rows, reading gave {len(numbers)}")


def main(argv: list[str]) -> None:
    atheris.Setup(argv, check_file)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
