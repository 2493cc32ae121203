"""How an import is asked to run: each kind declares the options it accepts, and one reader turns what a person
gave (command-line flags, the preview page's form, the API's JSON, a queued or recorded import) into one frozen
ImportOptions, with the settings as the defaults of everything not given.

The command line's flags, the preview page's form fields and the API's `options` object (and its OpenAPI schema)
are all built from the declarations (`options_of(kind)`), so an option reachable in one is reachable in all. A
value is parsed and checked only here: one parser for true/false, one check of a region, and the same sentence
for a bad value whatever the surface (each surface only says where: --region, options.region, the form's label).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING

from plugin.errors import BadFile
from plugin.kinds import CellProblem
from plugin.kinds.customers import DEFAULT_CUSTOMER_TYPES
from plugin.kinds.external_ids import DEFAULT_EXTERNAL_SOURCE
from plugin.kinds.declared_options import CLEAR_EMPTY, Option, OptionType
from plugin.mapping import ColumnMapping
from plugin.phones import DEFAULT_REGION, is_known_region
from plugin.validate import field_target, parse_boolean, parse_given_value, split_names

if TYPE_CHECKING:
    from plugin.kinds import Catalog, ImportKind
    from plugin.settings import Settings


class OptionInvalid(ValueError):
    """A value given for an option cannot be used; `message` is the same sentence on every surface."""

    code = "options.invalid"

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True, slots=True)
class ImportOptions(Mapping[str, object]):
    """Everything an import was asked besides its file and mapping, typed; the settings fill what was not given.

    A Mapping too (name → value), so a job records it as it is and reads it back (ImportOptions.read).
    """

    defaults: Mapping[str, str] = field(default_factory=dict)  # field → text for its empty cells
    clear_empty: tuple[str, ...] = ()  # fields whose empty cells clear the stored value (else empty keeps it)
    sheet: str | None = None  # a workbook's sheet to read, by name; None: its first (plugin.workbook)
    all_or_nothing: bool = False
    row_limit: int = 5000
    side_effects: bool = False  # the per-record record_imported hook
    create_labels: bool = False
    replace_labels: bool = False
    default_labels: tuple[str, ...] = ()
    create_companies: bool = False
    create_groups: bool = False
    replace_groups: bool = False
    region: str = DEFAULT_REGION
    create_teams: bool = False
    replace_teams: bool = False
    invitations: bool = True
    invite: bool = False  # customers: invite the new ones to the customer portal
    replace_domains: bool = False
    external_source: str = DEFAULT_EXTERNAL_SOURCE  # the system an external_id column's ids come from
    # From the settings, never from a person: the checks of a kind read them with the options.
    password_min_length: int = 6
    free_mail_domains: tuple[str, ...] = ()
    customer_types: tuple[str, ...] = DEFAULT_CUSTOMER_TYPES  # the account types a customer's type may be
    retry_of: int | None = None  # a retry of that import (plugin.retry): set by the retry, never by a person

    def __getitem__(self, name: str) -> object:
        if name not in _FIELD_SET:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        """Mapping.get without its KeyError: the row loop asks options several times a row (issue 14)."""
        return getattr(self, name) if name in _FIELD_SET else default

    def __iter__(self) -> Iterator[str]:  # retry_of only when it is a retry: as a job records its options
        return (name for name in _FIELD_NAMES if getattr(self, name) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def recorded(self) -> dict[str, object]:
        """As JSON keeps it: lists for tuples, a plain object for defaults; no retry_of unless it is a retry."""
        return {name: list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, Mapping) else value
                for name, value in self.items()}


_FIELD_NAMES: tuple[str, ...] = tuple(spec.name for spec in fields(ImportOptions))
_FIELD_SET = frozenset(_FIELD_NAMES)
_FIELD_DEFAULTS: dict[str, object] = {spec.name: getattr(ImportOptions(), spec.name) for spec in fields(ImportOptions)}


def _default(option: Option, settings: Settings) -> object:
    """The option's default: its setting's value, or ImportOptions' own."""
    return getattr(settings, option.setting) if option.setting else _FIELD_DEFAULTS[option.name]


_FROM_SETTINGS = {"password_min_length": "password_min_length", "free_mail_domains": "free_mail_domains",
                  "customer_types": "customer_types"}
_LEGACY_NAMES = {"no_invitations": "invitations"}  # recorded before issue 12: the flag said the opposite

DEFAULTS = Option("defaults", OptionType.FIELD_VALUES, "Values for empty cells",
                  "A value for the empty cells of a field.", flag="--default")
ALL_OR_NOTHING = Option("all_or_nothing", OptionType.FLAG, "All or nothing: import nothing unless every row is valid",
                        "Apply nothing unless every row is valid.", setting="all_or_nothing")
ROW_LIMIT = Option("row_limit", OptionType.COUNT, "Most rows accepted",
                   "The most data rows accepted; a longer file is refused whole.", setting="row_limit")
SIDE_EFFECTS = Option("side_effects", OptionType.FLAG, "Run the helpdesk's actions for each imported record",
                      "Run the host's per-record actions (welcome mail, automations) for every record imported.",
                      setting="import_side_effects")
SHEET = Option("sheet", OptionType.TEXT, "Workbook sheet", "The workbook's sheet to import, by name (the first when not given).")
COMMON_OPTIONS = (DEFAULTS, ALL_OR_NOTHING, ROW_LIMIT, SIDE_EFFECTS, SHEET)


def options_of(kind: ImportKind) -> tuple[Option, ...]:
    """Every option an import of this kind accepts: the common ones, then the kind's own."""
    return COMMON_OPTIONS + tuple(kind.options)


def all_options(kinds: Iterable[ImportKind]) -> dict[str, tuple[Option, list[str]]]:
    """Each option any of these kinds accepts → (its declaration, the titles of the kinds that accept it)."""
    found: dict[str, tuple[Option, list[str]]] = {}
    for kind in kinds:
        for option in options_of(kind):
            found.setdefault(option.name, (option, []))[1].append(kind.title)
    return found


def unmet_options(kind: ImportKind, options: Mapping[str, object], settings: Settings) -> list[Option]:
    """The options of this import that are on but do nothing without a setting that is empty (invitations without
    smtp_url): each surface shows their `without_setting` sentence."""
    return [option for option in options_of(kind) if option.is_unmet(options.get(option.name), settings)]


def options_fixing(kind: ImportKind, codes: Iterable[str]) -> list[Option]:
    """The options of this kind that would have let rows with these error codes through: each surface says
    how to set them (a flag, a form field, an API option)."""
    wanted = set(codes)
    return [option for option in options_of(kind) if wanted.intersection(option.fixes)]


def parse_flag(raw: object) -> bool:
    """The one reading of true or false: a boolean, or true/false, yes/no, y/n, 1/0 in any case (as a CSV cell)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return parse_boolean(raw)
        except CellProblem:
            pass
    raise ValueError(f"{str(raw)[:40]!r} is not true or false; use true/false, yes/no, y/n or 1/0.")


def _parse_names(raw: object) -> tuple[str, ...]:
    parts = raw.split(":") if isinstance(raw, str) else raw if isinstance(raw, (list, tuple)) else None
    if parts is None or not all(isinstance(part, str) for part in parts):
        raise ValueError("Give names separated by ':' (or a list of names).")
    try:
        return split_names(":".join(parts), what="label")
    except CellProblem as problem:
        raise ValueError(problem.message) from None


def _parse_field_names(raw: object) -> tuple[str, ...]:
    parts = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, (list, tuple)) else None
    if parts is None or not all(isinstance(part, str) for part in parts):
        raise ValueError("Give field names separated by ',' (or a list of names).")
    return tuple(dict.fromkeys(name.strip() for part in parts for name in part.split(",") if name.strip()))


def _parse_region(raw: object) -> str:
    if not isinstance(raw, str) or not is_known_region(raw):
        raise ValueError(f"{str(raw)[:40]!r} is not a region; use two letters such as GB, US or DE.")
    return raw.strip().upper()


def _parse_count(raw: object) -> int:
    text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"{str(raw)[:40]!r} is not a whole number of at least 1.")
    return int(text)


def _parse_text(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("Give a name, as text.")
    return raw.strip()


def _parse_field_values(raw: object) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise ValueError('Give field: value pairs, e.g. {"last_name": "Unknown"}.')
    values: dict[str, str] = {}
    for name, value in raw.items():
        target = str(name).strip()  # a field the file cannot have is the import's defaults.unknown_field
        if value is None or isinstance(value, (dict, list)):
            raise ValueError(f"The value for {target} is text, not {value!r}.")
        if str(value).strip():
            values[target] = str(value)
    return values


def parse_option(option: Option, raw: object) -> object:
    """One given value → the option's value; OptionInvalid says why not, in the same words on every surface."""
    try:
        if option.type is OptionType.FLAG:
            return parse_flag(raw)
        if option.type is OptionType.NAMES:
            return _parse_names(raw)
        if option.type is OptionType.FIELDS:
            return _parse_field_names(raw)
        if option.type is OptionType.REGION:
            return _parse_region(raw)
        if option.type is OptionType.COUNT:
            return _parse_count(raw)
        if option.type is OptionType.TEXT:
            return _parse_text(raw)
        return _parse_field_values(raw)
    except ValueError as error:
        raise OptionInvalid(option.name, str(error)) from None


def settings_options(kind: ImportKind, settings: Settings) -> ImportOptions:
    """The options of an import nobody chose anything for: every default from the settings."""
    values = {option.name: _default(option, settings) for option in options_of(kind)}
    values.update({name: getattr(settings, setting) for name, setting in _FROM_SETTINGS.items()})
    return replace(ImportOptions(), **{name: tuple(value) if isinstance(value, list) else value  # type: ignore[arg-type]
                                       for name, value in values.items()})


def read_options(kind: ImportKind, given: Mapping[str, object], settings: Settings, *,
                 is_recorded: bool = False) -> ImportOptions:
    """What a person gave (None: not given) → ImportOptions, the settings filling the rest.

    A person may give only the options the kind declares: anything else is OptionInvalid. `is_recorded`
    reads what an import recorded (a queued import, a job being retried, a caller in code): it may also hold
    the settings-derived values and links (password_min_length, retry_of...), and what it holds that no
    import reads (undo_of, mailbox...) is left out.
    """
    declared = {option.name: option for option in options_of(kind)}
    values: dict[str, object] = {}
    for name, raw in given.items():
        if raw is None:
            continue
        option = declared.get(name)
        if option is not None:
            values[name] = parse_option(option, raw)
        elif not is_recorded:
            known = ", ".join(declared)
            raise OptionInvalid(name, f"An import of {kind.title} has no option {name!r}; its options are: {known}.")
        elif name in _LEGACY_NAMES:
            values[_LEGACY_NAMES[name]] = not parse_flag(raw)
        elif name in _FIELD_NAMES:
            values[name] = tuple(raw) if isinstance(raw, list) else dict(raw) if isinstance(raw, Mapping) else raw
    return replace(settings_options(kind, settings), **values)  # type: ignore[arg-type]


def check_value_options(kind: ImportKind, catalog: Catalog, mapping: ColumnMapping, options: Mapping[str, object],
                        defaults: Mapping[str, str]) -> None:
    """Refuse, before a row is read, values for empty cells and columns to clear that the import cannot use: a
    field it has not, a default its field would refuse as a cell, a secret or a required field, a field both
    given a default and cleared, a field to clear that no column of the file feeds. The message names the option
    by its label."""
    known = ", ".join([*kind.field_names, *catalog.custom_fields])
    for name, text in defaults.items():
        target = field_target(kind, catalog, name)
        if target is None:
            raise BadFile("defaults.unknown_field", f"“{DEFAULTS.label}”: a default was given for {name!r}, which "
                                                    f"is not a field; fields are: {known}.")
        if target in kind.secret_names:
            raise BadFile("defaults.secret", f"{target} cannot have a default: give each row its own, "
                                             "or leave it empty to send an invitation.")
        if not text.strip():
            continue
        try:
            value = parse_given_value(kind, catalog, target, text)
        except CellProblem as problem:
            raise BadFile("defaults.invalid", f"“{DEFAULTS.label}”: the default for {name} cannot be used: "
                                              f"{problem.message}") from None
        # and as the kind checks a row's value of it (a phone number, labels and a company that must exist...)
        if kind.check_record is None or target not in kind.fields_by_name:
            continue
        for column, _, message in kind.check_record({target: value}, catalog, options):
            if column == target:
                raise BadFile("defaults.invalid", f"“{DEFAULTS.label}”: the default for {name} cannot be used: "
                                                  f"{message}")
    given = {field_target(kind, catalog, name) for name, text in defaults.items() if text.strip()}
    mapped = mapping.targets
    for name in options.get("clear_empty", ()) or ():  # type: ignore[union-attr]
        target = field_target(kind, catalog, str(name))
        if target is None:
            raise BadFile("clear_empty.unknown_field", f"“{CLEAR_EMPTY.label}”: {name!r} is not a field; "
                                                       f"fields are: {known}.")
        spec = kind.fields_by_name.get(target)
        if spec is not None and (spec.is_required_column or spec.is_required_for_new or target == kind.key):
            raise BadFile("clear_empty.required", f"“{CLEAR_EMPTY.label}”: {target} is required and can never be "
                                                  "cleared.")
        if spec is not None and not spec.can_be_cleared:
            clearable = ", ".join(clearable_fields(kind, catalog))
            raise BadFile("clear_empty.not_clearable", f"“{CLEAR_EMPTY.label}”: {target} cannot be cleared by an "
                                                       f"import; these can: {clearable}.")
        if target in given:
            raise BadFile("clear_empty.has_default", f"“{CLEAR_EMPTY.label}”: {name} also has a value for empty "
                                                     "cells; give one or the other.")
        if target not in mapped:
            raise BadFile("clear_empty.no_column", f"“{CLEAR_EMPTY.label}”: no column of the file feeds {name}, so "
                                                   "no cell of it can clear it.")


def clearable_fields(kind: ImportKind, catalog: Catalog) -> list[str]:
    """The fields an import of this kind may clear (clear_empty): those declared so, and the custom fields."""
    return [spec.name for spec in kind.fields if spec.can_be_cleared] + sorted(catalog.custom_fields)
