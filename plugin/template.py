"""The downloadable sample CSV of a kind: its header, with a column per custom field, and two example rows."""

from __future__ import annotations

from collections.abc import Iterable

from plugin.kinds import Catalog, CustomField, FieldType, ImportKind
from plugin.report import write_csv

_CUSTOM_EXAMPLES = {
    FieldType.TEXT: ("some text", ""),
    FieldType.NUMBER: ("42", "3.5"),
    FieldType.DATE: ("2026-01-31", "2026-12-01"),
    FieldType.BOOLEAN: ("true", "false"),
}


def _custom_examples(custom: CustomField) -> tuple[str, str]:
    if custom.type is FieldType.CHOICE:
        return custom.choices[0], custom.choices[-1]
    return _CUSTOM_EXAMPLES[custom.type]


def alias_lines(kind: ImportKind) -> list[str]:
    """'email: email address, e-mail, ...': each field and the other headers that map to it by themselves, from
    the field declarations; `template KIND --fields`, `import --help` and the README list them so."""
    return [f"{spec.name}: {', '.join(spec.aliases)}" if spec.aliases else spec.name for spec in kind.fields]


def template_headers(kind: ImportKind, catalog: Catalog) -> list[str]:
    headers = [spec.name for spec in kind.fields if spec.name != "id"]
    if kind.allows_custom_fields:
        headers += sorted(catalog.custom_fields)
    return headers


def template_csv(kind: ImportKind, catalog: Catalog) -> Iterable[str]:
    """CSV text of the sample file, ready to fill in a spreadsheet."""
    specs = [spec for spec in kind.fields if spec.name != "id"]
    customs = [catalog.custom_fields[variable] for variable in sorted(catalog.custom_fields)] if kind.allows_custom_fields else []
    labels = sorted(catalog.label_ids)
    rows = []
    for index in (0, 1):
        row = []
        for spec in specs:
            example = spec.examples[index]
            if spec.name == "labels" and labels:
                example = ":".join(labels[:2]) if index == 0 else labels[-1]
            if spec.name == "company_id" and catalog.companies and index == 0:
                example = str(min(catalog.companies))
            if spec.name == "company" and catalog.companies and index == 0:
                example = catalog.companies[min(catalog.companies)]
            if spec.name == "groups" and catalog.teams and index == 0:
                example = sorted(catalog.teams)[0]
            row.append(example)
        row += [_custom_examples(custom)[index] for custom in customs]
        rows.append(row)
    return write_csv(template_headers(kind, catalog), rows)


def template_columns(kind: ImportKind, catalog: Catalog) -> list[tuple[str, str, str]]:
    """(column, what it holds, an example) for every column of the sample file, custom fields included: the upload
    page's "All columns" table."""
    columns = [(spec.name, spec.description, spec.examples[0]) for spec in kind.fields]
    if kind.allows_custom_fields:
        for variable in sorted(catalog.custom_fields):
            custom = catalog.custom_fields[variable]
            what = f"Custom field ({custom.type})" + (f": one of {', '.join(custom.choices)}" if custom.choices else "")
            columns.append((variable, what, _custom_examples(custom)[0]))
    return columns
