"""GET /api/v1/openapi.json: the API described for people and client generators."""

from __future__ import annotations

from collections.abc import Iterable

from plugin.kinds import ImportKind
from plugin.options import OptionType, all_options

ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, object]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _job_path_parameter() -> dict[str, object]:
    return {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}}


_OPTION_SCHEMAS: dict[OptionType, dict[str, object]] = {
    OptionType.FLAG: {"type": ["boolean", "string"], "description": "true or false (also yes/no, y/n, 1/0)."},
    OptionType.NAMES: {"type": ["array", "string"], "items": {"type": "string"},
                       "description": "Names: a list, or separated by ':'."},
    OptionType.REGION: {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "GB, US, DE..."},
    OptionType.COUNT: {"type": ["integer", "string"], "minimum": 1},
    OptionType.TEXT: {"type": "string", "minLength": 1},
    OptionType.FIELD_VALUES: {"type": "object", "additionalProperties": {"type": "string"},
                              "description": "{field: value}; a custom field by its variable."},
    OptionType.FIELDS: {"type": ["array", "string"], "items": {"type": "string"},
                        "description": "Field names (custom fields by variable): a list, or separated by ','."},
}


def options_schema(kinds: Iterable[ImportKind]) -> dict[str, object]:
    """The API's `options` object: one property per option the kinds declare (plugin.options), nothing else."""
    kinds = tuple(kinds)
    properties: dict[str, object] = {}
    for name, (option, titles) in all_options(kinds).items():
        which = "" if len(titles) == len(kinds) else f" ({', '.join(titles)} only)"
        default = f" Default: the setting {option.setting}." if option.setting else ""
        schema = dict(_OPTION_SCHEMAS[option.type])
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"]  # null is the option left out: the setting (or the default) decides
        properties[name] = {**schema, "title": option.label, "description": f"{option.help}{which}{default}"}
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "description": "How to import; every option may be left out (the settings decide). An option the "
                           "kind does not take is 400 options.invalid."}


def openapi_document(base_path: str, kinds: Iterable[ImportKind] = ()) -> dict[str, object]:
    """OpenAPI 3.1 for the importer's API, mounted at base_path (e.g. /api/v1), with these kinds' options."""
    kinds = tuple(kinds)  # read twice: the kinds' names and their options
    row_error = {"type": "object", "properties": {
        "row": {"type": "integer", "description": "As a spreadsheet shows it: the header is row 1."},
        "column": {"type": "string"}, "code": {"type": "string", "examples": ["email.invalid"]},
        "message": {"type": "string"}}}
    column = {"type": "object", "properties": {
        "column": {"type": "string"}, "field": {"type": ["string", "null"]},
        "matched_by": {"type": ["string", "null"], "enum": ["exact", "alias", "fuzzy", "chosen", None]},
        "confidence": {"type": "integer"}, "note": {"type": "string"}}}
    progress = {"type": "object", "properties": {
        "done": {"type": "integer"}, "total": {"type": "integer"}, "percent": {"type": "integer"},
        "eta_seconds": {"type": ["integer", "null"], "description": "Seconds left; null until there is a rate."},
        "rows_per_second": {"type": ["number", "null"], "description": "Rows a second so far; null until there is a rate."},
        "rate_text": {"type": "string", "examples": ["3.1 rows/s"], "description": "Empty until there is a rate."},
        "eta_text": {"type": "string", "examples": ["about 40 s left", "estimating…", "done"]},
        "text": {"type": "string", "examples": ["42% · 126 of 300 rows · 3.1 rows/s · about 40 s left"],
                 "description": "The whole line, as the progress bar's accessible text says it."}}}
    job = {"type": "object", "description": "The fields of `contact-importer import --json`, plus progress.",
           "properties": {
               "job": {"type": "integer"}, "kind": {"type": "string"},
               "status": {"type": "string", "enum": ["queued", "running", "checking", "succeeded", "partial", "rejected",
                                                     "dry-run", "failed"]},
               "rows": {"type": "integer"}, "created": {"type": "integer"}, "updated": {"type": "integer"},
               "unchanged": {"type": "integer"}, "failed": {"type": "integer"},
               "errors": {"type": "array", "items": row_error}, "more_errors": {"type": "integer"},
               "ignored_columns": {"type": "array", "items": {"type": "string"}},
               "mapping": {"type": "array", "items": column},
               "message": {"type": "string"}, "code": {"type": "string"},
               "progress": progress, "summary": {"type": "string"}, "is_finished": {"type": "boolean"},
               "options_that_help": {"type": "array", "items": {"type": "string"}, "description":
                                     "Keys of `options` that would let failed rows through (create_labels...)."},
               "file": {"type": "string"}, "actor": {"type": "string"},
               "operation": {"type": "string", "enum": ["import", "undo"],
                             "description": "An undo (undo_of) has removed, restored, deactivated and left_alone "
                                            "instead of an import's counts; a retry is an import with retry_of."},
               "undo_of": {"type": "integer"}, "removed": {"type": "integer"}, "restored": {"type": "integer"},
               "deactivated": {"type": "integer"}, "left_alone": {"type": "integer"},
               "created_at": {"type": "string", "format": "date-time"},
               "finished_at": {"type": ["string", "null"], "format": "date-time"},
               "links": {"type": "object", "additionalProperties": {"type": "string"}}}}
    undo_step = {"type": "object", "properties": {
        "row": {"type": "integer"}, "record_id": {"type": "integer"},
        "action": {"type": "string", "enum": ["remove", "restore", "deactivate", "skip"]},
        "restores": {"type": "array", "items": {"type": "object"}}, "reason": {"type": "string"},
        "notes": {"type": "array", "items": {"type": "string"}}}}
    undo = {"type": "object", "properties": {
        "job": {"type": "integer"}, "undo_job": {"type": ["integer", "null"]}, "kind": {"type": "string"},
        "dry_run": {"type": "boolean"}, "operation": {"type": "string", "enum": ["undo"]},
        "removed": {"type": "integer"}, "restored": {"type": "integer"}, "deactivated": {"type": "integer"},
        "left_alone": {"type": "integer"}, "skipped": {"type": "integer", "description": "The same as left_alone."},
        "summary": {"type": "string"},
        "records": {"type": "array", "items": undo_step}}}
    options = options_schema(kinds)
    common_errors = {"401": _error("Not signed in and no valid API token."),
                     "403": _error("Your role does not allow this (nothing was changed), or a CSRF token is missing."),
                     "429": _error("Too many failed API tokens from your address: try again after Retry-After seconds.")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Contact importer API", "version": "1",
                 "description": "Import customers and agents from CSV in the background. Roles: admin (everything), "
                                "support_admin (customers, not agents), agent (nothing). Authenticate with a session "
                                "(and the X-CSRF-Token header for POST) or `Authorization: Bearer <token>` from "
                                "`contact-importer tokens create EMAIL`."},
        "servers": [{"url": base_path}],
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {"Error": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}, "Job": job, "Undo": undo},
        },
        "security": [{"token": []}, {"session": []}],
        "paths": {
            "/imports": {
                "post": {
                    "summary": "Start an import (or a dry run) in the background.",
                    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                        "type": "object", "required": ["file", "kind"], "properties": {
                            "file": {"type": "string", "format": "binary", "description": "The CSV file."},
                            "kind": {"type": "string", "enum": [kind.name for kind in kinds]},
                            "mapping": {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                                        "description": '{"CSV header": "field"}; "" (or null) ignores a column.'},
                            "options": options,
                            "dry_run": {"type": "boolean"},
                            "confirm_duplicate": {"type": "boolean", "description":
                                                  "Import a file again although the same file was imported "
                                                  "minutes ago (otherwise 409 upload.duplicate)."}}},
                        "encoding": {"mapping": {"contentType": "application/json"},
                                     "options": {"contentType": "application/json"}}}}},
                    "responses": {
                        "202": {"description": "Queued.", "content": {"application/json": {"schema": {
                            "type": "object", "properties": {"job": {"type": "integer"}, "status": {"type": "string"},
                                                             "dry_run": {"type": "boolean"},
                                                             "notes": {"type": "array", "items": {"type": "string"},
                                                                       "description": "Options asked for that do "
                                                                       "nothing without a setting (invite "
                                                                       "without smtp_url), each in a sentence."},
                                                             "links": {"type": "object"}}}}}},
                        "400": _error("The file or a field cannot be used; nothing was queued."),
                        "409": {"description": "upload.duplicate: the same file, kind, mapping and options were "
                                               "imported by you minutes ago (duplicate_upload_minutes); nothing was "
                                               "queued. Send confirm_duplicate=true to import it again.",
                                "content": {"application/json": {"schema": {
                                    "type": "object", "required": ["code", "message", "job"], "properties": {
                                        "code": {"type": "string", "enum": ["upload.duplicate"]},
                                        "message": {"type": "string"},
                                        "job": {"type": "integer", "description": "The earlier import."},
                                        "links": {"type": "object"}}}}}},
                        "413": _error("The upload is larger than max_file_bytes."), **common_errors},
                },
                "get": {"summary": "The latest imports (and undos) of the kinds you may import; previews (dry runs) "
                                   "only with previews=true.",
                        "parameters": [{"name": "limit", "in": "query",
                                        "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                                       {"name": "previews", "in": "query",
                                        "schema": {"type": "string", "enum": ["true", "false"]}}],
                        "responses": {"200": {"description": "A list."},
                                      "400": _error("A query parameter is out of range."), **common_errors}},
            },
            "/imports/{job_id}": {"get": {
                "summary": "One import: counts, errors, mapping and progress.",
                "parameters": [_job_path_parameter()],
                "responses": {"200": {"description": "The import.",
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}},
                              "404": _error("No such import."), **common_errors}}},
            "/imports/{job_id}/rows": {"get": {
                "summary": "A page of per-row results: action, changes (old and new), errors.",
                "parameters": [_job_path_parameter(),
                               {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                               {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
                "responses": {"200": {"description": "Rows."}, "400": _error("A query parameter is out of range."),
                              "404": _error("No such import."), **common_errors}}},
            "/imports/{job_id}/errors.csv": {"get": {
                "summary": "The error report: the original columns, then row, column and message.",
                "parameters": [_job_path_parameter()],
                "responses": {"200": {"description": "CSV.", "content": {"text/csv": {}}},
                              "404": _error("No such import."), **common_errors}}},
            "/imports/{job_id}/undo": {"post": {
                "summary": "Undo an import: remove what it created, put back what it updated; records changed since "
                           "are left alone and say why. With dry_run, only say what would happen.",
                "parameters": [_job_path_parameter(),
                               {"name": "dry_run", "in": "query", "schema": {"type": "boolean"}}],
                "requestBody": {"required": False, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "properties": {"dry_run": {"type": "boolean"}}}}}},
                "responses": {"200": {"description": "What was done (or would be) per record.", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Undo"}}}},
                              "400": _error("dry_run is not true or false."),
                              "404": _error("No such import."),
                              "409": _error("It cannot be undone: a dry run, unfinished, undone already, or an undo."),
                              **common_errors,
                              "403": _error("Your role does not allow this, or the import is somebody else's: only an "
                                            "admin acts on another person's import (undo.not_yours). Nothing was changed.")}}},
            "/imports/{job_id}/retry": {"post": {
                "summary": "Retry the failed rows: upload the import's error report with its cells fixed (its row, "
                           "column and message columns kept); results keep the original row numbers.",
                "parameters": [_job_path_parameter()],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}}}}}},
                "responses": {
                    "202": {"description": "Queued as an import of its own.", "content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "job": {"type": "integer"}, "status": {"type": "string"}, "retry_of": {"type": "integer"},
                            "links": {"type": "object"}}}}}},
                    "400": _error("Not a retry of this import (a row that did not fail, no row column...); "
                                  "nothing was queued."),
                    "404": _error("No such import."), "413": _error("The upload is larger than max_file_bytes."),
                    **common_errors,
                    "403": _error("Your role does not allow this, or the import is somebody else's: only an "
                                  "admin acts on another person's import (retry.not_yours). Nothing was changed.")}}},
            "/templates/{kind}.csv": {"get": {
                "summary": "The sample CSV of a kind.",
                "parameters": [{"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "CSV.", "content": {"text/csv": {}}},
                              "404": _error("No such kind."), **common_errors}}},
            "/openapi.json": {"get": {"summary": "This document.", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3.1."}}}},
        },
    }
