"""Bytes → SourceRow: encoding, BOM, delimiter, row limit; hands workbooks on, rejects binaries and broken files.

`inspect_csv()` makes one whole-file pass before anything is written and returns the `CsvLayout` or
raises `BadFile(code, message)`, one sentence an admin can act on; `read_rows()` then streams the
records. Both read in chunks: memory stays bounded whatever the file size. Policy, in order:

- **Size and kind.** Empty is `file.empty`, over `max_bytes` is `file.too_large`; zip and OLE files
  (xlsx, xls...) are read or refused by plugin.workbook, whatever their name; PDF, images and archives
  are `file.binary`. The size, shape and row checks are plugin.rows', shared with workbooks.
- **Encoding.** A BOM decides (UTF-8, UTF-16, UTF-32); else a file valid UTF-8 throughout is UTF-8;
  else charset-normalizer guesses from the first non-UTF-8 64 KiB, preferring cp1252 (Excel in Western
  locales) when it reads as well as the best guess; no plausible guess, or a NUL, is `file.binary`.
  Bytes the chosen encoding cannot decode are `file.encoding`.
- **Delimiter.** Of , ; tab |, the one splitting the header into more than one column whose count the
  next records of the sample repeat most; a one-column header (just email) reads with ",".
- **Records.** CRLF, LF or CR endings; a quoted cell may span lines. Quotes are strict: one never
  closed, or text after a closing quote, is `file.unbalanced_quotes`; a cell over 1 MiB (or a line
  over 4 MiB) is `file.cell_too_large`.
- **Rows.** Numbered as a spreadsheet shows them: header row 1, first record row 2. Blank rows (no
  cells, or only empty or whitespace cells, as Excel writes ",,,") are skipped but keep their number.
  Row 1 must hold the header (else `file.no_header`); empty header cells among others are allowed,
  duplicates (ignoring case and surrounding spaces) are `file.duplicate_headers`. More records than
  `row_limit` is `file.too_many_rows`; a header and no records is `file.no_rows`.
- **Shape.** More header cells than `column_limit` is `file.too_many_columns` (checked on the first record,
  before any cell is looked at: a 1,000,000-column header is refused at once); a header cell over
  HEADER_CELL_LIMIT characters is `file.header_too_long`. Together they bound what a mapping or a job
  stores about a file's columns.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from plugin.errors import BadFile
from plugin.rows import (
    CELL_LIMIT,
    DEFAULT_COLUMN_LIMIT,
    SourceRow,
    cell_too_large,
    check_column_count,
    check_has_rows,
    check_headers,
    check_row_count,
    check_size,
    describe_size,
    empty_file,
    is_blank,
)
from plugin.workbook import WorkbookLayout, inspect_workbook, read_workbook_rows

__all__ = ["CsvLayout", "Layout", "SourceRow", "WorkbookLayout", "describe_size", "inspect_csv", "read_rows"]

CHUNK_SIZE = 64 * 1024
LINE_LIMIT = 4 * CELL_LIMIT  # characters in one physical line: keeps memory bounded without newlines
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_RECORDS = 20

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_BINARY_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
)




@dataclass(frozen=True, slots=True)
class CsvLayout:
    """How to read a file that passed inspection."""

    encoding: str  # e.g. "utf-8-sig", "utf-16", "cp1252"
    delimiter: str  # one of , ; \t |
    headers: tuple[str, ...]  # header cells, stripped
    row_count: int  # data records (blank lines not counted)


Layout = CsvLayout | WorkbookLayout  # how to read a file that passed inspection, by its content


class _LineTooLong(Exception):
    """A physical line exceeds LINE_LIMIT characters."""


def inspect_csv(source: BinaryIO, *, row_limit: int, max_bytes: int,
                column_limit: int = DEFAULT_COLUMN_LIMIT, sheet: str | None = None) -> Layout:
    """Check the whole file and say how to read it; raises BadFile when it cannot be imported at all.

    A workbook is recognised by its content, whatever its name (an .xlsx renamed .csv is read as a workbook),
    and read from `sheet` (its first sheet when None); `sheet` means nothing to a CSV file.
    """
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    check_size(size, max_bytes)
    head = source.read(CHUNK_SIZE)
    source.seek(0)
    if head.startswith(_WORKBOOK_MAGIC):
        return inspect_workbook(source, row_limit=row_limit, max_bytes=max_bytes, column_limit=column_limit,
                                sheet=sheet)
    check_kind(head)
    encoding = detect_encoding(source)
    delimiter = detect_delimiter(_decode_sample(head, encoding))
    headers: tuple[str, ...] | None = None
    row_count = 0
    try:
        for _, cells in _numbered_records(source, encoding, delimiter):
            if headers is None:
                check_column_count(len(cells), column_limit)
                headers = check_headers(cells)
            elif not is_blank(cells):
                row_count += 1
    except UnicodeDecodeError:
        raise _undecodable(encoding, find_undecodable_row(source, encoding, delimiter)) from None
    finally:
        source.seek(0)
    if headers is None:
        raise empty_file()
    check_has_rows(row_count)
    check_row_count(row_count, row_limit)
    return CsvLayout(encoding=encoding, delimiter=delimiter, headers=headers, row_count=row_count)


def read_rows(source: BinaryIO, layout: Layout) -> Iterator[SourceRow]:
    """Stream the data records of an inspected file; blank rows are skipped but keep their numbers."""
    if isinstance(layout, WorkbookLayout):
        yield from read_workbook_rows(source, layout)
        return
    source.seek(0)
    try:
        for number, cells in _numbered_records(source, layout.encoding, layout.delimiter):
            if number > 1 and not is_blank(cells):
                yield SourceRow(number, tuple(cells))
    except UnicodeDecodeError:  # only when the file changed after inspection
        raise _undecodable(layout.encoding, None) from None






def check_kind(head: bytes) -> None:
    """Reject well-known binary formats by their first bytes (workbooks are read by plugin.workbook)."""
    for magic, kind in _BINARY_MAGIC:
        if head.startswith(magic):
            message = f"This is {kind}, not CSV: export the contacts as CSV and upload that."
            raise BadFile("file.binary", message)


def detect_encoding(source: BinaryIO) -> str:
    """BOM → its encoding; valid UTF-8 throughout → "utf-8"; else a legacy encoding guessed from the bytes."""
    head = source.read(CHUNK_SIZE)
    source.seek(0)
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    undecodable = first_non_utf8_chunk(source)
    source.seek(0)
    if undecodable is None:
        return "utf-8"
    return guess_legacy_encoding(undecodable)


def first_non_utf8_chunk(source: BinaryIO) -> bytes | None:
    """The first chunk that is not valid UTF-8, or None when the whole file is."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    previous = b""
    while True:
        chunk = source.read(CHUNK_SIZE)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            return chunk or previous  # empty: the previous chunk ends in an incomplete sequence
        if not chunk:
            return None
        previous = chunk


def guess_legacy_encoding(sample: bytes) -> str:
    """charset-normalizer's guess, or cp1252 when that reads as well; UTF-16/32 need a BOM here."""
    if b"\x00" in sample:
        raise _binary_content()
    from charset_normalizer import from_bytes  # loads only for a file that is not UTF-8

    guesses = [match for match in from_bytes(sample, threshold=0.5) if not match.encoding.startswith("utf")]
    best = guesses[0] if guesses else None
    western = from_bytes(sample, threshold=0.5, cp_isolation=["cp1252"]).best()
    if western is not None and (best is None or western.chaos <= best.chaos):
        return "cp1252"
    if best is None:
        raise _binary_content()
    return best.encoding




def _binary_content() -> BadFile:
    return BadFile(
        "file.binary",
        "This file is not text (it has NUL or other non-text bytes): "
        "export the contacts as CSV and upload that.",
    )


def _decode_sample(head: bytes, encoding: str) -> str:
    """The complete lines of the first chunk, decoded leniently: enough to choose a delimiter."""
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    end = max(text.rfind("\n"), text.rfind("\r"))
    return text[: end + 1] if end >= 0 and len(head) == CHUNK_SIZE else text


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits the header into the most consistent columns; "," for one column."""
    best, best_score = ",", (0, 1)
    for delimiter in DELIMITERS:
        widths = _sample_widths(sample, delimiter)
        if not widths or widths[0] < 2:
            continue
        score = (sum(width == widths[0] for width in widths[1:]), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _sample_widths(sample: str, delimiter: str) -> list[int]:
    """Column counts of the first non-blank records of the sample, read leniently (quotes may be cut)."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    widths = []
    try:
        for cells in reader:
            if not is_blank(cells):
                widths.append(len(cells))
            if len(widths) == SAMPLE_RECORDS:
                break
    except csv.Error:  # a cell over the field limit: keep what was counted
        pass
    return widths










def _numbered_records(
    source: BinaryIO, encoding: str, delimiter: str, *, errors: str = "strict"
) -> Iterator[tuple[int, list[str]]]:
    """Every record with its spreadsheet row number, blank ones included; file problems become BadFile.

    Undecodable bytes raise UnicodeDecodeError, a chunk ahead of the record being read.
    """
    _allow_long_cells()
    text = io.TextIOWrapper(source, encoding=encoding, errors=errors, newline="")
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter, strict=True)
    number = 0
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise _quote_problem(str(error), number + 1) from None
            except _LineTooLong:
                raise cell_too_large(number + 1) from None
            number += 1
            if cells and max(map(len, cells)) > CELL_LIMIT:
                raise cell_too_large(number)
            yield number, cells
    finally:
        text.detach()  # leave the caller's file open


def find_undecodable_row(source: BinaryIO, encoding: str, delimiter: str) -> int | None:
    """The first row holding a replacement character when the file is decoded leniently."""
    source.seek(0)
    for number, cells in _numbered_records(source, encoding, delimiter, errors="replace"):
        if any("\ufffd" in cell for cell in cells):
            return number
    return None


def _undecodable(encoding: str, row: int | None) -> BadFile:
    where = f"Row {row:,} has" if row else "The file has"
    return BadFile(
        "file.encoding",
        f"{where} bytes that are not {encoding} text: save the file as CSV UTF-8 and upload it again.",
    )


def _allow_long_cells() -> None:
    """csv's default field limit (128 KiB) is process-wide; raise it to CELL_LIMIT, never lower it."""
    if csv.field_size_limit() < CELL_LIMIT:
        csv.field_size_limit(CELL_LIMIT)


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    while line := text.readline(LINE_LIMIT):
        if "\x00" in line:
            raise _binary_content()
        if len(line) == LINE_LIMIT and not line.endswith(("\n", "\r")):
            raise _LineTooLong()
        yield line


def _quote_problem(detail: str, row: int) -> BadFile:
    if detail.startswith("field larger than field limit"):
        return cell_too_large(row)
    if detail == "unexpected end of data":
        return BadFile(
            "file.unbalanced_quotes",
            f'Row {row:,} opens a quoted cell (") that is never closed: add the missing closing quote.',
        )
    if "expected after" in detail:
        return BadFile(
            "file.unbalanced_quotes",
            f'Row {row:,} has text right after the closing quote (") of a cell: quote the whole cell '
            'and double any quote inside it ("").',
        )
    raise csv.Error(detail)
