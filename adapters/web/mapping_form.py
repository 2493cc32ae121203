"""The mapping page's logic: the fields a column can feed, suggestions (saved or automatic), and checks."""

from __future__ import annotations

from collections.abc import Collection
from itertools import islice
from pathlib import Path

from adapters.db import web_state
from adapters.sealed_files import open_upload
from plugin.errors import BadFile
from plugin.kinds import ImportKind
from plugin.mapping import CUSTOM_PREFIX, FUZZY_SUGGESTION_CUTOFF, ColumnMapping, suggest_mapping
from plugin.plan import HIDDEN
from plugin.read import inspect_csv, read_rows
from plugin.settings import Settings

SAMPLE_ROWS = 3


def field_choices(kind: ImportKind, custom_variables: list[str]) -> list[tuple[str, str]]:
    choices = [(spec.name, spec.name) for spec in kind.fields]
    if kind.allows_custom_fields:
        choices += [(CUSTOM_PREFIX + variable, f"{variable} (custom field)") for variable in custom_variables]
    return choices


def first_rows(upload: web_state.UploadRecord, settings: Settings, *,
               hidden: Collection[int] = ()) -> list[tuple[str, ...]]:
    """The first few rows, shown beside each column so a person sees what it holds; `hidden` columns (secrets)
    show HIDDEN instead of their cells."""
    with open_upload(Path(upload.path), settings) as source:
        layout = inspect_csv(source, row_limit=settings.row_limit, max_bytes=settings.max_file_bytes,
                             column_limit=settings.column_limit)
        return [tuple(HIDDEN if index in hidden and cell else cell for index, cell in enumerate(row.cells))
                for row in islice(read_rows(source, layout), SAMPLE_ROWS)]


def suggest(kind: ImportKind, upload: web_state.UploadRecord, custom: list[str],
            saved: list[web_state.SavedMappingRecord], *, wanted: str | None) -> tuple[ColumnMapping, str]:
    """The person's earlier choice, else the saved mapping asked for (or the newest), else suggestions.

    `wanted` is a saved mapping's id, "0" for automatic suggestions, or None when nothing was asked.
    """
    sources: list[tuple[dict[str, str], str]] = []
    if upload.mapping is not None and wanted is None:
        sources.append((upload.mapping, "your earlier choice"))
    by_id = {str(mapping.id): mapping for mapping in saved}
    if wanted in by_id:
        sources.append((by_id[wanted].mapping, f"saved mapping “{by_id[wanted].name}”"))
    elif wanted is None and saved:
        sources.append((saved[0].mapping, f"saved mapping “{saved[0].name}”"))
    for chosen, label in sources:
        try:
            return suggest_mapping(kind, upload.headers, custom_variables=custom, chosen=chosen,
                                   fuzzy_cutoff=FUZZY_SUGGESTION_CUTOFF), label
        except BadFile:
            continue  # a field it names is gone: fall back to suggestions
    return suggest_mapping(kind, upload.headers, custom_variables=custom, fuzzy_cutoff=FUZZY_SUGGESTION_CUTOFF), ""


def check_choices(kind: ImportKind, headers: tuple[str, ...], chosen: dict[str, str],
                  allowed: set[str]) -> list[str]:
    """What stops this mapping: unknown fields, a field taken twice, required fields left unmapped."""
    problems = []
    seen: dict[str, str] = {}
    for header in headers:
        target = chosen.get(header, "")
        if not target:
            continue
        if target not in allowed:
            problems.append(f"Column “{header}” is mapped to {target}, which is not a field.")
        elif target in seen:
            problems.append(f"Columns “{seen[target]}” and “{header}” are both mapped to {target}; "
                            "each field takes one column.")
        seen.setdefault(target, header)
    for spec in kind.fields:
        if spec.is_required_column and spec.name not in seen:
            problems.append(f"Map a column to {spec.name}: the import cannot run without it.")
    return problems
