"""The options an import kind may declare, as declarations only: what each is called, its type and its help.

Reading and checking the values people give is plugin.options (which imports the kinds); this module imports
nothing of the project, so a kind's module can declare its options without an import cycle."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OptionType(StrEnum):
    """What values an option takes; each surface renders and parses an option by its type."""

    FLAG = "flag"  # true or false: --x/--no-x, a checkbox, a JSON boolean
    NAMES = "names"  # exact names: a repeated flag, 'A:B' in a text box, a JSON list
    REGION = "region"  # two letters such as GB
    COUNT = "count"  # a whole number of at least 1
    FIELD_VALUES = "field values"  # field → text for empty cells: --default FIELD=VALUE, one box a field, an object
    FIELDS = "fields"  # field names: a repeated flag (or 'a,b'), a multi-select, a JSON list
    TEXT = "text"  # one name as written, such as a workbook's sheet: --x NAME, a text box, a JSON string


@dataclass(frozen=True, slots=True)
class Option:
    """One option an import kind accepts: its name, type, label, help and where its default comes from."""

    name: str  # the ImportOptions field it sets, the API's options key and the form field's name
    type: OptionType
    label: str  # how a person sees it on the page, and how messages name it
    help: str  # one sentence: what it does
    setting: str = ""  # the setting whose value is its default ("" when none)
    flag: str = ""  # the command line's flag when not --<name with dashes>
    fixes: tuple[str, ...] = ()  # row error codes this option would have let through (labels.unknown...)
    needs_setting: str = ""  # a setting it does nothing without (smtp_url): each surface says so when it is on
    without_setting: str = ""  # what happens then, one sentence

    def is_unmet(self, value: object, settings: object) -> bool:
        """On, but the setting it needs is empty (settings: plugin.settings.Settings)."""
        return bool(value) and bool(self.needs_setting) and not getattr(settings, self.needs_setting)

    @property
    def unmet_note(self) -> str:
        """What every surface says when the option is unmet: “Its label”: what happens without the setting."""
        return f"“{self.label}”: {self.without_setting}"

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


CLEAR_EMPTY = Option("clear_empty", OptionType.FIELDS, "Columns whose empty cells clear the stored value",
                     "A column (field) whose empty cells clear the stored value instead of keeping it (repeatable, "
                     "or names separated by ','); a field required by the import can never be cleared.")

NOT_MAILED = ("smtp_url is not set, so no invitation is mailed: `contact-importer invitations --issue-links` "
              "prints their links.")
