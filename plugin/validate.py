"""Cells → values, rows → records: cell parsers, formula cells, custom fields and the per-kind checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.errors import RowError
from plugin.kinds import Catalog, CellProblem, CustomField, FieldType, ImportKind
from plugin.mapping import CUSTOM_PREFIX, ColumnMapping
from plugin.read import SourceRow
from plugin.workbook import formula_errors

NAME_MAX = 200
# C0 and C1 control characters: those str.split() takes for spaces become one, the others are removed
_NAME_CONTROLS = {code: (" " if chr(code).isspace() else None) for code in (*range(0x20), *range(0x7F, 0xA0))}
NUMBER_DIGITS_MAX = 40  # a number custom value is written out in full: "1e999999" would be a megabyte of zeros
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(_FORMULA_STARTS)
_NUMBER_OR_PHONE = re.compile(r"[+-]?[\d][\d\s().,/-]*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})
_ACTIVE_WORDS = {"active": True, "enabled": True, "inactive": False, "disabled": False}
ACTIVE_ALIASES = ("is active", "is_active", "enabled", "status active")  # headers of an active flag (agents, customers)


@dataclass(slots=True)
class Record:
    """One row made into values: standard fields, custom fields, and every problem found."""

    row: int
    cells: tuple[str, ...]
    key: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)  # variable → canonical text
    errors: list[RowError] = field(default_factory=list)
    cleared: tuple[str, ...] = ()  # fields (or "custom:<variable>") whose empty cell clears the stored value

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet run this cell as a formula? Numbers and phone numbers are not formulas."""
    if not text.startswith(_FORMULA_STARTS):
        return False
    return _NUMBER_OR_PHONE.fullmatch(text.strip()) is None


def starts_like_formula(text: str) -> bool:
    """Does the cell start with a character a spreadsheet may take for a formula (= + - @ tab CR)?

    Every CSV we write puts an apostrophe before such a cell, phone numbers and negative numbers included.
    """
    return text.startswith(_FORMULA_STARTS)


def without_text_marker(text: str) -> str:
    """A cell as it was before a spreadsheet (or our own export) marked it as text: "'+44..." → "+44...".

    Only an apostrophe followed by a formula-start character is a marker; "'Connor" is left alone.
    """
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_FIRST else text


def parse_email(text: str) -> str:
    try:
        return normalize_email(text)
    except InvalidEmail as error:
        raise CellProblem("email.invalid", f"{text.strip()!r} is not a valid email address: {error}") from None


def parse_name(text: str) -> str:
    """A name with its spaces and line breaks folded to single spaces and other control characters (a NUL from
    a mail's encoded word) removed; at most NAME_MAX characters."""
    if not text.isprintable():
        text = text.translate(_NAME_CONTROLS)
    name = " ".join(text.split())
    if len(name) > NAME_MAX:
        raise CellProblem("name.too_long", f"This name is {len(name)} characters long; at most {NAME_MAX} fit.")
    return name


def parse_id(text: str, *, what: str) -> int:
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or int(cleaned) <= 0:  # "²".isdigit() but int("²") fails
        raise CellProblem(f"{what.replace(' ', '_')}.invalid", f"A {what} is a whole number, not {cleaned!r}.")
    return int(cleaned)


def parse_record_id(text: str) -> int | None:
    """An `id` column's cell: one of our ids, or None for an id from another system (then the key decides)."""
    try:
        return parse_id(text, what="id")
    except CellProblem:
        return None


def parse_id_list(text: str, *, what: str) -> tuple[int, ...]:
    return tuple(parse_id(part, what=what) for part in text.split(":") if part.strip())


OUTLOOK_LABEL_SEPARATOR = ";"  # Outlook's Categories: "Marketing;VIP"; a labels cell is split on it too
GOOGLE_SYSTEM_GROUP = "* "  # "* myContacts", "* starred": Google's own groups, never labels


def name_problem(name: str, *, what: str) -> tuple[str, str] | None:
    """Why `name` cannot be a label (team, group) name, as (code, message); None when it can.

    A name is exact and case-sensitive; it cannot hold ':' (the separator of a cell's names), be longer than
    NAME_MAX, or start like a formula (exported first in its cell, a spreadsheet would run it). A label cannot
    hold ';' either, nor start with '* ': a labels cell is split on ';' (Outlook's Categories) and drops
    Google's own groups ('* myContacts'), so such a label could never be given in a file. Used by row
    validation and by the catalog's `labels add`."""
    if not name or ":" in name:
        return f"{what}.invalid", f"{name!r} cannot be a {what} name: it must not be empty or contain ':'."
    if what == "label" and (OUTLOOK_LABEL_SEPARATOR in name or name.startswith(GOOGLE_SYSTEM_GROUP)):
        return f"{what}.invalid", (f"{name!r} cannot be a label name: ';' separates labels (as in Outlook's "
                                   "Categories) and a name starting with '* ' is one of Google's own groups.")
    if len(name) > NAME_MAX:
        return f"{what}.too_long", f"A {what} name is at most {NAME_MAX} characters."
    if is_formula_like(without_text_marker(name)):
        return "cell.formula", (f"The {what} {name!r} starts with {name[:1]!r} and a spreadsheet would run it as a "
                                "formula; remove that character.")
    return None


def split_names(text: str, *, what: str) -> tuple[str, ...]:
    """'Marketing:Trial:Demo' → ('Marketing', 'Trial', 'Demo'); names are exact, spaces around them dropped."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(":") if part.strip()))
    for name in names:
        if (problem := name_problem(name, what=what)) is not None:
            raise CellProblem(*problem)
    return names


def parse_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise CellProblem("boolean.invalid", f"{text.strip()!r} is not true or false; use true/false, yes/no, y/n or 1/0.")


def parse_active(text: str) -> bool:
    """An active flag (agents', customers'): a boolean, or the words active/inactive, enabled/disabled."""
    lowered = text.strip().lower()
    if lowered in _ACTIVE_WORDS:
        return _ACTIVE_WORDS[lowered]
    try:
        return parse_boolean(text)
    except CellProblem:
        raise CellProblem("active.invalid", f"{text.strip()!r} is not an active flag; use true/false, yes/no, y/n, "
                          "1/0 or active/inactive (any case).") from None


def parse_custom_value(custom: CustomField, text: str) -> str:
    """A custom field's cell → its canonical stored text, checked against the field's type."""
    cleaned = text.strip()
    if custom.type is FieldType.NUMBER:
        try:
            number = Decimal(cleaned.replace(",", "")) if cleaned.count(",") and "." in cleaned else Decimal(cleaned)
        except InvalidOperation:
            raise CellProblem("custom.not_a_number", f"{cleaned!r} is not a number.") from None
        if not number.is_finite() or abs(number.normalize().adjusted()) > NUMBER_DIGITS_MAX:
            raise CellProblem("custom.not_a_number", f"{cleaned!r} is not a number we can store.")
        return "0" if number.is_zero() else format(number.normalize(), "f")  # "3.50" → "3.5", "1E-7" → "0.0000001"
    if custom.type is FieldType.DATE:
        try:
            if not _ISO_DATE.fullmatch(cleaned):
                raise ValueError(cleaned)
            return date.fromisoformat(cleaned).isoformat()
        except ValueError:
            raise CellProblem("custom.not_a_date", f"{cleaned!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-25.") from None
    if custom.type is FieldType.BOOLEAN:
        try:
            return "true" if parse_boolean(cleaned) else "false"
        except CellProblem as problem:
            raise CellProblem("custom.not_a_boolean", problem.message) from None
    if custom.type is FieldType.CHOICE:
        for choice in custom.choices:
            if choice.casefold() == cleaned.casefold():
                return choice
        raise CellProblem("custom.not_a_choice", f"{cleaned!r} is not one of {', '.join(custom.choices)}.")
    return text.strip()


# A field's parser as RowValidator uses it: (text → value, is a custom field, is repetitive)
Parser = tuple[Callable[[str], object], bool, bool]


def field_target(kind: ImportKind, catalog: Catalog, name: str) -> str | None:
    """A field as a person names it in an option ('phone', 'plan', 'custom:plan') → the mapping's target ('phone',
    'custom:plan'), or None when the import has no such field. A field of the kind comes before a custom one."""
    name = name.strip()
    if name in kind.fields_by_name:
        return name
    variable = name.removeprefix(CUSTOM_PREFIX)
    return CUSTOM_PREFIX + variable if variable in catalog.custom_fields else None


def field_parser(kind: ImportKind, catalog: Catalog, target: str) -> Parser:
    """How a cell of this target (a field name or "custom:<variable>") becomes its value."""
    if target.startswith(CUSTOM_PREFIX):
        custom = catalog.custom_fields[target.removeprefix(CUSTOM_PREFIX)]
        return (lambda text: parse_custom_value(custom, text)), True, True
    spec = kind.field_named(target)
    return (spec.parse or str.strip), False, spec.is_repetitive


def parse_given_value(kind: ImportKind, catalog: Catalog, target: str, text: str) -> object:
    """A value given once for a whole import (a default for empty cells), checked as a cell of its field would
    be, as it will be stored; CellProblem says why it cannot be used."""
    if target not in kind.secret_names:
        text = without_text_marker(text.strip())
    if text and text[0] in _FORMULA_FIRST and is_formula_like(text):
        raise CellProblem("cell.formula", _formula_message(text))
    return field_parser(kind, catalog, target)[0](text)


class _Refused(NamedTuple):
    """A text a repetitive field refused, remembered as its code and message. Never the CellProblem itself: an
    exception raised again keeps the frames of every raise in its traceback, so a column of one bad value
    (a date in a local format) would keep every failing row's frame, and its cells, alive."""

    code: str
    message: str


class RowValidator:
    """Validates the rows of one import: the mapping, catalog and options are worked out once, not per row.

    Fields with few distinct values (labels, roles, custom choices and dates...) are parsed once per distinct
    text and remembered, so a file that repeats "Marketing:Trial" ten thousand times parses it once.
    """

    _REMEMBERED_TEXTS_MAX = 50_000

    def __init__(self, kind: ImportKind, mapping: ColumnMapping, catalog: Catalog,
                 options: Mapping[str, object], defaults: Mapping[str, str]) -> None:
        self.kind = kind
        self.catalog = catalog
        self.options = options
        self.width = len(mapping.headers)
        self.key_header = mapping.header_for(kind.key)
        self.headers = {column.target: column.header for column in mapping.columns if column.target}
        self.columns = [(column.index, column.header, column.target, self._parser_for(column.target))
                        for column in mapping.columns if column.target is not None]
        self.defaults = [(target, mapping.header_for(target) or target, text, self._parser_for(target))
                         for target, text in self._targets(defaults.items()) if text.strip()]
        clear = {target for target, _ in self._targets((name, "") for name in options.get("clear_empty", ()) or ())}
        # (cell index, target) of the columns whose empty cells clear the stored value (the option clear_empty)
        self.clearing = [(column.index, column.target) for column in mapping.columns if column.target in clear]
        self.remembered: dict[tuple[str, str], object] = {}
        self.mapped_headers = {column.index: column.header for column in mapping.columns if column.target is not None}

    def _targets(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """(field as named in an option, text) → (the mapping's target, text); names no field has are left out
        (the import refused them before reading a row: plugin.options.check_value_options)."""
        found = ((field_target(self.kind, self.catalog, name), text) for name, text in pairs)
        return [(target, text) for target, text in found if target is not None]

    def _parser_for(self, target: str) -> Parser:
        """(parse, is_custom, is_repetitive) for a field name or "custom:<variable>"."""
        return field_parser(self.kind, self.catalog, target)

    def _parse(self, target: str, text: str, parser: Parser) -> object:
        parse, _, is_repetitive = parser
        if not is_repetitive:
            return parse(text)
        remembered = self.remembered.get((target, text), _NOT_YET)
        if remembered is _NOT_YET:
            try:
                remembered = parse(text)
            except CellProblem as problem:
                remembered = _Refused(problem.code, problem.message)
            if len(self.remembered) > self._REMEMBERED_TEXTS_MAX:
                self.remembered.clear()
            self.remembered[(target, text)] = remembered
        if type(remembered) is _Refused:
            raise CellProblem(remembered.code, remembered.message)  # a new one each time: see _Refused
        return remembered

    def validate(self, source: SourceRow) -> Record:
        """Parse every mapped cell of one row, apply defaults for empty ones, and run the kind's checks."""
        number, cells = source.number, source.cells
        record = Record(row=number, cells=cells)
        errors, values, custom = record.errors, record.values, record.custom
        width = len(cells)
        if width > self.width and any(cell.strip() for cell in cells[self.width:]):
            errors.append(RowError(number, "", "row.extra_cells",
                                   f"This row has {width} cells but the header has {self.width} columns; "
                                   "check for an unquoted delimiter."))
        if type(source) is not SourceRow:  # a WorkbookRow: formulas the workbook holds no result for
            errors.extend(formula_errors(source, self.mapped_headers))
        remembered, secrets, unchecked = self.remembered, self.kind.secret_names, self.kind.unchecked_cells
        # The loop below runs for every cell of every file: it is _take() written out, for speed.
        for index, header, target, (parse, is_custom, is_repetitive) in self.columns:
            text = cells[index] if index < width else ""
            if not text or text.isspace():
                continue
            if target not in secrets:  # a password is exactly as typed: no text marker, never a formula
                text = text.strip()  # as it will be stored: " =1" is kept as "=1", so it is checked as "=1"
                if text[0] == "'":
                    text = without_text_marker(text)
                if text[0] in _FORMULA_FIRST and target not in unchecked and is_formula_like(text):
                    errors.append(_formula_error(number, header, text))
                    continue
            try:
                if is_repetitive:
                    value = remembered.get((target, text), _NOT_YET)
                    if value is _NOT_YET:
                        value = self._parse(target, text, (parse, is_custom, is_repetitive))
                    elif type(value) is _Refused:
                        errors.append(RowError(number, header, value.code, value.message))
                        continue
                else:
                    value = parse(text)
            except CellProblem as problem:
                errors.append(RowError(number, header, problem.code, problem.message))
                continue
            if is_custom:
                custom[target[7:]] = value  # type: ignore[assignment]
            else:
                values[target] = value
        for target, header, text, parser in self.defaults:
            is_given = (target[7:] in custom) if parser[1] else (target in values)
            if not is_given and not _has_error(errors, header):
                self._take(record, header, target, text, parser)
        if self.clearing:
            record.cleared = tuple(target for index, target in self.clearing
                                   if index >= width or not cells[index] or cells[index].isspace())
        kind = self.kind
        key_value = values.get(kind.key)
        if key_value is not None:
            record.key = email_key(str(key_value))
        elif not _has_error(errors, self.key_header):
            errors.append(RowError(number, self.key_header or kind.key, f"{kind.key}.missing",
                                   f"The {kind.key} cell is empty; every row needs one."))
        if kind.check_record is not None:
            for target, code, message in kind.check_record(values, self.catalog, self.options):
                errors.append(RowError(number, self.headers.get(target, target), code, message))
        return record

    def _take(self, record: Record, header: str, target: str, text: str, parser: Parser) -> None:
        if target not in self.kind.secret_names:
            text = without_text_marker(text.strip())  # checked as it will be stored, surrounding spaces gone
        if text[0] in _FORMULA_FIRST and target not in self.kind.unchecked_cells and is_formula_like(text):
            record.errors.append(_formula_error(record.row, header, text))
            return
        try:
            value = self._parse(target, text, parser)
        except CellProblem as problem:
            record.errors.append(RowError(record.row, header, problem.code, problem.message))
            return
        if parser[1]:
            record.custom[target[7:]] = value  # type: ignore[assignment]
        else:
            record.values[target] = value


_NOT_YET = object()


def _formula_message(text: str) -> str:
    return f"This cell starts with {text[:1]!r} and a spreadsheet would run it as a formula; remove that character."


def _formula_error(row: int, header: str, text: str) -> RowError:
    return RowError(row, header, "cell.formula", _formula_message(text))


def _has_error(errors: list[RowError], header: str | None) -> bool:
    return any(error.column == header for error in errors) if errors else False


def validate_row(
    kind: ImportKind,
    mapping: ColumnMapping,
    source: SourceRow,
    catalog: Catalog,
    options: Mapping[str, object],
    defaults: Mapping[str, str],
) -> Record:
    """Validate a single row (an import validates many through one RowValidator)."""
    return RowValidator(kind, mapping, catalog, options, defaults).validate(source)
