"""How much memory and time reading a whole .xlsx takes (plugin.workbook), against the 150 MB target.

The workbook holds bench/generate_customers.py's rows, typed as a spreadsheet holds them (seats as
numbers, renewal dates as dates, a phone column as text), written with openpyxl's write-only mode and
then saved over as Excel saves a sheet: with a shared-string table (openpyxl writes every text inline;
Excel keeps each distinct text once in xl/sharedStrings.xml, which a reader holds in memory while it
reads) and with the sheet's dimension (openpyxl's write-only mode leaves it out, and a reader then
scans the whole sheet once more to find its size).
Reading runs in a fresh Python process: `inspect_workbook` (the whole-sheet check) then
`read_workbook_rows` to the end, timed; its peak memory is the process's VmHWM. The process's peak
after importing the modules, before reading, is shown too. Target (issue 15): 100,000 rows under
150 MB. Run from the repository root:

    python -m bench.bench_workbook [--rows 100000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from html import unescape
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from bench.bench_customers import peak_memory_mb
from bench.generate_customers import DEFAULT_BAD_RATE, DEFAULT_COMPANIES, PHONE_HEADER, CustomerRows

TARGET_ROWS, TARGET_MEMORY_MB = 100_000, 150.0
_INLINE_CELL = re.compile(
    r'<c r="([A-Z]+\d+)"( s="\d+")? t="inlineStr"><is><t(?: xml:space="preserve")?>(.*?)</t></is></c>')
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def write_workbook(path: Path, rows: int, *, seed: int = 1) -> None:
    """The generated customers as a workbook Excel could have saved: typed cells, shared strings."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Customers")
    sheet.append(PHONE_HEADER)
    generator = CustomerRows(seed=seed, companies=DEFAULT_COMPANIES, bad_rate=DEFAULT_BAD_RATE, revision=0, phones=True)
    for row in generator.rows(rows):
        sheet.append([_typed(header, text) for header, text in zip(PHONE_HEADER, row, strict=True)])
    workbook.save(path)
    as_excel_saves_it(path, rows + 1, len(PHONE_HEADER))


def _typed(header: str, text: str) -> object:
    """A cell as a spreadsheet user would have typed it: numbers and dates as such where they parse."""
    try:
        if header == "seats" and text:
            return int(text)
        if header == "renewal_date" and text:
            return datetime.date.fromisoformat(text)
    except ValueError:  # the generator's bad rows: keep their text
        pass
    return text or None  # Excel saves no cell for an empty one


def as_excel_saves_it(path: Path, rows: int, columns: int) -> None:
    """Rewrite the sheet's inline texts into a shared-string table, and give it its dimension, as Excel saves it."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    table: dict[str, int] = {}

    def shared(match: re.Match[str]) -> str:
        index = table.setdefault(unescape(match.group(3)), len(table))
        return f'<c r="{match.group(1)}"{match.group(2) or ""} t="s"><v>{index}</v></c>'

    sheet = _INLINE_CELL.sub(shared, parts["xl/worksheets/sheet1.xml"].decode())
    dimension = f'<dimension ref="A1:{get_column_letter(columns)}{rows}" />'
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("</sheetPr>", "</sheetPr>" + dimension, 1).encode()
    items = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in table)
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main" count="{len(table)}" uniqueCount="{len(table)}">{items}</sst>').encode()
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SHARED_STRINGS_TYPE}"/>'
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", f"{override}</Types>".encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def read_child(path: Path, row_limit: int) -> None:
    """In a fresh process: inspect and read the whole workbook; print seconds, rows and peaks as JSON."""
    from plugin.workbook import inspect_workbook, read_workbook_rows

    before = peak_memory_mb()
    started = time.perf_counter()
    with path.open("rb") as source:
        layout = inspect_workbook(source, row_limit=row_limit, max_bytes=path.stat().st_size)
        inspected = time.perf_counter()
        rows = sum(1 for _ in read_workbook_rows(source, layout))
    finished = time.perf_counter()
    print(json.dumps({"rows": rows, "row_count": layout.row_count, "inspect_seconds": inspected - started,
                      "read_seconds": finished - inspected, "peak_mb": peak_memory_mb(), "start_mb": before}))


def measure(path: Path, rows: int) -> dict[str, float]:
    code = f"import sys, pathlib, bench.bench_workbook as bench; bench.read_child(pathlib.Path(sys.argv[1]), {rows})"
    command = [sys.executable, "-c", code, str(path)]
    repository = Path(__file__).resolve().parent.parent
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=repository)
    return json.loads(output.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=TARGET_ROWS, help=f"data rows (default {TARGET_ROWS:,})")
    parser.add_argument("--keep", type=Path, default=None, help="write the workbook here and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_workbook_") as scratch:
        path = args.keep or Path(scratch) / "customers.xlsx"
        started = time.perf_counter()
        write_workbook(path, args.rows)
        print(f"wrote {args.rows:,} rows to {path.name}: {path.stat().st_size / 1e6:.1f} MB "
              f"in {time.perf_counter() - started:.1f} s")
        result = measure(path, args.rows)
    verdict = "ok" if result["peak_mb"] < TARGET_MEMORY_MB else "OVER"
    rate = result["rows"] / result["read_seconds"]
    print(f"read {result['rows']:,} rows (inspected {result['row_count']:,}): "
          f"inspect {result['inspect_seconds']:.1f} s, read {result['read_seconds']:.1f} s ({rate:,.0f} rows/s)")
    print(f"peak memory {result['peak_mb']:.1f} MB (after imports {result['start_mb']:.1f} MB); "
          f"target under {TARGET_MEMORY_MB:.0f} MB: {verdict}")


if __name__ == "__main__":
    main()
