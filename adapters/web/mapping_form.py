"""The mapping page's logic: the fields a column can feed, suggestions (saved or automatic), and checks."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from adapters.sealed_files import open_upload
from plugin.errors import BadFile
from plugin.kinds import ImportKind
from plugin.mapping import CUSTOM_PREFIX, ColumnMapping, sample_rows, suggest_mapping
from plugin.plan import hide_cells
from plugin.ports.uploads import SavedMappingRecord, UploadRecord
from plugin.read import inspect_csv
from plugin.settings import Settings


def field_choices(kind: ImportKind, custom_variables: list[str]) -> list[tuple[str, str]]:
    choices = [(spec.name, spec.name) for spec in kind.fields]
    if kind.allows_custom_fields:
        choices += [(CUSTOM_PREFIX + variable, f"{variable} (custom field)") for variable in custom_variables]
    return choices


def first_rows(upload: UploadRecord, settings: Settings) -> list[tuple[str, ...]]:
    """The first few rows, checked by fuzzy matches; shown beside each column through shown_rows."""
    with open_upload(Path(upload.path), settings) as source:
        layout = inspect_csv(source, row_limit=settings.row_limit, max_bytes=settings.max_file_bytes,
                             column_limit=settings.column_limit, sheet=_sheet_of(upload))
        return sample_rows(source, layout)


def _sheet_of(upload: UploadRecord) -> str | None:
    """The workbook's sheet chosen on the upload page (the import option sheet), None for the first."""
    sheet = upload.options.get("sheet")
    return sheet if isinstance(sheet, str) else None


def shown_rows(rows: list[tuple[str, ...]], hidden: Collection[int]) -> list[tuple[str, ...]]:
    """The sample rows as the page shows them: the `hidden` columns' cells (secrets) never."""
    return [hide_cells(row, hidden) for row in rows]


def suggest(kind: ImportKind, upload: UploadRecord, custom: list[str],
            saved: list[SavedMappingRecord], samples: list[tuple[str, ...]], *,
            wanted: str | None) -> tuple[ColumnMapping, str]:
    """The person's earlier choice, else the saved mapping asked for (or the newest), else suggestions: the
    core's, as the command line and the API make them.

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
            return suggest_mapping(kind, upload.headers, custom_variables=custom, chosen=chosen, samples=samples), label
        except BadFile:
            continue  # a field it names is gone: fall back to suggestions
    return suggest_mapping(kind, upload.headers, custom_variables=custom, samples=samples), ""
