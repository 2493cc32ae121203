"""The JSON API: the same permissions as the pages; a session (with its CSRF token) or an API token."""

from __future__ import annotations

import json
from collections.abc import Iterable

from flask import Blueprint, Response, jsonify, request, stream_with_context, url_for

from adapters.web import blueprint as shared
from adapters.web import undo_retry
from adapters.web.openapi import openapi_document
from adapters.web.security import add_security_headers, is_csrf_valid
from plugin.errors import BadFile
from plugin.read import Layout
from plugin.mapping import check_chosen_mapping
from plugin.options import OptionInvalid, parse_flag, unmet_options
from plugin.services import UnknownKind
from plugin.undo import NotPermitted, UndoRefused

api = Blueprint("contact_importer_api", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LIST_LIMIT = 200  # imports in one GET /imports
ROWS_LIMIT = 500  # per-row results in one GET /imports/<id>/rows


def json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(code=code, message=message), status


api.after_request(add_security_headers)


@api.before_request
def check_caller():  # type: ignore[no-untyped-def]
    request.max_content_length = shared.importer().settings.max_file_bytes + shared.MULTIPART_ALLOWANCE
    if request.endpoint == "contact_importer_api.openapi":
        return None
    user = shared.signed_in_user()
    if user is None:
        return json_error(401, "auth.required", "Sign in, or send an API token: Authorization: Bearer <token>.")
    if not shared.permitted_kinds(user):  # agents: nothing here, as on the pages
        return json_error(403, "forbidden", "Your role does not allow importing anything.")
    if request.method not in SAFE_METHODS and not shared.is_token_request() and not is_csrf_valid():
        return json_error(403, "csrf.invalid", "The request has no valid CSRF token (X-CSRF-Token header).")
    shared.deliver_notifications()
    return None


@api.errorhandler(403)
def forbidden(_error):  # type: ignore[no-untyped-def]
    return json_error(403, "forbidden", "Your role does not allow this.")


@api.errorhandler(404)
def not_found(_error):  # type: ignore[no-untyped-def]
    return json_error(404, "not_found", "There is no such import, kind or page.")


@api.errorhandler(413)
def too_large(_error):  # type: ignore[no-untyped-def]
    limit = shared.importer().settings.max_file_bytes
    return json_error(413, "file.too_large", f"The upload is larger than the limit of {limit:,} bytes.")


@api.errorhandler(500)
def internal_error(_error):  # type: ignore[no-untyped-def]
    return json_error(500, "internal", "Something went wrong on our side; it has been logged.")


def _json_field(name: str) -> dict:
    raw = request.form.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadFile(f"{name}.invalid", f"The {name} field is not valid JSON: {error.msg}.") from error
    if not isinstance(value, dict):
        raise BadFile(f"{name}.invalid", f"The {name} field must be a JSON object.")
    return value


class QueryInvalid(Exception):
    """A query parameter is not what the OpenAPI document says it is."""


def _query_integer(name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter within its documented range; anything else is a 400, never a silent default."""
    raw = request.args.get(name)
    if raw is None:
        return default
    text = raw.strip()
    value = int(text) if text.isascii() and text.removeprefix("-").isdigit() else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        allowed = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise QueryInvalid(f"{name} must be a whole number {allowed}; got {raw[:40]!r}.")
    return value


def _query_flag(name: str) -> bool:
    """A true/false query parameter (absent: false); anything else is a 400."""
    raw = request.args.get(name)
    if raw is None:
        return False
    try:
        return parse_flag(raw)
    except ValueError as invalid:
        raise QueryInvalid(f"{name}: {invalid}") from invalid


@api.errorhandler(QueryInvalid)
def query_invalid(error: QueryInvalid):  # type: ignore[no-untyped-def]
    return json_error(400, "query.invalid", str(error))


def _flag(name: str, raw: object) -> bool:
    """A true/false form field (dry_run, confirm_duplicate): the core's one parser; absent is false."""
    if raw is None or raw == "":
        return False
    try:
        return parse_flag(raw)
    except ValueError as error:
        raise BadFile(f"{name}.invalid", f"{name}: {error}") from None


@api.post("/imports")
def create_import():  # type: ignore[no-untyped-def]
    """Multipart: file, kind, optional mapping and options (JSON objects), dry_run. 202 with the job id."""
    user = shared.signed_in_user()
    assert user is not None
    kind_name = request.form.get("kind", "").strip()
    if not kind_name:
        return json_error(400, "kind.missing", "Say what to import: kind=customers, kind=users or kind=companies.")
    services = shared.importer().services
    try:
        services.kind(kind_name)
    except UnknownKind as error:
        return json_error(400, "kind.unknown", str(error))
    kind = shared.kind_for(user, kind_name)
    file = request.files.get("file")
    if file is None or not file.filename:
        return json_error(400, "file.missing", "Attach the CSV file or .xlsx workbook as the multipart field 'file'.")
    try:
        mapping = {str(header): "" if field is None else str(field) for header, field in _json_field("mapping").items()}
        given = _json_field("options")
        dry_run = _flag("dry_run", request.form.get("dry_run"))
        is_confirmed_duplicate = _flag("confirm_duplicate", request.form.get("confirm_duplicate"))
    except BadFile as error:
        return json_error(400, error.code, error.message)
    try:
        options = services.imports.read_options(kind.name, given)
    except OptionInvalid as invalid:
        return json_error(400, invalid.code, f"options.{invalid.name}: {invalid.message}")
    custom_variables = tuple(services.store.load_catalog(kind.name).custom_fields)

    def check_mapping(layout: Layout) -> None:
        problems = check_chosen_mapping(kind, layout.headers, mapping, custom_variables=custom_variables)
        if problems:
            raise problems[0]

    try:
        upload, _ = shared.store_upload(file, kind, user, is_kept_for_start=False, check=check_mapping,
                                         sheet=options.sheet)
    except shared.UploadRejected as rejected:
        status = 413 if rejected.problem.code == "file.too_large" else 400
        return json_error(status, rejected.problem.code, rejected.problem.message)
    earlier = None if dry_run or is_confirmed_duplicate else shared.double_submission(upload, mapping=mapping,
                                                                                        options=options)
    if earlier is not None:
        shared.discard_upload(upload)
        response = jsonify(code="upload.duplicate", job=earlier.job_id,
                           message=f"{shared.describe_double_submission(earlier)}: "
                                   "send confirm_duplicate=true to import it again.",
                           links={"earlier": url_for(".get_import", job_id=earlier.job_id)})
        return response, 409
    job_id = shared.start_import(upload, actor=user, is_dry_run=dry_run, mapping=mapping, options=options)
    response = jsonify(job=job_id, status="queued", dry_run=dry_run,
                       notes=[option.unmet_note for option in unmet_options(kind, options, services.settings)],
                       links={"self": url_for(".get_import", job_id=job_id),
                              "page": url_for("contact_importer.job_page", job_id=job_id)})
    response.headers["Location"] = url_for(".get_import", job_id=job_id)
    return response, 202


@api.get("/imports")
def list_imports():  # type: ignore[no-untyped-def]
    user = shared.signed_in_user()
    kinds = [kind.name for kind in shared.permitted_kinds(user)]
    limit = _query_integer("limit", default=50, minimum=1, maximum=LIST_LIMIT)
    previews = _query_flag("previews")
    state = shared.importer()
    documents = []
    for job in state.services.history.list_jobs(kinds=kinds, limit=limit, previews=previews):
        documents.append({"job": job.id, "kind": job.kind, "status": job.status, "actor": job.actor,
                          "file": job.file_name, "created_at": shared.as_utc_text(job.created_at), "rows": job.rows_done,
                          "total": job.total, "created": job.created, "updated": job.updated,
                          "unchanged": job.unchanged, "failed": job.failed, "operation": job.operation,
                          **(job.undone.as_dict() if job.is_undo else {}),
                          "links": {"self": url_for(".get_import", job_id=job.id)}})
    return jsonify(imports=documents)


@api.get("/imports/<int:job_id>")
def get_import(job_id: int):  # type: ignore[no-untyped-def]
    job = shared.get_job_or_404(shared.signed_in_user(), job_id)
    return jsonify(shared.job_document(job))


@api.get("/imports/<int:job_id>/rows")
def import_rows(job_id: int):  # type: ignore[no-untyped-def]
    """A page of per-row results: action, changes (old → new), errors."""
    job = shared.get_job_or_404(shared.signed_in_user(), job_id)
    offset = _query_integer("offset", default=0, minimum=0)
    limit = _query_integer("limit", default=50, minimum=1, maximum=ROWS_LIMIT)
    rows = shared.importer().services.history.row_results(job.id, offset=offset, limit=limit)
    return jsonify(job=job.id, offset=offset, limit=limit, total=job.rows_done, rows=rows)


def csv_response(chunks: Iterable[str], file_name: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


@api.get("/imports/<int:job_id>/errors.csv")
def errors_csv(job_id: int):  # type: ignore[no-untyped-def]
    """The error report: the original columns, then row, column and message; formula cells neutralised."""
    job = shared.get_job_or_404(shared.signed_in_user(), job_id)
    return csv_response(shared.importer().services.history.error_report(job.id), f"import-{job.id}-errors.csv")


@api.post("/imports/<int:job_id>/undo")
def undo_import_route(job_id: int):  # type: ignore[no-untyped-def]
    """Undo an import (dry_run=true: only say what would happen); 200 with what was done per record."""
    user = shared.signed_in_user()
    assert user is not None
    job = shared.get_job_or_404(user, job_id)
    try:
        dry_run = _flag("dry_run", request.form.get("dry_run", request.args.get("dry_run")))
    except BadFile as error:
        return json_error(400, error.code, error.message)
    try:
        result = undo_retry.run_undo(job.id, user, dry_run=dry_run)
    except NotPermitted as refused:
        return json_error(403, refused.code, refused.message)
    except UndoRefused as refused:
        return json_error(409, refused.code, refused.message)
    return jsonify(result.as_dict())


@api.post("/imports/<int:job_id>/retry")
def retry_import_route(job_id: int):  # type: ignore[no-untyped-def]
    """Multipart: file, the import's error report with its cells fixed. 202 with the retry's job id."""
    user = shared.signed_in_user()
    assert user is not None
    job = shared.get_job_or_404(user, job_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        return json_error(400, "file.missing", "Attach the fixed error report as the multipart field 'file'.")
    try:
        retry_job = undo_retry.start_retry(job, file, user)
    except NotPermitted as refused:
        return json_error(403, refused.code, refused.message)
    except shared.UploadRejected as rejected:
        status = 413 if rejected.problem.code == "file.too_large" else 400
        return json_error(status, rejected.problem.code, rejected.problem.message)
    response = jsonify(job=retry_job, status="queued", retry_of=job.id,
                       links={"self": url_for(".get_import", job_id=retry_job),
                              "page": url_for("contact_importer.job_page", job_id=retry_job)})
    response.headers["Location"] = url_for(".get_import", job_id=retry_job)
    return response, 202


@api.get("/templates/<kind_name>.csv")
def template_csv(kind_name: str):  # type: ignore[no-untyped-def]
    kind = shared.kind_for(shared.signed_in_user(), kind_name)
    return csv_response(shared.importer().services.imports.template(kind.name), f"{kind.title}-sample.csv")


@api.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document(url_for(".openapi").rsplit("/", 1)[0], shared.importer().services.kinds.values()))
