"""Points in time as files write them → one text: a customer's original creation time (created_at).

A CRM exports ISO 8601 ("2024-06-13T15:06:02.802Z"); a spreadsheet writes its own date formats ("13/06/2024",
"13.06.2024 15:06"); a workbook's date cells reach us as ISO text already (plugin.workbook). Every spelling
becomes the same canonical UTC text, "2024-06-13T15:06:02.802Z", so a value read back from the database
compares equal to the same value read from a file, and a re-import changes nothing.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from plugin.kinds import CellProblem

# Day, month and year written by a spreadsheet: 13/06/2024, 13-06-2024, 13.06.2024, with an optional time
_SPREADSHEET_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_SLASHED_ISO_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")  # 2024/06/13: ISO's order with a spreadsheet's slashes
_EXAMPLE = "2024-06-13T15:06:02Z or 13/06/2024"


def moment_text(moment: datetime) -> str:
    """A datetime as the canonical text: UTC, 'Z', milliseconds only when there are some ('2024-06-13T15:06:02Z').

    A datetime without a zone is taken to be UTC (SQLite hands back what it was given in UTC)."""
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    precision = "microseconds" if moment.microsecond % 1000 else "milliseconds" if moment.microsecond else "seconds"
    return moment.replace(tzinfo=None).isoformat(timespec=precision) + "Z"


def moment_of(text: str) -> datetime:
    """The canonical text (or any ISO 8601 text) back as an aware datetime, to be stored."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def parse_moment(text: str) -> str:
    """A cell → the canonical text. ISO 8601 in any spelling (a date alone, a time with 'Z' or an offset, a space for
    'T'); a spreadsheet's day/month/year, read month/day/year only when the first number cannot be a day's month, and
    refused when either reading would do (06/07/2024), rather than guessed. A time without a zone is UTC."""
    cleaned = text.strip()
    if _SLASHED_ISO_DATE.fullmatch(cleaned):
        cleaned = cleaned.replace("/", "-")
    try:
        return moment_text(moment_of(_zero_padded_iso(cleaned)))
    except ValueError:
        pass
    found = _SPREADSHEET_DATE.fullmatch(cleaned)
    if found is None:
        raise CellProblem("date.invalid", f"{cleaned!r} is not a date and time we can read; write it as {_EXAMPLE}.")
    first, second, year = int(found[1]), int(found[2]), int(found[3])
    if first <= 12 and second <= 12 and first != second:
        raise CellProblem("date.ambiguous", f"{cleaned!r} could be day/month or month/day; write it as YYYY-MM-DD "
                                            f"(e.g. {year}-{second:02}-{first:02} for day/month).")
    day, month = (first, second) if first > 12 or second <= 12 else (second, first)
    try:
        moment = datetime(year, month, day, int(found[4] or 0), int(found[5] or 0), int(found[6] or 0),
                          tzinfo=timezone.utc)
    except ValueError:
        raise CellProblem("date.invalid", f"{cleaned!r} is not a date that exists; write it as {_EXAMPLE}.") from None
    return moment_text(moment)


def _zero_padded_iso(text: str) -> str:
    """'2024-6-3' → '2024-06-03' (spreadsheets drop the zeros); anything else as it is."""
    date_part, separator, rest = text.partition("T") if "T" in text else text.partition(" ")
    pieces = date_part.split("-")
    if len(pieces) == 3 and all(piece.isdigit() for piece in pieces) and len(pieces[0]) == 4:
        date_part = f"{pieces[0]}-{int(pieces[1]):02}-{int(pieces[2]):02}"
    return date_part + ("T" if separator else "") + rest
