"""Import kinds are declarations: their fields, their key and their checks. One pipeline runs them all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from plugin.words import singular  # noqa: F401  (the kinds' modules import it from here)

if TYPE_CHECKING:
    from plugin.kinds.declared_options import Option




class CellProblem(ValueError):
    """A cell's text cannot become the field's value; carries a stable code and a readable message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FieldType(StrEnum):
    """The types a custom field can have."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class Field:
    """One column an import kind understands."""

    name: str
    parse: Callable[[str], object] | None = None  # text → value; raises CellProblem
    is_required_column: bool = False  # the file is rejected when no column maps here
    is_required_for_new: bool = False  # a row creating a record needs a value
    is_secret: bool = False  # never shown: reports print "(hidden)"
    is_repetitive: bool = False  # few distinct values (labels, roles...): each is parsed once per import
    is_name_list: bool = False  # several names in a cell (labels, teams): `parse` checks each, formulas too
    can_be_cleared: bool = False  # an import may empty it (the option clear_empty): one stored value, not required
    aliases: tuple[str, ...] = ()
    # A column that maps here by its header but whose first cells this field refuses feeds this other field
    # instead: an `ID` column of another system's ids ("666c2c2f...") is their external_id, not our id.
    foreign_values_field: str = ""
    examples: tuple[str, str] = ("", "")
    description: str = ""


@dataclass(frozen=True, slots=True)
class CustomField:
    """A custom field defined in the helpdesk; its column is headed by its variable name."""

    id: int
    variable: str
    type: FieldType
    choices: tuple[str, ...] = ()
    applies_to: str = "customers"  # the kind whose files carry it: customers or companies


@dataclass(slots=True)
class Catalog:
    """What rows refer to by name or id, loaded once per import: labels, companies, custom fields, teams."""

    label_ids: dict[str, int] = field(default_factory=dict)  # exact, case-sensitive names
    companies: dict[int, str] = field(default_factory=dict)
    custom_fields: dict[str, CustomField] = field(default_factory=dict)  # by variable, of the import's kind
    teams: dict[str, int] = field(default_factory=dict)  # exact, case-sensitive names
    company_keys: dict[str, int] = field(default_factory=dict)  # casefolded company name → id
    company_domains: dict[str, int] = field(default_factory=dict)  # mail domain (IDNA, lowercase) → company id
    # Companies and teams by the id another system gives them, (external source, external id): a Wifox project's
    # or desk's, which keeps matching after an admin renames it here. Teams → their name (groups are team names).
    company_externals: dict[tuple[str, str], int] = field(default_factory=dict)
    team_externals: dict[tuple[str, str], str] = field(default_factory=dict)
    # Cells naming a company or team by another system's id that this import creates (create_companies,
    # create_groups): the cell (the new one's name) → (external source, external id), stored with it when written
    new_externals: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def label_names(self) -> dict[int, str]:
        return {label_id: name for name, label_id in self.label_ids.items()}


@dataclass(frozen=True, slots=True)
class ImportKind:
    """Everything that makes customers different from agents; the pipeline does the rest."""

    name: str  # "customers", "users", "companies"
    title: str  # "customers", "agents", "companies": what a support admin calls them
    key: str  # the field matched case-insensitively
    fields: tuple[Field, ...]
    allows_custom_fields: bool = False
    description: str = ""  # one sentence for the page where an admin picks what to import
    # Cross-field checks and catalog lookups: (values, catalog, options) → [(column field, code, message)]
    check_record: Callable[[dict[str, object], Catalog, Mapping[str, object]], list[tuple[str, str, str]]] | None = None
    # What a record that creates gets besides its cells (customers: a company by the email's domain):
    # (values, catalog, options) → the values to create with. Run by the planner, so a preview shows it.
    complete_new: Callable[[Mapping[str, object], Catalog, Mapping[str, object]], Mapping[str, object]] | None = None
    # Fields besides the key that no two records may share (customers' username): the planner asks the
    # store who holds a batch's values and fails a row whose value belongs to another record.
    unique_fields: tuple[str, ...] = ()
    # The options an import of this kind accepts besides the common ones (plugin.options.COMMON_OPTIONS): the
    # command line's flags, the preview page's form and the API's options are built from them.
    options: tuple[Option, ...] = ()
    fields_by_name: Mapping[str, Field] = field(init=False, repr=False, compare=False)
    secret_names: frozenset[str] = field(init=False, repr=False, compare=False)
    # Cells not checked whole for formulas: secrets are exactly as typed, name lists are checked name by name.
    unchecked_cells: frozenset[str] = field(init=False, repr=False, compare=False)
    required_for_new: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up for every cell of every row: computed once, not scanned each time.
        object.__setattr__(self, "fields_by_name", {spec.name: spec for spec in self.fields})
        object.__setattr__(self, "secret_names", frozenset(spec.name for spec in self.fields if spec.is_secret))
        object.__setattr__(self, "unchecked_cells", self.secret_names | {spec.name for spec in self.fields
                                                                          if spec.is_name_list})
        object.__setattr__(self, "required_for_new", tuple(spec.name for spec in self.fields if spec.is_required_for_new))

    def field_named(self, name: str) -> Field:
        return self.fields_by_name[name]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(candidate.name for candidate in self.fields)


def unknown_names(names: Iterable[str], known: Mapping[str, object], *, field: str, what: str, create: Option,
                  options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Exact, case-sensitive names (labels, teams, groups) missing from `known`, as row problems.

    Nothing is missing when the import may create them (the option `create`, e.g. create_labels). The message
    names that option by its label, the same on every surface; each surface says how it is set.
    """
    if options.get(create.name):
        return []
    problems = []
    for name in names:
        if name in known:
            continue
        near = next((other for other in known if other.casefold() == name.casefold()), None)
        hint = f" ({field[:-1]} names are case-sensitive: did you mean {near!r}?)" if near is not None else ""
        problems.append((field, f"{field}.unknown", f"There is no {what} named {name!r}{hint}; create it first or "
                                                    f"import with the option “{create.label}”."))
    return problems
