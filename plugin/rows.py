"""The rules every imported file keeps, whatever its format: CSV (plugin.read) and workbooks (plugin.workbook).

A SourceRow is one record numbered as a spreadsheet shows it. The checks raise BadFile(code, message): a file
empty or over `max_bytes`, more header cells than `column_limit`, a header cell over HEADER_CELL_LIMIT
characters, an empty or duplicated header, no records, more records than `row_limit`, a cell over CELL_LIMIT.
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.errors import BadFile

CELL_LIMIT = 1024 * 1024  # characters
DEFAULT_COLUMN_LIMIT = 500  # setting column_limit
HEADER_CELL_LIMIT = 200  # characters in one column name


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One record of the file, numbered as a spreadsheet shows it."""

    number: int  # header is row 1, first record row 2; blank lines count, a multi-line cell does not
    cells: tuple[str, ...]  # decoded cell texts, as in the file (no stripping)


def check_size(size: int, max_bytes: int) -> None:
    if size == 0:
        raise empty_file()
    if size > max_bytes:
        found, limit = describe_size(size), describe_size(max_bytes)
        if found == limit:
            found, limit = f"{size:,} bytes", f"{max_bytes:,} bytes"
        raise BadFile(
            "file.too_large",
            f"The file is {found}; at most {limit} can be imported at once. Split it into smaller files.",
        )


def describe_size(size: int) -> str:
    """A size as people read it, in the binary units the settings and the README use: "812 bytes", "950 KiB",
    "12.4 MiB" (max_file_bytes' default, 20 × 1024 × 1024, is "20 MiB")."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size:,} bytes"


def check_column_count(count: int, column_limit: int) -> None:
    if count > column_limit:
        raise BadFile(
            "file.too_many_columns",
            f"Row 1 has {count:,} columns; at most {column_limit:,} can be imported. "
            "Remove the columns you do not import.",
        )


def check_headers(cells: list[str]) -> tuple[str, ...]:
    headers = tuple(cell.strip() for cell in cells)
    for header in headers:
        if len(header) > HEADER_CELL_LIMIT:
            raise BadFile(
                "file.header_too_long",
                f'A column name in row 1 is {len(header):,} characters long (at most {HEADER_CELL_LIMIT}): '
                "put the column names in row 1 and the data below them.",
            )
    if not any(headers):
        raise BadFile(
            "file.no_header",
            "Row 1 is empty: put the column names (such as email) in the first row of the file.",
        )
    seen: dict[str, str] = {}
    for header in filter(None, headers):
        if header.casefold() in seen:
            raise BadFile(
                "file.duplicate_headers",
                f'The column "{header}" appears twice in row 1 (ignoring case and spaces): '
                "rename or remove one of them.",
            )
        seen[header.casefold()] = header
    return headers


def check_row_count(row_count: int, row_limit: int) -> None:
    if row_count > row_limit:
        raise BadFile(
            "file.too_many_rows",
            f"The file has {row_count:,} rows; at most {row_limit:,} can be imported at once. "
            "Split it into smaller files.",
        )


def is_blank(cells: list[str] | tuple[str, ...]) -> bool:
    """A row with no cells, or only empty and whitespace cells (Excel writes empty rows as ",,,")."""
    return not "".join(cells).strip()


def cell_too_large(row: int) -> BadFile:
    return BadFile(
        "file.cell_too_large",
        f"Row {row:,} has a cell over 1 MiB long (often an opening quote that is never closed): "
        "shorten the cell or fix its quotes.",
    )


def check_has_rows(row_count: int) -> None:
    if row_count == 0:
        raise BadFile("file.no_rows", "The file has column names in row 1 but no rows under them: "
                                      "export the contacts again, with their rows.")


def empty_file() -> BadFile:
    return BadFile("file.empty", "The file is empty: export the contacts again and upload that file.")
