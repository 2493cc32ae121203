"""The rules for what rows refer to by name: labels, companies, teams and custom fields.

One home for each rule, used by the catalog's use cases (`labels add`, `fields add`...) and by row validation.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugin.kinds import FieldType
from plugin.validate import NAME_MAX, name_problem

KINDS_WITH_CUSTOM_FIELDS = ("customers", "companies")


class CatalogProblem(ValueError):
    """A label, company, team or custom field cannot be added as asked; the message says why."""


def checked_names(names: Sequence[str], *, what: str) -> list[str]:
    """The names, spaces around them dropped; CatalogProblem for the first that cannot be one."""
    cleaned = [name.strip() for name in names]
    for name in cleaned:
        if (problem := name_problem(name, what=what)) is not None:
            raise CatalogProblem(problem[1])
    return cleaned


def company_name(name: str) -> str:
    """A company's name as stored: inner spaces collapsed; CatalogProblem when empty."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise CatalogProblem("A company needs a name.")
    if len(cleaned) > NAME_MAX:
        raise CatalogProblem(f"A company name is at most {NAME_MAX} characters.")
    return cleaned


def check_custom_field(variable: str, field_type: FieldType, choices: Sequence[str], applies_to: str) -> None:
    """CatalogProblem when a custom field cannot be defined so."""
    if not variable.isidentifier():
        raise CatalogProblem(f"{variable!r} cannot be a variable name: use letters, digits and underscores, "
                             "e.g. plan or renewal_date.")
    if field_type is FieldType.CHOICE and not choices:
        raise CatalogProblem("A choice field needs its choices, e.g. gold, silver and bronze.")
    if applies_to not in KINDS_WITH_CUSTOM_FIELDS:
        raise CatalogProblem(f"Custom fields are for {' or '.join(KINDS_WITH_CUSTOM_FIELDS)}, not {applies_to!r}.")
