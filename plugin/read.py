"""Bytes → SourceRow: encoding, BOM, delimiter, row limit; rejects workbooks, binaries and broken files.

CONTRACT (implementation in progress):

    @dataclass(frozen=True, slots=True)
    class SourceRow:
        number: int               # spreadsheet row: header is row 1, first record row 2; a quoted
                                  # field spanning lines is still one row; blank lines count as rows
        cells: tuple[str, ...]    # decoded cell texts, as in the file (no stripping)

    @dataclass(frozen=True, slots=True)
    class CsvLayout:
        encoding: str             # e.g. "utf-8-sig", "utf-16", "cp1252"
        delimiter: str            # one of , ; \t |
        headers: tuple[str, ...]  # header cells, stripped
        row_count: int            # data records (blank lines not counted)

    def inspect_csv(source: BinaryIO, *, row_limit: int, max_bytes: int) -> CsvLayout
        # whole-file pass before anything is written; raises BadFile(code, message); seeks back to 0
    def read_rows(source: BinaryIO, layout: CsvLayout) -> Iterator[SourceRow]
        # streaming second pass, bounded memory; skips blank lines (but counts them in numbers)
"""
