"""Cells → values, rows → records: cell parsers, formula cells, custom fields and the per-kind checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from plugin.emails import InvalidEmail, email_key, normalize_email
from plugin.errors import RowError
from plugin.kinds import Catalog, CellProblem, CustomField, FieldType, ImportKind
from plugin.mapping import ColumnMapping
from plugin.read import SourceRow

NAME_MAX = 200
NUMBER_DIGITS_MAX = 40  # a number custom value is written out in full: "1e999999" would be a megabyte of zeros
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_OR_PHONE = re.compile(r"[+-]?[\d][\d\s().,/-]*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})


@dataclass(slots=True)
class Record:
    """One row made into values: standard fields, custom fields, and every problem found."""

    row: int
    cells: tuple[str, ...]
    key: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)  # variable → canonical text
    errors: list[RowError] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet run this cell as a formula? Numbers and phone numbers are not formulas."""
    if not text.startswith(_FORMULA_STARTS):
        return False
    return _NUMBER_OR_PHONE.fullmatch(text.strip()) is None


def parse_email(text: str) -> str:
    try:
        return normalize_email(text)
    except InvalidEmail as error:
        raise CellProblem("email.invalid", f"{text.strip()!r} is not a valid email address: {error}") from None


def parse_name(text: str) -> str:
    name = " ".join(text.split())
    if len(name) > NAME_MAX:
        raise CellProblem("name.too_long", f"This name is {len(name)} characters long; at most {NAME_MAX} fit.")
    return name


def parse_id(text: str, *, what: str) -> int:
    cleaned = text.strip()
    if not (cleaned.isascii() and cleaned.isdigit()) or int(cleaned) <= 0:  # "²".isdigit() but int("²") fails
        raise CellProblem(f"{what.replace(' ', '_')}.invalid", f"A {what} is a whole number, not {cleaned!r}.")
    return int(cleaned)


def parse_id_list(text: str, *, what: str) -> tuple[int, ...]:
    return tuple(parse_id(part, what=what) for part in text.split(":") if part.strip())


def split_names(text: str, *, what: str) -> tuple[str, ...]:
    """'Marketing:Trial:Demo' → ('Marketing', 'Trial', 'Demo'); names are exact, spaces around them dropped."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(":") if part.strip()))
    for name in names:
        if len(name) > NAME_MAX:
            raise CellProblem(f"{what}.too_long", f"A {what} name is at most {NAME_MAX} characters.")
    return names


def parse_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise CellProblem("boolean.invalid", f"{text.strip()!r} is not true or false; use true/false, yes/no, y/n or 1/0.")


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


def validate_row(
    kind: ImportKind,
    mapping: ColumnMapping,
    source: SourceRow,
    catalog: Catalog,
    options: Mapping[str, object],
    defaults: Mapping[str, str],
) -> Record:
    """Parse every mapped cell of one row, apply defaults for empty ones, and run the kind's checks."""
    record = Record(row=source.number, cells=source.cells)
    cells = source.cells
    width = len(mapping.headers)
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        record.errors.append(RowError(source.number, "", "row.extra_cells",
                                      f"This row has {len(cells)} cells but the header has {width} columns; check for an unquoted delimiter."))
    texts: dict[str, tuple[str, str]] = {}  # target → (header, text)
    for column in mapping.columns:
        if column.target is None:
            continue
        text = cells[column.index] if column.index < len(cells) else ""
        if text.strip() == "":
            continue
        texts[column.target] = (column.header, text)
    for target, default in defaults.items():
        if target not in texts and default.strip():
            texts[target] = (mapping.header_for(target) or target, default)
    for target, (header, text) in texts.items():
        if is_formula_like(text):
            record.errors.append(RowError(source.number, header, "cell.formula",
                                          f"This cell starts with {text[:1]!r} and a spreadsheet would run it as a formula; remove that character."))
            continue
        try:
            if target.startswith("custom:"):
                custom = catalog.custom_fields[target.removeprefix("custom:")]
                record.custom[custom.variable] = parse_custom_value(custom, text)
            else:
                spec = kind.field_named(target)
                record.values[target] = spec.parse(text) if spec.parse else text.strip()
        except CellProblem as problem:
            record.errors.append(RowError(source.number, header, problem.code, problem.message))
    if kind.key in record.values:
        record.key = email_key(str(record.values[kind.key]))
    elif not any(error.column == mapping.header_for(kind.key) for error in record.errors):
        record.errors.append(RowError(source.number, mapping.header_for(kind.key) or kind.key, f"{kind.key}.missing",
                                      f"The {kind.key} cell is empty; every row needs one."))
    if kind.check_record is not None:
        for target, code, message in kind.check_record(record.values, catalog, options):
            record.errors.append(RowError(source.number, mapping.header_for(target) or target, code, message))
    return record
