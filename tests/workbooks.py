"""Workbooks for the tests, written with openpyxl: a sheet of rows, a formula's cached result put in by hand, and
the OLE containers of a password-protected workbook and of an Excel 97-2003 .xls.

A formula's cached result, which openpyxl never writes (it does not calculate), is put in by rewriting the
sheet's XML inside the zip (`with_sheet_xml`). Old binary and encrypted workbooks are OLE containers;
`ole_file` builds a small well-formed one holding the streams named (olefile reads it back), as Excel's .xls
(a Workbook stream) and a password-protected .xlsx (EncryptionInfo and EncryptedPackage streams) hold them.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from openpyxl import Workbook

ENCRYPTED_STREAMS = ("EncryptionInfo", "EncryptedPackage")
XLS_STREAMS = ("Workbook",)


def saved(workbook: Workbook, path: Path) -> Path:
    workbook.save(path)
    return path


def sheet_of(*rows: list[object], title: str = "Contacts") -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    return workbook


def workbook_bytes(*rows: list[object], title: str = "Contacts") -> bytes:
    """One sheet of these rows, as the bytes of an .xlsx file."""
    buffer = io.BytesIO()
    sheet_of(*rows, title=title).save(buffer)
    return buffer.getvalue()


def with_sheet_xml(path: Path, old: str, new: str) -> Path:
    """The workbook with one text of its first sheet's XML replaced, as another program would have written it."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert old in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(old, new).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def ole_file(*streams: str) -> bytes:
    """A compound file (OLE, version 3): header, one FAT sector, one directory sector with the streams (empty)."""
    assert len(streams) <= 3  # one 512-byte directory sector: the root entry and three streams
    free, end_of_chain, fat_sector, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"", 0x3E, 3, 0xFFFE, 9, 6, b"",
                         0, 1, 1, 0, 4096, end_of_chain, 0, end_of_chain, 0)
    header += struct.pack("<109I", 0, *[free] * 108)
    fat = struct.pack("<128I", fat_sector, end_of_chain, *[free] * 126)

    def entry(name: str, kind: int, right: int, child: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, no_stream, right, child, b"", 0, 0, 0,
                           end_of_chain, 0)

    entries = [entry("Root Entry", 5, no_stream, 1 if streams else no_stream)]
    for number, name in enumerate(streams, start=1):
        entries.append(entry(name, 2, number + 1 if number < len(streams) else no_stream, no_stream))
    entries += [b"\x00" * 64 + struct.pack("<HBBIII", 0, 0, 0, no_stream, no_stream, no_stream) + b"\x00" * 52] * (
        4 - len(entries))
    return header + fat + b"".join(entries)
