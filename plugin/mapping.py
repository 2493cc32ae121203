"""Headers → fields: exact names, known aliases, then fuzzy suggestions with a confidence.

Headers match case-insensitively, ignoring spaces, dashes, underscores and dots, so exports from
Outlook, Google Contacts and Excel map without help. Each field takes at most one column: the first
that matches; every other column is listed as ignored, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from typing import BinaryIO

from plugin.errors import BadFile
from plugin.kinds import CellProblem, ImportKind
from plugin.read import Layout, read_rows

CUSTOM_PREFIX = "custom:"
# One cutoff for every surface: the page pre-selects what the command line and the API would apply.
FUZZY_AUTOMATIC_CUTOFF = 90
SAMPLE_ROWS = 3  # first rows a fuzzy match is checked against (and the mapping page shows)
_IGNORED_IN_HEADERS = re.compile(r"[\s\-_.]+")


class MatchedBy(StrEnum):
    """How a column found its field."""

    EXACT = "exact"
    ALIAS = "alias"
    FUZZY = "fuzzy"
    CHOSEN = "chosen"  # the user said so (--map, the mapping page, a saved mapping)


@dataclass(frozen=True, slots=True)
class MappedColumn:
    """One CSV column and the field it feeds, or None with the reason it is ignored."""

    index: int
    header: str
    target: str | None  # a field name, or "custom:<variable>"
    matched_by: MatchedBy | None = None
    confidence: int = 0  # 0-100
    note: str = ""  # why it is ignored, or what a fuzzy match guessed

    def as_dict(self) -> dict[str, object]:
        return {"column": self.header, "field": self.target, "matched_by": self.matched_by and str(self.matched_by),
                "confidence": self.confidence, "note": self.note}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """The whole file's mapping, in column order."""

    headers: tuple[str, ...]
    columns: tuple[MappedColumn, ...]

    def header_for(self, target: str) -> str | None:
        for column in self.columns:
            if column.target == target:
                return column.header
        return None

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(column.target for column in self.columns if column.target)

    @property
    def ignored(self) -> tuple[MappedColumn, ...]:
        return tuple(column for column in self.columns if column.target is None)


def normalize_header(text: str) -> str:
    """'E-mail Address' → 'emailaddress'; 'First_Name' → 'firstname'."""
    return _IGNORED_IN_HEADERS.sub("", text.strip().lstrip("\ufeff")).casefold()


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """'CSV header=field' pairs (the --map option) → {header: field}; field may be empty to ignore a column."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        header, separator, target = pair.rpartition("=")
        if not separator or not header.strip():
            raise BadFile("mapping.invalid", f"--map takes 'CSV header=field', not {pair!r}.")
        overrides[header.strip()] = target.strip()
    return overrides


def _candidates(kind: ImportKind, custom_variables: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {normalize_header(spec.name): spec.name for spec in kind.fields}
    for variable in custom_variables:
        exact.setdefault(normalize_header(variable), CUSTOM_PREFIX + variable)
    aliases: dict[str, str] = {}
    for spec in kind.fields:
        for alias in spec.aliases:
            aliases.setdefault(normalize_header(alias), spec.name)
    return exact, aliases


def _resolve_chosen(kind: ImportKind, custom_variables: Sequence[str], wanted: str) -> str:
    exact, _ = _candidates(kind, custom_variables)
    target = exact.get(normalize_header(wanted.removeprefix(CUSTOM_PREFIX)))
    if target is None:
        known = ", ".join([*kind.field_names, *custom_variables])
        raise BadFile("mapping.unknown_field", f"There is no field {wanted!r} to map to; fields are: {known}.")
    return target


def sample_rows(source: BinaryIO, layout: Layout, count: int = SAMPLE_ROWS) -> list[tuple[str, ...]]:
    """The first few rows' cells: what a fuzzy match is checked against, and what the mapping page shows."""
    rows = read_rows(source, layout)
    try:
        return [row.cells for row in islice(rows, count)]
    finally:
        rows.close()
        source.seek(0)


def _chosen_problems(kind: ImportKind, headers: Sequence[str], chosen: Mapping[str, str],
                     custom_variables: Sequence[str]) -> tuple[list[BadFile], dict[str, str]]:
    """What is wrong with the columns a person chose (a column the file lacks, no such field, a field twice),
    and the choices without the wrong ones."""
    problems: list[BadFile] = []
    usable: dict[str, str] = {}
    present = {normalize_header(header) for header in headers}
    problems += [BadFile("mapping.unknown_column", f"The file has no column {header!r} to map.")
                 for header in chosen if normalize_header(header) not in present]
    normalized_chosen = {normalize_header(header): target for header, target in chosen.items()}
    taken: dict[str, str] = {}
    for header in headers:
        wanted = normalized_chosen.get(normalize_header(header))
        if wanted is None:
            continue
        if not wanted:
            usable[header] = ""
            continue
        try:
            target = _resolve_chosen(kind, custom_variables, wanted)
        except BadFile as problem:
            problems.append(problem)
            continue
        if target in taken:
            problems.append(BadFile("mapping.twice", f"Both {taken[target]!r} and {header!r} are mapped to {target}; "
                                                     "each field takes one column."))
            continue
        taken[target] = header
        usable[header] = wanted
    return problems, usable


def _accepts_samples(kind: ImportKind, target: str, values: Sequence[str] | None) -> bool:
    """Would the field take these cells (None: no samples to go by)? A fuzzy match of a typed field (an id, an
    email, a name...) needs cells that parse as its type: a column empty in the sample rows shows none."""
    spec = kind.fields_by_name.get(target)
    if values is None or spec is None or spec.parse is None:
        return True
    filled = [value for value in values if value.strip()]
    if not filled:
        return False
    for value in filled:
        try:
            spec.parse(value)
        except CellProblem:
            return False
    return True


def _foreign_field(kind: ImportKind, target: str, samples: Sequence[Sequence[str]], index: int) -> str:
    """The field a column named like `target` feeds instead, because its first cells are another system's
    values (Field.foreign_values_field); "" when they are the field's own, or there are none to tell."""
    spec = kind.fields_by_name.get(target)
    if spec is None or not spec.foreign_values_field or not samples:
        return ""
    cells = [row[index] if index < len(row) else "" for row in samples]
    if not any(cell.strip() for cell in cells) or _accepts_samples(kind, target, cells):
        return ""
    return spec.foreign_values_field


def suggest_mapping(
    kind: ImportKind,
    headers: Sequence[str],
    *,
    custom_variables: Sequence[str] = (),
    chosen: Mapping[str, str] | None = None,
    samples: Sequence[Sequence[str]] = (),
    fuzzy_cutoff: int = FUZZY_AUTOMATIC_CUTOFF,
) -> ColumnMapping:
    """Map each header to a field: chosen first, then exact, alias and fuzzy matches, each field once.

    A fuzzy match is made only when the column's `samples` (its first rows' cells) parse as the field's type.
    The first problem with `chosen` is raised as BadFile (check_chosen_mapping lists them all)."""
    chosen = dict(chosen or {})
    problems, _ = _chosen_problems(kind, headers, chosen, custom_variables)
    if problems:
        raise problems[0]
    exact, aliases = _candidates(kind, custom_variables if kind.allows_custom_fields else ())
    normalized_chosen = {normalize_header(header): target for header, target in chosen.items()}
    taken: dict[str, str] = {}  # target → header
    slots: list[MappedColumn | None] = [None] * len(headers)

    def claim(index: int, target: str, matched_by: MatchedBy, confidence: int, note: str = "") -> None:
        taken[target] = headers[index]
        slots[index] = MappedColumn(index, headers[index], target, matched_by, confidence, note)

    for index, header in enumerate(headers):
        wanted = normalized_chosen.get(normalize_header(header))
        if wanted is None:
            continue
        if wanted == "":
            slots[index] = MappedColumn(index, header, None, MatchedBy.CHOSEN, 100, "ignored as asked")
            continue
        claim(index, _resolve_chosen(kind, custom_variables, wanted), MatchedBy.CHOSEN, 100)
    for table, matched_by in ((exact, MatchedBy.EXACT), (aliases, MatchedBy.ALIAS)):
        for index, header in enumerate(headers):
            target = table.get(normalize_header(header))
            if slots[index] is None and target is not None and target not in taken:
                foreign = _foreign_field(kind, target, samples, index)
                if foreign and foreign not in taken:
                    claim(index, foreign, matched_by, 100, f"its cells are not {target}s: {foreign}")
                elif not foreign:
                    claim(index, target, matched_by, 100)
    choices = {**{key: target for key, target in exact.items()}, **aliases}
    for index, header in enumerate(headers):
        if slots[index] is not None or not normalize_header(header):
            continue
        open_choices = {key: target for key, target in choices.items() if target not in taken}
        from rapidfuzz import fuzz, process  # loads only for a header that matches no field by name

        found = process.extract(normalize_header(header), list(open_choices), scorer=fuzz.ratio,
                                score_cutoff=fuzzy_cutoff, limit=None) if open_choices else []
        cells = [row[index] if index < len(row) else "" for row in samples] if samples else None
        for key, score, _ in found:
            if _accepts_samples(kind, open_choices[key], cells):
                claim(index, open_choices[key], MatchedBy.FUZZY, int(score), f"looks like {open_choices[key]}")
                break
    for index, header in enumerate(headers):
        if slots[index] is None:
            target = exact.get(normalize_header(header)) or aliases.get(normalize_header(header))
            note = f"{target} is already taken by {taken[target]!r}" if target in taken else "matches no field"
            slots[index] = MappedColumn(index, header, None, None, 0, note)
    return ColumnMapping(tuple(headers), tuple(slot for slot in slots if slot is not None))


def check_chosen_mapping(kind: ImportKind, headers: Sequence[str], chosen: Mapping[str, str], *,
                         custom_variables: Sequence[str] = (), samples: Sequence[Sequence[str]] = ()
                         ) -> list[BadFile]:
    """Every problem that stops this mapping, in the same words on every surface (the page lists them all,
    the command line and the API refuse with the first): a column the file lacks, no such field, a field
    chosen twice, a column the kind cannot do without left unmapped."""
    problems, usable = _chosen_problems(kind, headers, chosen, custom_variables)
    try:
        require_key_column(kind, suggest_mapping(kind, headers, custom_variables=custom_variables, chosen=usable,
                                                 samples=samples))
    except BadFile as problem:
        problems.append(problem)
    return problems


def require_key_column(kind: ImportKind, mapping: ColumnMapping) -> None:
    """Reject the file when a column the kind cannot do without is not mapped."""
    for spec in kind.fields:
        if spec.is_required_column and spec.name not in mapping.targets:
            raise BadFile(f"file.no_{spec.name}_column",
                          f"No column maps to {spec.name}: the file needs a column headed {spec.name!r} "
                          f"(or an alias such as {spec.aliases[0]!r}); the headers are: {', '.join(mapping.headers)}.")
