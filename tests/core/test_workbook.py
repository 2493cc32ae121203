"""Workbooks read as the sheet shows them, through the same checks as CSV (plugin.workbook).

Every workbook is written with openpyxl (tests/workbooks.py builds them, and the OLE containers).
"""

from __future__ import annotations

import datetime
import io
import zipfile
from pathlib import Path

import olefile
import pytest
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from bench.bench_workbook import write_workbook
from bench.generate_customers import PHONE_HEADER, write_customers
from plugin.errors import BadFile
from plugin.read import CELL_LIMIT, SourceRow, inspect_csv, read_rows
from plugin.workbook import WorkbookLayout, WorkbookRow, formula_errors, inspect_workbook, read_workbook_rows
from tests.workbooks import ole_file, saved, sheet_of, with_sheet_xml

LIMITS = {"row_limit": 5000, "max_bytes": 20 * 1024 * 1024}


def read_all(path: Path, **options: object) -> tuple[WorkbookLayout, list[SourceRow]]:
    with path.open("rb") as source:
        layout = inspect_workbook(source, **{**LIMITS, **options})  # type: ignore[arg-type]
        return layout, list(read_workbook_rows(source, layout))


def refusal(path_or_bytes: Path | bytes, **options: object) -> BadFile:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    with pytest.raises(BadFile) as caught:
        inspect_workbook(io.BytesIO(data), **{**LIMITS, **options})  # type: ignore[arg-type]
    return caught.value


# Values as the sheet shows them


def test_dates_times_and_date_times_read_as_iso_text_never_as_serials(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "created", "at", "took"],
                          ["ana@example.com", datetime.date(2024, 6, 13), datetime.time(15, 6, 2),
                           datetime.timedelta(hours=36, minutes=30)],
                          ["bo@example.com", datetime.datetime(2024, 6, 13, 15, 6, 2), datetime.time(9, 30),
                           datetime.timedelta(minutes=5)],
                          ["cy@example.com", datetime.datetime(2024, 6, 13), None, None]), tmp_path / "dates.xlsx")

    _, rows = read_all(path)

    assert [row.cells for row in rows] == [
        ("ana@example.com", "2024-06-13", "15:06:02", "36:30:00"),
        ("bo@example.com", "2024-06-13T15:06:02", "09:30:00", "0:05:00"),
        ("cy@example.com", "2024-06-13"),
    ]


def test_a_date_time_with_milliseconds_keeps_them(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "created"], ["ana@example.com", datetime.datetime(2024, 6, 13, 15, 6, 2, 802000)]),
                 tmp_path / "ms.xlsx")

    assert read_all(path)[1][0].cells[1] == "2024-06-13T15:06:02.802"


def test_numbers_read_as_excel_shows_them(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "seats", "share", "sum", "tiny", "big", "whole float", "negative"],
                          ["ana@example.com", 45456, 0.1, 0.1 + 0.2, 1e-7, 447911123456, 12.0, -3.5]),
                 tmp_path / "numbers.xlsx")

    assert read_all(path)[1][0].cells == ("ana@example.com", "45456", "0.1", "0.3", "0.0000001", "447911123456", "12",
                                          "-3.5")


def test_text_that_looks_like_a_number_is_kept_as_written(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "customer number", "phone", "zip"],
                          ["ana@example.com", "000123", "+44 7911 123456", "02134"]), tmp_path / "text.xlsx")

    assert read_all(path)[1][0].cells == ("ana@example.com", "000123", "+44 7911 123456", "02134")


def test_booleans_read_as_true_and_false(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "active"], ["ana@example.com", True], ["bo@example.com", False]),
                 tmp_path / "booleans.xlsx")

    assert [row.cells for row in read_all(path)[1]] == [("ana@example.com", "TRUE"), ("bo@example.com", "FALSE")]


def test_header_cells_are_stripped_and_read_like_any_cell(tmp_path: Path) -> None:
    path = saved(sheet_of([" email ", "Name", 2024], ["ana@example.com", "Ana", "x"]), tmp_path / "headers.xlsx")

    assert read_all(path)[0].headers == ("email", "Name", "2024")


# Formulas


def test_a_formula_gives_its_cached_result(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "seats", "name"], ["ana@example.com", "=2+3", '="Ana "&"Lee"']),
                 tmp_path / "f.xlsx")
    with_sheet_xml(path, "<f>2+3</f><v />", "<f>2+3</f><v>5</v>")  # what Excel writes after calculating
    with_sheet_xml(path, '<c r="C2"><f>"Ana "&amp;"Lee"</f><v />',
                   '<c r="C2" t="str"><f>"Ana "&amp;"Lee"</f><v>Ana Lee</v>')  # a text result

    assert read_all(path)[1] == [SourceRow(2, ("ana@example.com", "5", "Ana Lee"))]


def test_a_formula_whose_result_is_empty_text_is_an_empty_cell(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "note"], ["ana@example.com", '=""']), tmp_path / "empty-result.xlsx")
    with_sheet_xml(path, '<c r="B2"><f>""</f><v />', '<c r="B2" t="str"><f>""</f><v></v>')

    assert read_all(path)[1] == [SourceRow(2, ("ana@example.com", ""))]


def test_a_text_formula_saved_without_a_result_is_flagged_too(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "name"], ["ana@example.com", '=UPPER("ana")']), tmp_path / "text-formula.xlsx")
    with_sheet_xml(path, '<c r="B2"><f>UPPER("ana")</f><v />', '<c r="B2" t="str"><f>UPPER("ana")</f>')

    assert read_all(path)[1] == [WorkbookRow(2, ("ana@example.com", ""), (1,))]


def test_a_formula_saved_without_a_result_is_flagged_in_its_row(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "seats", "notes"], ["ana@example.com", "=2+3", "=1+1"], ["bo@example.com", 4, "x"]),
                 tmp_path / "uncalculated.xlsx")  # openpyxl writes formulas without results

    layout, rows = read_all(path)

    assert layout.row_count == 2
    assert rows == [WorkbookRow(2, ("ana@example.com", "", ""), (1, 2)), SourceRow(3, ("bo@example.com", "4", "x"))]


def test_formula_errors_name_the_row_the_column_and_the_cell_of_mapped_columns_only(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "seats", "notes"], ["ana@example.com", "=2+3", "=1+1"]), tmp_path / "f.xlsx")
    row = read_all(path)[1][0]

    errors = formula_errors(row, {0: "email", 1: "seats"})  # "notes" is an ignored column

    assert [error.as_dict() for error in errors] == [{
        "row": 2, "column": "seats", "code": "cell.formula_without_value",
        "message": "Cell B2 is a formula the workbook holds no result for (it was saved by a program that does not "
                   "calculate): open the file in Excel, save it, and upload it again.",
    }]
    assert formula_errors(SourceRow(2, ("ana@example.com", "")), {0: "email", 1: "seats"}) == []


def test_a_row_holding_only_a_formula_without_result_is_not_blank(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "seats"], [None, "=2+3"]), tmp_path / "only-formula.xlsx")

    layout, rows = read_all(path)

    assert (layout.row_count, rows) == (1, [WorkbookRow(2, ("", ""), (1,))])


# Rows and sheets


def test_rows_are_numbered_as_the_sheet_shows_them_and_blank_ones_are_skipped(tmp_path: Path) -> None:
    workbook = sheet_of(["email", "name"], ["ana@example.com", "Ana"], [], [None, "   "], ["bo@example.com", "Bo"])
    workbook.active.cell(row=9, column=1, value="cy@example.com")  # rows 6 to 8 are not in the file at all
    workbook.active.cell(row=12, column=2, value="")
    path = saved(workbook, tmp_path / "gaps.xlsx")

    layout, rows = read_all(path)

    assert layout.row_count == 3
    assert [(row.number, row.cells[0]) for row in rows] == [(2, "ana@example.com"), (5, "bo@example.com"),
                                                            (9, "cy@example.com")]


def test_the_first_sheet_is_read_unless_one_is_named(tmp_path: Path) -> None:
    workbook = sheet_of(["email"], ["first@example.com"], title="Customers")
    workbook.create_sheet("Leads").append(["email"])
    workbook["Leads"].append(["lead@example.com"])
    path = saved(workbook, tmp_path / "two.xlsx")

    assert read_all(path)[1][0].cells == ("first@example.com",)
    layout, rows = read_all(path, sheet="Leads")
    assert (layout.sheet, rows[0].cells) == ("Leads", ("lead@example.com",))
    assert read_all(path, sheet=" leads")[0].sheet == "Leads"  # ignoring case and spaces when no name matches exactly


def test_a_sheet_that_does_not_exist_is_refused_naming_the_sheets_there_are(tmp_path: Path) -> None:
    workbook = sheet_of(["email"], ["a@example.com"], title="Customers")
    workbook.create_sheet("Leads")
    path = saved(workbook, tmp_path / "two.xlsx")

    problem = refusal(path, sheet="Agents")

    assert (problem.code, problem.message) == (
        "file.no_such_sheet", 'The workbook has no sheet named "Agents"; its sheets are "Customers", "Leads".')


def test_an_empty_sheet_is_refused_naming_it(tmp_path: Path) -> None:
    problem = refusal(saved(sheet_of(title="Sheet1"), tmp_path / "empty.xlsx"))

    assert problem.code == "file.empty"
    assert problem.message.startswith('The sheet "Sheet1" is empty')


@pytest.mark.parametrize(
    ("rows", "options", "code"),
    [
        ([[None, None], ["a@example.com", "Ana"]], {}, "file.no_header"),
        ([["email", "Email "], ["a@example.com", "b@example.com"]], {}, "file.duplicate_headers"),
        ([["email"], ["a@example.com"], ["b@example.com"], ["c@example.com"]], {"row_limit": 2}, "file.too_many_rows"),
        ([["email"], ["a@example.com"]], {"max_bytes": 1000}, "file.too_large"),
        ([["email", "name", "phone"], ["a@example.com"]], {"column_limit": 2}, "file.too_many_columns"),
        ([["email", "name"], [], [None, " "]], {}, "file.no_rows"),
        ([["email", "x" * 201], ["a@example.com"]], {}, "file.header_too_long"),
    ],
    ids=["no-header", "duplicate-headers", "too-many-rows", "too-large", "too-many-columns", "no-rows",
         "header-too-long"],
)
def test_workbooks_pass_the_same_checks_as_csv(tmp_path: Path, rows: list[list[object]], options: dict[str, int],
                                               code: str) -> None:
    assert refusal(saved(sheet_of(*rows), tmp_path / "checked.xlsx"), **options).code == code


def test_a_workbook_named_csv_is_read_by_its_content(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "customer number"], ["ana@example.com", "0042"]), tmp_path / "contacts.csv")

    assert read_all(path)[1] == [SourceRow(2, ("ana@example.com", "0042"))]


def test_the_file_reader_reads_a_workbook_named_csv_by_its_content_from_the_sheet_asked(tmp_path: Path) -> None:
    workbook = sheet_of(["email", "customer number"], ["ana@example.com", "0042"])
    workbook.create_sheet("Leads").append(["email"])
    workbook["Leads"].append(["lead@example.com"])
    path = saved(workbook, tmp_path / "contacts.csv")

    with path.open("rb") as source:
        first = inspect_csv(source, **LIMITS)
        assert list(read_rows(source, first)) == [SourceRow(2, ("ana@example.com", "0042"))]
        leads = inspect_csv(source, **LIMITS, sheet="Leads")
        assert (leads.headers, list(read_rows(source, leads))) == (("email",), [SourceRow(2, ("lead@example.com",))])


def test_a_reader_stopped_early_leaves_the_file_usable(tmp_path: Path) -> None:
    path = saved(sheet_of(["email"], *[[f"p{number}@example.com"] for number in range(50)]), tmp_path / "many.xlsx")
    with path.open("rb") as source:
        layout = inspect_workbook(source, **LIMITS)
        rows = read_workbook_rows(source, layout)
        assert next(rows).number == 2
        rows.close()
        assert len(list(read_workbook_rows(source, layout))) == 50


# Files that are not workbooks we can read


def test_the_hand_made_ole_containers_are_well_formed() -> None:
    container = olefile.OleFileIO(ole_file("EncryptionInfo", "EncryptedPackage"))

    assert sorted(container.listdir()) == [["EncryptedPackage"], ["EncryptionInfo"]]


def test_a_password_protected_workbook_says_to_save_it_without_a_password() -> None:
    problem = refusal(ole_file("EncryptionInfo", "EncryptedPackage"))

    assert problem.code == "file.workbook_encrypted"
    assert problem.message.startswith("This workbook is password-protected, so it cannot be read: ")
    assert "save it and upload it again" in problem.message


def test_an_excel_97_workbook_says_to_save_it_as_xlsx_or_csv() -> None:
    for streams in (("Workbook", "\x05SummaryInformation"), ("Book",)):  # Excel 97-2003 and Excel 5
        problem = refusal(ole_file(*streams))
        assert (problem.code, problem.message) == (
            "file.workbook_xls", "This is an Excel 97-2003 workbook (.xls), which cannot be read: "
                                 "save it as Excel Workbook (.xlsx) or CSV UTF-8 and upload that.")


def test_another_ole_file_is_not_a_workbook() -> None:
    problem = refusal(ole_file("WordDocument"))

    assert problem.code == "file.not_a_workbook"
    assert problem.message.startswith("This is an older Microsoft Office file (such as .doc), not a workbook: ")


def zip_of(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (zip_of({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<office/>"}),
         "an OpenDocument file (.ods, from LibreOffice or OpenOffice)"),
        (zip_of({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": ""}), "an Excel binary workbook (.xlsb)"),
        (zip_of({"word/document.xml": "<w/>"}), "a Word document"),
        (zip_of({"notes.txt": "hello"}), "a zip archive"),
    ],
    ids=["ods", "xlsb", "docx", "zip"],
)
def test_another_zip_says_what_it_is(data: bytes, kind: str) -> None:
    problem = refusal(data)

    assert (problem.code, problem.message) == (
        "file.not_a_workbook",
        f"This is {kind}, not an Excel workbook or CSV: "
        "save it as Excel Workbook (.xlsx) or CSV UTF-8 and upload that.")


def test_a_damaged_workbook_says_so(tmp_path: Path) -> None:
    whole = saved(sheet_of(["email"], ["ana@example.com"]), tmp_path / "whole.xlsx").read_bytes()
    broken_sheet = zip_of({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<not a workbook"})

    for data in (whole[: len(whole) // 2], b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64, broken_sheet):
        problem = refusal(data)
        assert (problem.code, problem.message) == (
            "file.workbook_corrupt",
            "This looks like an Excel workbook but it is damaged or incomplete: open it in Excel and save it again, "
            "or save it as CSV UTF-8, and upload that.")


def test_an_error_value_reads_as_the_sheet_shows_it(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "seats"], ["ana@example.com", "=1/0"]), tmp_path / "error.xlsx")
    with_sheet_xml(path, '<c r="B2"><f>1/0</f><v />', '<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v>')

    assert read_all(path)[1] == [SourceRow(2, ("ana@example.com", "#DIV/0!"))]


def test_dates_of_a_workbook_counting_from_1904_read_right(tmp_path: Path) -> None:
    workbook = sheet_of(["email", "created"], ["ana@example.com", datetime.date(2024, 6, 13)])
    workbook.epoch = CALENDAR_MAC_1904  # Excel for Mac's old date system: the serials are 1,462 days smaller
    path = saved(workbook, tmp_path / "mac.xlsx")

    assert read_all(path)[1][0].cells == ("ana@example.com", "2024-06-13")


def test_a_cell_over_the_size_limit_is_refused_naming_its_row(tmp_path: Path) -> None:
    path = saved(sheet_of(["email", "notes"], ["ana@example.com", "x"], ["bo@example.com", "long"]),
                 tmp_path / "huge-cell.xlsx")
    with_sheet_xml(path, "<t>long</t>", f"<t>{'x' * (CELL_LIMIT + 1)}</t>")  # openpyxl cuts texts at Excel's 32,767

    problem = refusal(path)

    assert problem.code == "file.cell_too_large"
    assert problem.message.startswith("Row 3 has a cell over 1 MiB long")


def test_a_workbook_saved_as_excel_saves_it_reads_the_same_as_the_csv_of_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsx"
    write_workbook(path, 300)  # typed cells (numbers, dates), a shared-string table and the sheet's dimension
    csv_file = io.StringIO()
    write_customers(csv_file, 300, phones=True)
    as_csv = io.BytesIO(csv_file.getvalue().encode())
    csv_rows = list(read_rows(as_csv, inspect_csv(as_csv, **LIMITS)))
    with zipfile.ZipFile(path) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()

    layout, rows = read_all(path)

    assert layout.headers == PHONE_HEADER
    assert [(row.number, row.cells + ("",) * (len(PHONE_HEADER) - len(row.cells))) for row in rows] == [
        (row.number, row.cells) for row in csv_rows]
