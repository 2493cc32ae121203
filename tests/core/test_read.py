"""plugin.read: bytes in, a CsvLayout or one BadFile out, then numbered rows."""

from __future__ import annotations

import codecs
import csv
import io
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.errors import BadFile
from plugin.read import CsvLayout, SourceRow, inspect_csv, read_rows

ROW_LIMIT = 100
MAX_BYTES = 10_000_000


def inspect(data: bytes, *, row_limit: int = ROW_LIMIT, max_bytes: int = MAX_BYTES) -> CsvLayout:
    return inspect_csv(io.BytesIO(data), row_limit=row_limit, max_bytes=max_bytes)


def read(data: bytes, *, row_limit: int = ROW_LIMIT) -> tuple[CsvLayout, list[SourceRow]]:
    source = io.BytesIO(data)
    layout = inspect_csv(source, row_limit=row_limit, max_bytes=MAX_BYTES)
    return layout, list(read_rows(source, layout))


def rejection(data: bytes, **limits: int) -> BadFile:
    with pytest.raises(BadFile) as caught:
        inspect(data, **limits)
    return caught.value


# Encodings ----------------------------------------------------------------------------------------

CONTACTS = "email,name\r\nzoe@example.com,Zoë Müller\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (CONTACTS.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + CONTACTS.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + CONTACTS.encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF16_BE + CONTACTS.encode("utf-16-be"), "utf-16"),
        (CONTACTS.encode("utf-32"), "utf-32"),
        (CONTACTS.encode("cp1252"), "cp1252"),
        (CONTACTS.encode("latin-1"), "cp1252"),  # the same bytes for these letters
        ("email,name\r\na@example.com,Zoë\r\n".encode("cp1252"), "cp1252"),
        (("email,name\r\n" + "a@example.com,Bob Ébé\r\n" * 5000).encode("cp1252"), "cp1252"),
    ],
    ids=[
        "utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1", "short-cp1252",
        "long-cp1252",
    ],
)
def test_each_encoding_is_detected_and_decoded(data, encoding):
    layout, rows = read(data, row_limit=5000)
    assert layout.encoding == encoding
    assert layout.headers == ("email", "name")
    assert rows[0].cells[1] in {"Zoë Müller", "Zoë", "Bob Ébé"}


def test_a_legacy_letter_after_the_first_chunk_switches_the_whole_file_to_cp1252():
    data = ("email,name\r\n" + "a@example.com,Bob\r\n" * 5000 + "z@example.com,Zoë\r\n").encode("cp1252")
    layout, rows = read(data, row_limit=10_000)
    assert layout.encoding == "cp1252"
    assert rows[-1] == SourceRow(5002, ("z@example.com", "Zoë"))


def test_excel_unicode_text_reads_as_tab_delimited_utf16():
    data = codecs.BOM_UTF16_LE + "Email\tFirst name\r\nanna@example.com\tÅsa\r\n".encode("utf-16-le")
    layout, rows = read(data)
    assert (layout.encoding, layout.delimiter, layout.headers) == ("utf-16", "\t", ("Email", "First name"))
    assert rows == [SourceRow(2, ("anna@example.com", "Åsa"))]


def test_other_legacy_encodings_are_guessed_from_their_letters():
    data = "email;имя\r\na@example.ru;Иван Петров\r\nb@example.ru;Мария Иванова\r\n".encode("cp1251")
    layout, rows = read(data)
    assert layout.encoding == "cp1251"
    assert rows[0].cells == ("a@example.ru", "Иван Петров")


# Delimiters and line endings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ('email,name,note\r\na@x.org,Ann,"a;b|c"\r\n', ","),
        ("email;name;note\r\na@x.org;Smith, Ann;3,5\r\n", ";"),
        ("email\tname\tnote\r\na@x.org\tAnn, Smith\tx;y\r\n", "\t"),
        ("email|name|note\r\na@x.org|Ann, Smith|x;y\r\n", "|"),
    ],
    ids=["comma", "semicolon", "tab", "pipe"],
)
def test_each_delimiter_is_detected_from_the_header(text, delimiter):
    layout, rows = read(text.encode())
    assert layout.delimiter == delimiter
    assert layout.headers == ("email", "name", "note")
    assert len(rows[0].cells) == 3


def test_the_next_lines_confirm_the_delimiter_when_the_header_is_ambiguous():
    text = "name;note,extra\r\nAnn;x\r\nBo;y\r\n"  # both split the header in two; the rows agree with ";"
    assert inspect(text.encode()).delimiter == ";"
    text = "email;name,first;x\r\na@x.org;Ann;1\r\nb@x.org;Cy;2\r\n"  # ";": most columns, rows agree
    assert inspect(text.encode()).delimiter == ";"


def test_a_single_email_column_reads_with_a_comma():
    layout, rows = read(b"email\na@example.com\nb@example.com\n")
    assert (layout.delimiter, layout.headers, layout.row_count) == (",", ("email",), 2)
    assert [row.cells for row in rows] == [("a@example.com",), ("b@example.com",)]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
def test_every_line_ending_gives_the_same_rows(newline):
    text = newline.join(["email,name", "a@x.org,Ann", "", "b@x.org,Bo", ""])
    _, rows = read(text.encode())
    assert rows == [SourceRow(2, ("a@x.org", "Ann")), SourceRow(4, ("b@x.org", "Bo"))]


# Rows and numbers ---------------------------------------------------------------------------------


def test_row_numbers_count_a_multiline_cell_once_and_blank_lines_too():
    data = b'email,note\r\na@x.org,"line one\r\nline two"\r\n\r\n,,\r\nb@x.org,plain\r\n'
    layout, rows = read(data)
    assert layout.row_count == 2
    assert rows == [SourceRow(2, ("a@x.org", "line one\r\nline two")), SourceRow(5, ("b@x.org", "plain"))]


def test_cells_are_kept_as_written_and_ragged_rows_as_they_are():
    _, rows = read(b" Email , Name,\r\n a@x.org ,Ann\r\nb@x.org,Bo,extra,more\r\n")
    assert [row.cells for row in rows] == [(" a@x.org ", "Ann"), ("b@x.org", "Bo", "extra", "more")]


def test_headers_are_stripped_and_empty_ones_in_the_middle_are_allowed():
    layout = inspect(b" Email ,,Name,\r\na@x.org,1,Ann,2\r\n")
    assert layout.headers == ("Email", "", "Name", "")


def test_a_header_only_file_is_refused_as_having_no_rows():
    assert rejection(b"email,name\r\n").code == "file.no_rows"
    assert rejection(b"email,name\r\n,\r\n \r\n").code == "file.no_rows"  # blank rows are not rows


def test_a_million_column_header_is_refused_in_under_a_second():
    started = time.perf_counter()
    error = rejection(b"," * 1_000_000 + b"\r\na@x.org\r\n")
    assert error.code == "file.too_many_columns"
    assert "1,000,001 columns" in error.message
    assert time.perf_counter() - started < 1.0


def test_a_header_at_the_column_limit_is_accepted_and_one_more_is_refused():
    at_limit = ",".join(f"c{n}" for n in range(500)).encode() + b"\r\n" + b"x," * 499 + b"x\r\n"
    assert len(inspect(at_limit).headers) == 500
    over = ",".join(f"c{n}" for n in range(501)).encode() + b"\r\n" + b"x," * 500 + b"x\r\n"
    assert rejection(over).code == "file.too_many_columns"


@pytest.mark.parametrize(("records", "row_count"), [(ROW_LIMIT, ROW_LIMIT), (ROW_LIMIT - 1, ROW_LIMIT - 1)])
def test_a_file_at_the_row_limit_is_accepted(records, row_count):
    data = b"email\r\n" + b"a@x.org\r\n" * records + b"\r\n" * 5  # blank lines are not records
    assert inspect(data).row_count == row_count


def test_one_row_over_the_limit_is_rejected_with_the_count_found():
    error = rejection(b"email\r\n" + b"a@x.org\r\n" * (ROW_LIMIT + 1))
    assert error.code == "file.too_many_rows"
    assert error.message == (
        f"The file has {ROW_LIMIT + 1} rows; at most {ROW_LIMIT} can be imported at once. "
        "Split it into smaller files."
    )


def test_inspection_seeks_back_to_the_start():
    source = io.BytesIO(b"email\r\na@x.org\r\n")
    inspect_csv(source, row_limit=ROW_LIMIT, max_bytes=MAX_BYTES)
    assert source.tell() == 0 and not source.closed


class RefusesWholeReads(io.BytesIO):
    """A file that fails the test if anyone reads all of it at once."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and 0 <= size <= 1024 * 1024, "read everything at once"
        return super().read(size)

    def read1(self, size: int | None = -1) -> bytes:
        assert size is not None and 0 <= size <= 1024 * 1024, "read everything at once"
        return super().read1(size)


def test_a_large_file_is_read_in_chunks_by_both_passes():
    data = b"email,name\r\n" + b"someone@example.com,Some One\r\n" * 100_000  # 3 MB
    source = RefusesWholeReads(data)
    layout = inspect_csv(source, row_limit=100_000, max_bytes=MAX_BYTES)
    assert sum(1 for _ in read_rows(source, layout)) == layout.row_count == 100_000


def test_a_cell_of_almost_a_mebibyte_is_read():
    long_note = "x" * (1024 * 1024 - 1)
    _, rows = read(f'email,note\r\na@x.org,"{long_note}"\r\n'.encode())
    assert rows[0].cells[1] == long_note


# Rejections ----------------------------------------------------------------------------------------

def cp1252_with_an_undefined_byte_in_row(row: int) -> bytes:
    """Zoë in cp1252 decides the encoding; 0x81, undefined in cp1252, comes after the first 64 KiB."""
    return ("email,name\r\n" + "a@x.org,Zoë\r\n" * (row - 2)).encode("cp1252") + b"b@x.org,\x81\r\n"


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def zip_file() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "limits", "code"),
    [
        (b"", {}, "file.empty"),
        (codecs.BOM_UTF8, {}, "file.empty"),
        (b"\r\n", {}, "file.no_header"),
        (b",, ,\r\na@x.org,1,2,3\r\n", {}, "file.no_header"),
        (b"\r\nemail\r\na@x.org\r\n", {}, "file.no_header"),
        (b"Email,name, email \r\na,b,c\r\n", {}, "file.duplicate_headers"),
        (b"email\r\n" + b"a@x.org\r\n" * 3, {"row_limit": 2}, "file.too_many_rows"),
        (b"email\r\na@x.org\r\n", {"max_bytes": 10}, "file.too_large"),
        (b"email\r\na@x\x00.org\r\n", {}, "file.binary"),
        (codecs.BOM_UTF16_LE + "email\r\na\x00\r\n".encode("utf-16-le"), {}, "file.binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", {}, "file.binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", {}, "file.binary"),
        (zip_file(), {}, "file.workbook_corrupt"),  # an .xlsx with a broken workbook part
        (OLE_HEADER, {}, "file.not_a_workbook"),
        (b'email,note\r\na@x.org,"never closed\r\nb@x.org,x\r\n', {}, "file.unbalanced_quotes"),
        (b'email,note\r\na@x.org,"closed" then more\r\n', {}, "file.unbalanced_quotes"),
        (cp1252_with_an_undefined_byte_in_row(6000), {"row_limit": 9999}, "file.encoding"),
        (codecs.BOM_UTF16_LE + "email\r\n".encode("utf-16-le") + b"\x00\xd8a\x00", {}, "file.encoding"),
        (b'email,note\r\na@x.org,"' + b"x" * (1024 * 1024 + 1) + b'"\r\n', {}, "file.cell_too_large"),
        (b"email,note\r\na@x.org," + b"x" * (4 * 1024 * 1024 + 1) + b"\r\n", {}, "file.cell_too_large"),
    ],
    ids=[
        "empty", "bom-only", "blank-first-line", "blank-header-cells", "header-not-in-row-1", "duplicate",
        "too-many-rows", "too-large", "nul-byte", "nul-in-utf16", "pdf", "png", "zip", "ole",
        "quote-never-closed", "text-after-closing-quote", "undefined-cp1252-byte", "lone-utf16-surrogate",
        "long-cell", "long-line",
    ],
)
def test_each_unreadable_file_is_rejected_with_its_code(data, limits, code):
    assert rejection(data, **limits).code == code


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (b"", {}, "The file is empty: export the contacts again and upload that file."),
        (b"\r\n", {}, "Row 1 is empty: put the column names (such as email) in the first row of the file."),
        (
            b"Email,name, email \r\n",
            {},
            'The column "email" appears twice in row 1 (ignoring case and spaces): '
            "rename or remove one of them.",
        ),
        (
            b"email\r\n" + b"a@x.org\r\n" * 5214,
            {"row_limit": 5000},
            "The file has 5,214 rows; at most 5,000 can be imported at once. Split it into smaller files.",
        ),
        (
            b"e" * 13_002_342,
            {"max_bytes": 10 * 1024 * 1024},
            "The file is 12.4 MiB; at most 10 MiB can be imported at once. Split it into smaller files.",
        ),
        (
            b"e" * 10_000_001,
            {"max_bytes": 10_000_000},
            "The file is 10,000,001 bytes; at most 10,000,000 bytes can be imported at once. "
            "Split it into smaller files.",
        ),
        (
            b"email\r\n\x00\x01",
            {},
            "This file is not text (it has NUL or other non-text bytes): "
            "export the contacts as CSV and upload that.",
        ),
        (b"%PDF-1.7\n", {}, "This is a PDF document, not CSV: export the contacts as CSV and upload that."),
        (
            OLE_HEADER,
            {},
            "This is an older Microsoft Office file (such as .doc), not a workbook: "
            "save it as Excel Workbook (.xlsx) or CSV UTF-8 and upload that.",
        ),
        (
            b'email,note\r\na@x.org,ok\r\n\r\nb@x.org,"open\r\nc@x.org,x\r\n',
            {},
            'Row 4 opens a quoted cell (") that is never closed: add the missing closing quote.',
        ),
        (
            b'email,note\r\na@x.org,"Johnny" Smith\r\n',
            {},
            'Row 2 has text right after the closing quote (") of a cell: quote the whole cell '
            'and double any quote inside it ("").',
        ),
        (
            cp1252_with_an_undefined_byte_in_row(6000),
            {"row_limit": 9999},
            "Row 6,000 has bytes that are not cp1252 text: save the file as CSV UTF-8 and upload it again.",
        ),
        (
            b'email,note\r\na@x.org,"' + b"x" * (1024 * 1024 + 1) + b'"\r\n',
            {},
            "Row 2 has a cell over 1 MiB long (often an opening quote that is never closed): "
            "shorten the cell or fix its quotes.",
        ),
    ],
    ids=[
        "empty", "no-header", "duplicate", "too-many-rows", "too-large", "too-large-by-a-byte", "binary",
        "pdf",
        "workbook", "quote-never-closed", "text-after-quote", "encoding", "cell-too-large",
    ],
)
def test_each_rejection_tells_the_admin_what_to_do(data, limits, message):
    assert rejection(data, **limits).message == message


# Properties -----------------------------------------------------------------------------------------

MODEST = settings(max_examples=200, deadline=None)


def assert_bad_file_or_numbered_rows(data: bytes) -> None:
    source = io.BytesIO(data)
    try:
        layout = inspect_csv(source, row_limit=1000, max_bytes=MAX_BYTES)
        numbers = [row.number for row in read_rows(source, layout)]
    except BadFile:
        return
    assert all(number >= 2 for number in numbers)
    assert numbers == sorted(set(numbers))
    assert len(numbers) == layout.row_count


@MODEST
@given(st.binary(max_size=2000))
def test_any_bytes_are_rejected_or_read_with_increasing_row_numbers(data):
    assert_bad_file_or_numbered_rows(data)


CSV_PIECES = st.sampled_from(
    [",", ";", "\t", "|", '"', '""', "\r", "\n", "\r\n", " ", "a", "é", "Ω", "\x00", "\ufeff"]
)


@MODEST
@given(
    pieces=st.lists(CSV_PIECES | st.text(max_size=5), max_size=60),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_any_csv_like_text_is_rejected_or_read_with_increasing_row_numbers(pieces, encoding):
    assert_bad_file_or_numbered_rows("".join(pieces).encode(encoding, errors="replace"))


HEADER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ABC_-.0123456789é", max_size=12).map(str.strip)
CELL = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@st.composite
def tables(draw):
    headers = draw(
        st.lists(HEADER.filter(bool), min_size=1, max_size=5, unique_by=lambda header: header.casefold())
    )
    rows = draw(st.lists(st.lists(CELL, min_size=len(headers), max_size=len(headers)), max_size=8))
    return headers, rows


@MODEST
@given(
    table=tables(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-16"]),
)
def test_a_file_written_by_csv_writer_reads_back_exactly(table, delimiter, encoding):
    headers, rows = table
    delimiter = delimiter if len(headers) > 1 else ","  # one column gives no delimiter to detect
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([headers, *rows])
    non_blank_rows = [tuple(row) for row in rows if any(cell.strip() for cell in row)]
    if not non_blank_rows:
        assert rejection(buffer.getvalue().encode(encoding)).code == "file.no_rows"
        return
    layout, read_back = read(buffer.getvalue().encode(encoding), row_limit=1000)
    assert layout.headers == tuple(headers)
    assert layout.delimiter == delimiter
    assert [row.cells for row in read_back] == non_blank_rows
