"""Workbook bytes → SourceRow: .xlsx read as the sheet shows it, through the same checks as CSV.

`inspect_workbook()` makes one whole-sheet pass before anything is written and returns the
`WorkbookLayout` or raises `BadFile(code, message)`; `read_workbook_rows()` then streams the records.
Both stream the sheet with openpyxl's read-only reader: memory stays bounded whatever the row count.
The size, column-count, header, row-count and blank-row rules are plugin.rows', shared with CSV. Policy:

- **Kind, by content** (whatever the file is called). A zip holding xl/workbook.xml is read. A
  password-protected workbook (an OLE container with an EncryptionInfo stream) is
  `file.workbook_encrypted`; another OLE file holding a Workbook or Book stream is an Excel 97-2003 .xls,
  `file.workbook_xls`; any other OLE file is `file.not_a_workbook`, as is a zip that is not an .xlsx
  (an .ods, an .xlsb, a Word document, an archive), which the message names. A zip that cannot be read,
  or a workbook whose parts are broken, is `file.workbook_corrupt`.
- **Sheet.** The first worksheet, or the one named (exactly, else ignoring case); no such sheet is
  `file.no_such_sheet`, naming the sheets there are. A sheet with no cells at all is `file.empty`.
- **Values as the sheet shows them.** Text as written (leading zeros kept); numbers without a spurious
  ".0" and to Excel's 15 significant digits (45456, 0.1, 0.3); dates as YYYY-MM-DD, date-times as
  YYYY-MM-DDTHH:MM:SS, times as HH:MM:SS, durations as H:MM:SS; booleans as TRUE/FALSE; error values
  as shown (#N/A). A formula gives its cached result. A formula the workbook holds no result for
  (written by a program that does not calculate) reads as "" and is listed in the row's
  `WorkbookRow.formulas_without_value`; `formula_errors()` makes those cells' row errors.
- **Rows.** Numbered as the sheet shows them: row 1 is the header, rows missing from the file and
  blank rows keep their numbers.
"""

from __future__ import annotations

import datetime
import io
import struct
import warnings
import zipfile
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, BinaryIO
from xml.etree.ElementTree import Element

if TYPE_CHECKING:  # openpyxl loads when a workbook is read, not for every CSV import (issue 14: a quick start)
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from plugin.errors import BadFile, RowError
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
    is_blank,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_ENTRY = 128  # bytes in one OLE directory entry; entries are 128-byte aligned in the file
_OLE_SCAN_CHUNK = 64 * _OLE_ENTRY
_OTHER_ZIPS = (  # a part that says what a zip is, and how the message names it
    ("xl/workbook.bin", "an Excel binary workbook (.xlsb)"),
    ("content.xml", "an OpenDocument file (.ods, from LibreOffice or OpenOffice)"),
    ("word/document.xml", "a Word document"),
    ("ppt/presentation.xml", "a PowerPoint presentation"),
)
_SAVE_AS = "save it as Excel Workbook (.xlsx) or CSV UTF-8 and upload that"
EXCEL_DIGITS = 15  # significant digits Excel shows of a number


@dataclass(frozen=True, slots=True)
class WorkbookLayout:
    """How to read a workbook that passed inspection."""

    sheet: str  # the worksheet read, by its name
    headers: tuple[str, ...]  # header cells, stripped
    row_count: int  # data records (blank rows not counted)


@dataclass(frozen=True, slots=True)
class WorkbookRow(SourceRow):
    """A record with formula cells whose result the workbook does not hold (their text is "")."""

    formulas_without_value: tuple[int, ...] = ()  # cell indexes, 0 for column A


class _NoResult:
    """The value of a formula cell saved without its result."""


_NO_RESULT = _NoResult()
_NumberedRow = tuple[int, list[str], tuple[int, ...]]  # row number, cell texts, formulas without a result


def inspect_workbook(source: BinaryIO, *, row_limit: int, max_bytes: int, column_limit: int = DEFAULT_COLUMN_LIMIT,
                     sheet: str | None = None) -> WorkbookLayout:
    """Check the whole sheet and say how to read it; raises BadFile when it cannot be imported at all."""
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    check_size(size, max_bytes)
    headers: tuple[str, ...] | None = None
    row_count = 0
    try:
        with _opened_sheet(source, sheet) as (name, rows):
            for number, cells, without_value in rows:
                if number == 1:
                    check_column_count(len(cells), column_limit)
                    headers = check_headers(cells)
                elif not _is_blank(cells, without_value):
                    row_count += 1
    finally:
        source.seek(0)
    if headers is None:
        raise BadFile("file.empty", f'The sheet "{name}" is empty: put the column names in row 1 and the contacts '
                                    "under them, or choose the sheet that holds them.")
    check_has_rows(row_count)
    check_row_count(row_count, row_limit)
    return WorkbookLayout(sheet=name, headers=headers, row_count=row_count)


def read_workbook_rows(source: BinaryIO, layout: WorkbookLayout) -> Iterator[SourceRow]:
    """Stream the data records of an inspected workbook; blank rows are skipped but keep their numbers."""
    source.seek(0)
    with _opened_sheet(source, layout.sheet) as (_, rows):
        for number, cells, without_value in rows:
            if number == 1 or _is_blank(cells, without_value):
                continue
            if without_value:
                yield WorkbookRow(number, tuple(cells), without_value)
            else:
                yield SourceRow(number, tuple(cells))


def formula_errors(row: SourceRow, headers: Mapping[int, str]) -> list[RowError]:
    """The row errors of a workbook row's formulas saved without a result, in the columns given (index → header).

    A CSV row, or a workbook row whose formulas all hold their result, has none.
    """
    if type(row) is not WorkbookRow:
        return []
    from openpyxl.utils import get_column_letter

    return [
        RowError(row.number, headers[index], "cell.formula_without_value",
                 f"Cell {get_column_letter(index + 1)}{row.number} is a formula the workbook holds no result for "
                 "(it was saved by a program that does not calculate): open the file in Excel, save it, and upload "
                 "it again.")
        for index in row.formulas_without_value if index in headers
    ]


def _is_blank(cells: list[str], without_value: tuple[int, ...]) -> bool:
    return not without_value and is_blank(cells)


class _opened_sheet:
    """The numbered rows of one worksheet, the workbook open while they are read; file problems become BadFile."""

    def __init__(self, source: BinaryIO, sheet: str | None) -> None:
        self.source, self.sheet = source, sheet
        self.workbook: Workbook | None = None
        self.rows: Generator[_NumberedRow, None, None] | None = None

    def __enter__(self) -> tuple[str, Iterator[_NumberedRow]]:
        self.workbook = workbook = _load(self.source)
        worksheet = _choose_sheet(workbook, self.sheet)
        self.rows = _numbered_rows(workbook, worksheet)
        return worksheet.title, self.rows

    def __exit__(self, *_: object) -> None:
        if self.rows is not None:
            self.rows.close()  # closes the sheet's part, also when the reader stopped early
        if self.workbook is not None:
            self.workbook.close()


def _load(source: BinaryIO) -> Workbook:
    head = source.read(len(OLE_MAGIC))
    source.seek(0)
    if head == OLE_MAGIC:
        raise _ole_problem(source)
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _corrupt() from None
    finally:
        source.seek(0)
    if "xl/workbook.xml" not in names:
        raise _other_zip(names)
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():  # openpyxl warns about parts it drops (styles, extensions) we never read
            warnings.simplefilter("ignore")
            return load_workbook(source, read_only=True, data_only=True, keep_links=False)
    except Exception:  # openpyxl raises whatever its parsers meet in a broken part: KeyError, ValueError, XML errors
        raise _corrupt() from None


def _choose_sheet(workbook: Workbook, wanted: str | None) -> ReadOnlyWorksheet:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    sheets = [sheet for sheet in workbook.worksheets if isinstance(sheet, ReadOnlyWorksheet)]
    if wanted is None:
        if not sheets:
            raise BadFile("file.empty", "The workbook has no worksheet (only charts): put the contacts in a sheet.")
        return sheets[0]
    for matches in (lambda name: name == wanted, lambda name: name.casefold() == wanted.strip().casefold()):
        found = [sheet for sheet in sheets if matches(sheet.title)]
        if found:
            return found[0]
    names = ", ".join(f'"{sheet.title}"' for sheet in sheets)
    raise BadFile("file.no_such_sheet", f'The workbook has no sheet named "{wanted}"; its sheets are {names}.')


@cache
def _cell_parser() -> type:
    """The sheet parser class, made on the first workbook read (it subclasses openpyxl's, loaded then)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class _CellParser(WorkSheetParser):
        """openpyxl's streaming sheet parser (what read-only worksheets use), telling a formula with no cached
        result from an empty cell. It is given no date styles: _numbered_rows() turns serials into dates, so a
        serial out of Excel's range reads as its number instead of warning. Parts we never read are skipped."""

        def parse_cell(self, element: Element) -> dict[str, object]:
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                # A text result may be "" (t="str", <v></v>); a formula never calculated has no <v>, or openpyxl's <v/>
                is_empty_text = element.get("t") == "str" and element.find(VALUE_TAG) is not None
                cell["value"] = "" if is_empty_text else _NO_RESULT
            return cell

        def parse_extensions(self, element: Element) -> None:  # it warns "extension is not supported"
            pass

        def parse_formatting(self, element: Element) -> None:  # conditional formatting
            pass

    return _CellParser


def _numbered_rows(workbook: Workbook, worksheet: ReadOnlyWorksheet) -> Generator[_NumberedRow, None, None]:
    """Every row from 1 to the last, missing ones as empty, with its formula cells that hold no result."""
    date_styles, duration_styles, epoch = workbook._date_formats, workbook._timedelta_formats, workbook.epoch
    number = 0
    try:
        with worksheet._get_source() as xml:
            for index, parsed in _cell_parser()(xml, worksheet._shared_strings, data_only=True).parse():
                while number + 1 < index:
                    number += 1
                    yield number, [], ()
                number = index
                cells = [""] * (parsed[-1]["column"] if parsed else 0)
                without_value: list[int] = []
                for cell in parsed:
                    value, column = cell["value"], cell["column"] - 1
                    if value is _NO_RESULT:
                        without_value.append(column)
                        continue
                    style = cell["style_id"]
                    if style in date_styles and isinstance(value, (int, float)):
                        value = _from_serial(value, epoch, is_duration=style in duration_styles)
                    text = _text(value)
                    if len(text) > CELL_LIMIT:
                        raise cell_too_large(number)
                    cells[column] = text
                yield number, cells, tuple(without_value)
    except BadFile:
        raise
    except Exception:  # a broken sheet part: openpyxl raises whatever its parser meets
        raise _corrupt() from None


def _from_serial(serial: float, epoch: datetime.datetime, *, is_duration: bool) -> object:
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(serial, epoch, timedelta=is_duration)
    except (OverflowError, ValueError):  # outside the dates Excel knows: it shows ####, we show the number
        return serial


def _text(value: object) -> str:
    """A cell's value as the sheet shows it (see the module's policy)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number_text(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    if isinstance(value, datetime.timedelta):
        minutes, seconds = divmod(round(value.total_seconds()), 60)
        return f"{minutes // 60}:{minutes % 60:02}:{seconds:02}"
    return str(value)  # rich text, should a workbook hold another kind of value


def _number_text(number: float) -> str:
    """45456.0 → "45456", 0.30000000000000004 → "0.3", 1e-07 → "0.0000001": what Excel's General format shows."""
    if number != number or number in (float("inf"), float("-inf")):
        return str(number)
    shown = Decimal(f"{number:.{EXCEL_DIGITS}g}")
    return "0" if shown.is_zero() else format(shown.normalize(), "f")


def _ole_problem(source: BinaryIO) -> BadFile:
    """An OLE container: a password-protected workbook, an Excel 97-2003 workbook, or another Office file."""
    streams = _ole_stream_names(source)
    source.seek(0)
    if "EncryptionInfo" in streams:
        return BadFile(
            "file.workbook_encrypted",
            "This workbook is password-protected, so it cannot be read: open it in Excel, remove the password "
            "(File > Info > Protect Workbook > Encrypt with Password, then clear it), save it and upload it again.",
        )
    if streams & {"Workbook", "Book"}:
        return BadFile("file.workbook_xls",
                       f"This is an Excel 97-2003 workbook (.xls), which cannot be read: {_SAVE_AS}.")
    return BadFile("file.not_a_workbook",
                   f"This is an older Microsoft Office file (such as .doc), not a workbook: {_SAVE_AS}.")


def _ole_stream_names(source: BinaryIO) -> set[str]:
    """The names of the streams in an OLE container, read from its directory entries.

    Every directory entry starts on a 128-byte boundary of the file (sectors are 512 or 4096 bytes, after
    a 512-byte header): a 64-byte UTF-16 name, its length in bytes with the final NUL, then the entry's
    type, 2 for a stream. Reading entries where they can be, rather than following the sector chains,
    is enough to tell an encrypted workbook from an .xls and stays right on a container with a broken chain.
    """
    names: set[str] = set()
    source.seek(0)
    while chunk := source.read(_OLE_SCAN_CHUNK):
        for start in range(0, len(chunk) - _OLE_ENTRY + 1, _OLE_ENTRY):
            length, kind = struct.unpack_from("<HB", chunk, start + 64)
            if kind == 2 and 2 <= length <= 64 and length % 2 == 0:
                raw = chunk[start:start + length - 2]
                if chunk[start + length - 2:start + length] == b"\x00\x00":
                    try:
                        names.add(raw.decode("utf-16-le"))
                    except UnicodeDecodeError:
                        pass
    return names


def _other_zip(names: set[str]) -> BadFile:
    kind = next((kind for part, kind in _OTHER_ZIPS if part in names), "a zip archive")
    return BadFile("file.not_a_workbook", f"This is {kind}, not an Excel workbook or CSV: {_SAVE_AS}.")


def _corrupt() -> BadFile:
    return BadFile(
        "file.workbook_corrupt",
        "This looks like an Excel workbook but it is damaged or incomplete: open it in Excel and save it again, "
        "or save it as CSV UTF-8, and upload that.",
    )
