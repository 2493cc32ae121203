"""The pages: import → mapping → preview → progress and result; history. Each view parses, calls, renders.
The admin pages (teams, customers, companies) are in admin_pages.py, on the same blueprint (page_base.py)."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from adapters.web import admin_pages  # noqa: F401  (adds the admin pages to the blueprint)
from adapters.web import blueprint as shared
from adapters.web import mapping_form, undo_retry
from adapters.web.page_base import error_page, page_number, pages, visitor
from adapters.web.security import WebUser
from plugin.ports import JobSummary
from plugin.ports.uploads import DuplicateImport, UploadRecord
from plugin.services.shown import Page, ShownRow
from plugin.kinds import ImportKind
from plugin.mapping import CUSTOM_PREFIX, check_chosen_mapping
from plugin.options import (ImportOptions, Option, OptionInvalid, OptionType, clearable_fields, options_fixing,
                            options_of, unmet_options)
from plugin.read import describe_size
from plugin.report import Status
from plugin.template import template_columns
from plugin.undo import NotPermitted, UndoRefused

ROWS_PER_PAGE = 50
HISTORY_PER_PAGE = 50


@pages.get("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for(".choose_kind"))


@pages.get("/new")
def choose_kind():  # type: ignore[no-untyped-def]
    return render_template("contact_importer/new.html", kinds=shared.permitted_kinds(visitor()))


def requirements(kind: ImportKind) -> dict[str, object]:
    settings = shared.importer().settings
    return {"row_limit": settings.row_limit, "max_size": describe_size(settings.max_file_bytes),
            "required": [spec.name for spec in kind.fields if spec.is_required_column],
            "required_for_new": [spec.name for spec in kind.fields if spec.is_required_for_new],
            "columns": template_columns(kind, shared.importer().services.store.load_catalog(kind.name))}


@pages.route("/new/<kind_name>", methods=["GET", "POST"])
def upload_file(kind_name: str):  # type: ignore[no-untyped-def]
    user = visitor()
    kind = shared.kind_for(user, kind_name)
    problem = None
    if request.method == "POST":
        file = request.files.get("file")
        if file is None or not file.filename:
            problem = "Choose a CSV file or an Excel workbook to import, or drop one on the box."
        else:
            try:
                sheet = request.form.get("sheet", "").strip() or None  # a workbook's; the preview's options keep it
                upload, _ = shared.store_upload(file, kind, user, is_kept_for_start=True, sheet=sheet)
                if sheet is not None:
                    shared.importer().services.uploads.change(upload.id, options={"sheet": sheet})
            except shared.UploadRejected as rejected:
                if rejected.problem.code == "file.too_large":
                    abort(413)
                problem = rejected.problem.message
            else:
                return redirect(url_for(".mapping", upload_id=upload.id))
    return render_template("contact_importer/upload.html", kind=kind, problem=problem,
                           **requirements(kind)), 400 if problem else 200


def upload_or_404(user: WebUser, upload_id: str) -> tuple[UploadRecord, ImportKind]:
    upload = shared.importer().services.uploads.get(upload_id)
    if upload is None or upload.is_deleted or upload.actor != user.email:
        abort(404)
    return upload, shared.kind_for(user, upload.kind)


@pages.route("/uploads/<upload_id>/mapping", methods=["GET", "POST"])
def mapping(upload_id: str):  # type: ignore[no-untyped-def]
    user = visitor()
    upload, kind = upload_or_404(user, upload_id)
    state = shared.importer()
    custom = sorted(state.services.store.load_catalog(kind.name).custom_fields)
    choices = mapping_form.field_choices(kind, custom)
    saved = state.services.uploads.saved_mappings_for(kind.name, upload.headers)
    samples = mapping_form.first_rows(upload, state.settings)
    suggested, suggested_from = mapping_form.suggest(kind, upload, custom, saved, samples,
                                                     wanted=request.args.get("saved"))
    problems: list[str] = []
    chosen = {column.header: column.target or "" for column in suggested.columns}
    if request.method == "POST":
        chosen = {header: request.form.get(f"map-{index}", "").strip() for index, header in enumerate(upload.headers)}
        problems = [problem.message for problem in check_chosen_mapping(kind, upload.headers, chosen,
                                                                        custom_variables=custom, samples=samples)]
        save_as = request.form.get("save_as", "").strip()[:200]
        if not problems:
            if save_as:
                state.services.uploads.save_mapping(kind.name, save_as, upload.headers, chosen, created_by=user.email)
            refreshed = state.services.uploads.change(upload.id, mapping=chosen)
            assert refreshed is not None
            job_id = _start_preview(refreshed, kind, user)
            return redirect(url_for(".preview", upload_id=upload.id, job=job_id))
    columns = [{"index": column.index, "header": column.header, "target": chosen.get(column.header, ""),
                "matched_by": str(column.matched_by) if column.matched_by else "", "confidence": column.confidence,
                "note": column.note} for column in suggested.columns]
    return render_template("contact_importer/mapping.html", kind=kind, upload=upload, columns=columns,
                           choices=choices, samples=mapping_form.shown_rows(samples, _secret_columns(kind, upload, chosen)),
                           saved=saved, suggested_from=suggested_from,
                           problems=problems, required=[spec.name for spec in kind.fields if spec.is_required_column],
                           ), 400 if problems else 200


def _options_of(upload: UploadRecord, kind: ImportKind) -> ImportOptions:
    """The options chosen on the preview page (as recorded), the settings' until someone chooses."""
    return shared.importer().services.imports.read_options(kind.name, upload.options, is_recorded=True)


def _secret_columns(kind: ImportKind, upload: UploadRecord, chosen: dict[str, str]) -> set[int]:
    """Columns mapped (or suggested) to a secret field: their samples are never shown."""
    return {index for index, header in enumerate(upload.headers) if chosen.get(header, "") in kind.secret_names}


def _start_preview(upload: UploadRecord, kind: ImportKind, user: WebUser) -> int:
    return shared.start_import(upload, actor=user, is_dry_run=True, mapping=upload.mapping or {},
                               options=_options_of(upload, kind), remember_as="preview_job_id")


def form_options(kind: ImportKind) -> list[Option]:
    """The preview form's fields besides the values for empty cells: every option the kind declares."""
    return [option for option in options_of(kind) if option.type is not OptionType.FIELD_VALUES]


def given_options(kind: ImportKind) -> dict[str, object]:
    """The preview form as given options: an unticked box is false, an empty text box is the setting's value."""
    given: dict[str, object] = {}
    for option in options_of(kind):
        if option.type is OptionType.FIELD_VALUES:
            given[option.name] = {name: request.form.get(f"default-{name}", "").strip() for name in default_fields(kind)}
        elif option.type is OptionType.FLAG:
            given[option.name] = request.form.get(option.name, "false")
        elif option.type is OptionType.NAMES:
            given[option.name] = request.form.get(option.name, "")
        elif option.type is OptionType.FIELDS:
            given[option.name] = request.form.getlist(option.name)
        else:
            given[option.name] = request.form.get(option.name, "").strip() or None
    return given


def default_fields(kind: ImportKind) -> list[str]:
    """The fields the form offers values for empty cells: the kind's (not its key, id or secrets), then its custom
    fields by variable, as the command line's --default names them."""
    custom = sorted(shared.importer().services.store.load_catalog(kind.name).custom_fields)
    return [spec.name for spec in kind.fields if spec.name not in (kind.key, "id") and not spec.is_secret] + [
        variable for variable in custom if variable not in kind.fields_by_name]


def clearable_choices(kind: ImportKind, upload: UploadRecord) -> list[str]:
    """The fields the form offers to clear when their cells are empty (the option clear_empty): those a column
    of the file is mapped to."""
    mapped = {target.removeprefix(CUSTOM_PREFIX) for target in (upload.mapping or {}).values() if target}
    catalog = shared.importer().services.store.load_catalog(kind.name)
    return [name for name in clearable_fields(kind, catalog) if name in mapped]


def _page_of_rows(job: JobSummary) -> Page[ShownRow]:
    """The page of rows asked for (?page=), all of them or only failed or changed ones (?show=)."""
    return shared.importer().services.history.rows_page(job, page=page_number(), per_page=ROWS_PER_PAGE,
                                                         show=request.args.get("show", ""))




@pages.route("/uploads/<upload_id>/preview", methods=["GET", "POST"])
def preview(upload_id: str):  # type: ignore[no-untyped-def]
    user = visitor()
    upload, kind = upload_or_404(user, upload_id)
    state = shared.importer()
    if upload.mapping is None:
        return redirect(url_for(".mapping", upload_id=upload.id))
    problem = ""
    if request.method == "POST":
        try:
            options = state.services.imports.read_options(kind.name, given_options(kind))
        except OptionInvalid as invalid:
            declared = {option.name: option for option in options_of(kind)}
            problem = f"{declared[invalid.name].label}: {invalid.message}"
        else:
            refreshed = state.services.uploads.change(upload.id, options=options.recorded())
            assert refreshed is not None
            job_id = _start_preview(refreshed, kind, user)
            return redirect(url_for(".preview", upload_id=upload.id, job=job_id))
    if upload.preview_job_id is None:
        return redirect(url_for(".mapping", upload_id=upload.id))
    job = state.services.history.get_job(upload.preview_job_id)
    rows = _page_of_rows(job) if shared.is_finished(job) else Page([], 1, False)
    options = _options_of(upload, kind)
    can_start = job.status == str(Status.DRY_RUN) and upload.import_job_id is None
    earlier = _earlier_import_of(upload, kind) if can_start else None
    errors, _ = state.services.history.first_errors(job.id) if shared.is_finished(job) else ([], 0)
    return render_template("contact_importer/preview.html", kind=kind, upload=upload, job=job, rows=rows,
                           progress=shared.job_progress(job),
                           summary=shared.job_summary_text(job), is_finished=shared.is_finished(job),
                           can_start=can_start, earlier_import=earlier,
                           earlier_text=shared.describe_double_submission(earlier) if earlier else "",
                           default_fields=default_fields(kind), options=options, form_options=form_options(kind),
                           clearable=clearable_choices(kind, upload),
                           fixing=options_fixing(kind, {error.code for error in errors}), problem=problem,
                           unmet=unmet_options(kind, options, state.services.settings),
                           ), 400 if problem else 200


def _earlier_import_of(upload: UploadRecord, kind: ImportKind) -> DuplicateImport | None:
    """The import that starting this upload would repeat (same file, kind, mapping, options, person, minutes ago)."""
    return shared.double_submission(upload, mapping=upload.mapping or {}, options=_options_of(upload, kind))


@pages.post("/uploads/<upload_id>/start")
def start(upload_id: str):  # type: ignore[no-untyped-def]
    user = visitor()
    upload, kind = upload_or_404(user, upload_id)
    state = shared.importer()
    if upload.import_job_id is not None:
        return redirect(url_for(".job_page", job_id=upload.import_job_id))
    job = state.services.history.get_job(upload.preview_job_id) if upload.preview_job_id else None
    if job is None or job.status != str(Status.DRY_RUN) or upload.mapping is None:
        return error_page(409, "Preview first", "Run the preview and look at it before starting the import.")
    if request.form.get("confirm_duplicate") != "1" and _earlier_import_of(upload, kind) is not None:
        return redirect(url_for(".preview", upload_id=upload.id, job=job.id))  # it asks there first
    state.services.uploads.change(upload.id, is_kept_for_start=False)
    job_id = shared.start_import(upload, actor=user, is_dry_run=False, mapping=upload.mapping,
                                 options=_options_of(upload, kind), remember_as="import_job_id")
    return redirect(url_for(".job_page", job_id=job_id))


@pages.get("/jobs/<int:job_id>")
def job_page(job_id: int):  # type: ignore[no-untyped-def]
    job = shared.get_job_or_404(visitor(), job_id)
    is_finished = shared.is_finished(job)
    rows = _page_of_rows(job) if is_finished else Page([], 1, False)
    user = visitor()
    undo_refusal = undo_retry.undo_refusal(job.id, user) if is_finished else None
    return render_template("contact_importer/job.html", job=job, kind_title=shared.kind_title(job.kind),
                           progress=shared.job_progress(job), summary=shared.job_summary_text(job),
                           is_finished=is_finished, rows=rows,
                           can_undo=is_finished and undo_refusal is None, undo_refusal=undo_refusal,
                           can_retry=undo_retry.may_retry(job, user))


@pages.route("/jobs/<int:job_id>/undo", methods=["GET", "POST"])
def undo(job_id: int):  # type: ignore[no-untyped-def]
    """GET: what undoing the import would do, record by record, and a button; POST: do it."""
    user = visitor()
    job = shared.get_job_or_404(user, job_id)
    try:
        result = undo_retry.run_undo(job.id, user, dry_run=request.method == "GET")
    except NotPermitted as refused:
        return error_page(403, "This import is not yours to undo", refused.message)
    except UndoRefused as refused:
        return error_page(409, "This import cannot be undone", refused.message)
    if result.undo_job is not None:
        return redirect(url_for(".job_page", job_id=result.undo_job))
    names = shared.importer().services.records.names(
        job.kind, [step.record_id for step in result.steps],
        [{"field": change.field, "old": change.old, "new": change.new} for step in result.steps for change in step.restores])
    return render_template("contact_importer/undo.html", job=job, kind_title=shared.kind_title(job.kind), result=result,
                           names=names)


@pages.post("/jobs/<int:job_id>/retry")
def retry(job_id: int):  # type: ignore[no-untyped-def]
    """Upload the fixed error report: only the failed rows, imported under their original numbers."""
    user = visitor()
    job = shared.get_job_or_404(user, job_id)
    file = request.files.get("file")
    if file is None or not file.filename:
        return error_page(400, "No file", "Choose the fixed error report to upload.")
    try:
        retry_job = undo_retry.start_retry(job, file, user)
    except NotPermitted as refused:
        return error_page(403, "This import is not yours to retry", refused.message)
    except shared.UploadRejected as rejected:
        return error_page(400, "This file cannot be a retry", rejected.problem.message)
    return redirect(url_for(".job_page", job_id=retry_job))


@pages.get("/history")
def history():  # type: ignore[no-untyped-def]
    state = shared.importer()
    kinds = [kind.name for kind in shared.permitted_kinds(visitor())]
    previews = request.args.get("previews") == "1"
    jobs = state.services.history.jobs_page(kinds=kinds, page=page_number(), per_page=HISTORY_PER_PAGE,
                                            previews=previews)
    return render_template("contact_importer/history.html", jobs=jobs.items, rows=jobs, kind_title=shared.kind_title,
                           previews=previews, args={"previews": 1} if previews else {})
