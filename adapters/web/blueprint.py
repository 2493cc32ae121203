"""What the pages and the API share: the importer's state in a Flask app, who is asking, uploads, starting
imports and reading them back. Views only parse, call these (and the services), and render."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import abort, current_app, g, request, url_for
from werkzeug.datastructures import FileStorage

from adapters.jobs import FINISHED, ImportQueue
from adapters.sealed_files import seal_upload
from adapters.web.security import Permissions, SignInThrottled, WebUser, as_web_user, bearer_token
from plugin.errors import BadFile
from plugin.kinds import ImportKind
from plugin.mapping import MappedColumn, MatchedBy
from plugin.options import ImportOptions, options_fixing
from plugin.ports.uploads import DuplicateImport, UploadRecord
from plugin.read import Layout, inspect_csv
from plugin.progress import ImportProgress
from plugin.report import ImportReport, Status
from plugin.services import Services, UnknownKind
from plugin.words import count_of

logger = logging.getLogger(__name__)

EXTENSION = "contact_importer"
LARGEST_ID = 2**31 - 1  # import ids are INTEGER columns: a larger id in a URL names no import
MULTIPART_ALLOWANCE = 64 * 1024  # form fields and multipart framing around the file itself


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification for the host's notification area."""

    recipient: str  # the email of the person who started the import
    message: str
    link: str
    job_id: int | None


@dataclass
class Importer:
    """The importer mounted in one Flask app: kept in app.extensions["contact_importer"]."""

    services: Services
    queue: ImportQueue
    permissions: Permissions
    current_user: Callable[[], object | None]
    load_user: Callable[[str], object | None] | None = None  # email → user, for API tokens
    notify: Callable[[Notice], None] | None = None
    base_template: str = "contact_importer/base.html"
    login_endpoint: str | None = None

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        return self.services.settings


def importer() -> Importer:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def signed_in_user() -> WebUser | None:
    """The person behind this request: an API token's owner, or the host's signed-in user."""
    if "contact_importer_user" not in g:
        state = importer()
        token = bearer_token()
        if token is not None:
            check = state.services.people.token_owner(token, address=request.remote_addr or "")
            if check.retry_after:
                raise SignInThrottled(check.retry_after)
            email = check.email
            found = state.load_user(email) if email and state.load_user is not None else None
            g.contact_importer_auth = "token"
        else:
            found = state.current_user()
            g.contact_importer_auth = "session"
        g.contact_importer_user = as_web_user(found)
    return g.contact_importer_user  # type: ignore[no-any-return]


def is_token_request() -> bool:
    signed_in_user()
    return g.get("contact_importer_auth") == "token"


def permitted_kinds(user: WebUser | None) -> list[ImportKind]:
    state = importer()
    return [kind for kind in state.services.kinds.values() if state.permissions.may_import(user, kind.title)]


def kind_for(user: WebUser | None, name: str) -> ImportKind:
    """The kind by name, or 404; 403 when the person may not import it."""
    try:
        kind = importer().services.kind(name)
    except UnknownKind:
        abort(404)
    if not importer().permissions.may_import(user, kind.title):
        abort(403)
    return kind


# ---- uploads


class UploadRejected(Exception):
    """The uploaded file cannot be imported; carries the core's BadFile."""

    def __init__(self, problem: BadFile) -> None:
        super().__init__(problem.message)
        self.problem = problem


def store_upload(file: FileStorage, kind: ImportKind, actor: WebUser, *, is_kept_for_start: bool,
                 check: Callable[[Layout], None] | None = None, sheet: str | None = None,
                 ) -> tuple[UploadRecord, Layout]:
    """Save the file under upload_dir with a random name, check it can be read (a workbook from `sheet`, and
    `check` it), record it."""
    state = importer()
    settings = state.settings
    folder = Path(settings.upload_dir).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    upload_id = state.services.uploads.new_id()
    path = folder / f"{upload_id}.csv"
    file.save(path)
    with path.open("rb") as saved:
        file_hash = hashlib.file_digest(saved, "sha256").hexdigest()
    try:
        with path.open("rb") as source:
            layout = inspect_csv(source, row_limit=settings.row_limit, max_bytes=settings.max_file_bytes,
                                 column_limit=settings.column_limit, sheet=sheet)
        if check is not None:
            check(layout)
    except BadFile as problem:
        path.unlink(missing_ok=True)
        raise UploadRejected(problem) from problem
    path.chmod(0o600)
    file_name = Path(file.filename or "upload.csv").name[:200]
    upload = state.services.uploads.add(upload_id, kind=kind.name, file_name=file_name, actor=actor.email,
                                        path=str(path), size=path.stat().st_size, headers=layout.headers,
                                        is_kept_for_start=is_kept_for_start, file_hash=file_hash)
    if kind.secret_names:
        seal_upload(path, settings)  # passwords never rest on disk in clear beyond this request
    return upload, layout


def discard_upload(upload: UploadRecord) -> None:
    """Forget an upload that will not be imported: its file goes now, its record is marked deleted."""
    importer().services.uploads.discard(upload)


def double_submission(upload: UploadRecord, *, mapping: Mapping[str, str], options: ImportOptions
                      ) -> DuplicateImport | None:
    """The import this one would repeat: the same file, kind, mapping and options, started by the same person
    within duplicate_upload_minutes; None when there is none or the check is off."""
    return importer().services.uploads.double_submission(upload, mapping=mapping, options=options)


def describe_double_submission(earlier: DuplicateImport, *, now: datetime | None = None) -> str:
    """'You imported this same file 3 minutes ago (import #12)': the page asks, the API says how to confirm."""
    started = earlier.created_at if earlier.created_at.tzinfo else earlier.created_at.replace(tzinfo=timezone.utc)
    minutes = int(max(((now or datetime.now(timezone.utc)) - started).total_seconds(), 0) // 60)
    ago = "less than a minute ago" if minutes == 0 else "1 minute ago" if minutes == 1 else f"{minutes} minutes ago"
    return f"You imported this same file {ago} (import #{earlier.job_id})"


def start_import(upload: UploadRecord, *, actor: WebUser, is_dry_run: bool, mapping: Mapping[str, str],
                 options: ImportOptions, remember_as: str | None = None) -> int:
    """Start a queued import of an upload (one transaction) and hand its id to the workers (who read its options
    back); `remember_as` ("preview_job_id", "import_job_id") records the job on the upload in the same one."""
    state = importer()
    job_id = state.services.uploads.start_import(upload, actor=actor.email, is_dry_run=is_dry_run, mapping=mapping,
                                                 options=options, enqueue=state.queue.enqueue, remember_as=remember_as)
    logger.info("import %s of %s queued by %s (%s)", job_id, upload.kind, actor.id, "dry run" if is_dry_run else "applying")
    return job_id


# ---- reading imports back


def get_job_or_404(user: WebUser | None, job_id: int):  # type: ignore[no-untyped-def]
    if not 0 < job_id <= LARGEST_ID:
        abort(404)
    job = importer().services.history.get_job(job_id)
    if job is None:
        abort(404)
    kind_for(user, job.kind)
    return job


def is_finished(job) -> bool:  # type: ignore[no-untyped-def]
    return job.status in FINISHED


def job_progress(job) -> ImportProgress:  # type: ignore[no-untyped-def]
    """Percent, rows done of all, rows a second and time left, as the core works them out (plugin.progress)."""
    return job.progress(now=datetime.now(timezone.utc), is_finished=is_finished(job))  # type: ignore[no-any-return]


def job_report(job) -> ImportReport:  # type: ignore[no-untyped-def]
    """The stored import as the ImportReport the CLI's --json prints. Its errors once it has finished: a running
    import is asked about several times a second by its progress bar, and its errors are still coming."""
    errors, more = importer().services.history.first_errors(job.id) if is_finished(job) else ([], 0)
    mapping = tuple(
        MappedColumn(index, str(column.get("column", "")), column.get("field"),
                     MatchedBy(column["matched_by"]) if column.get("matched_by") else None,
                     int(column.get("confidence") or 0), str(column.get("note") or ""))
        for index, column in enumerate(job.mapping))
    try:
        status = Status(job.status)
    except ValueError:
        status = Status.FAILED
    return ImportReport(kind=job.kind, file_name=job.file_name, job=job.id, status=status, rows=job.rows_done,
                        created=job.created, updated=job.updated, unchanged=job.unchanged, failed=job.failed,
                        errors=errors, more_errors=more, mapping=mapping, message=job.message,
                        error_code=job.error_code)


def kind_title(name: str) -> str:
    try:
        return importer().services.kind(name).title
    except UnknownKind:
        return name


def job_summary_text(job) -> str:  # type: ignore[no-untyped-def]
    """One line for a person: what happened, or is happening."""
    if job.is_undo:
        return job.undo_summary  # type: ignore[no-any-return]
    title = kind_title(job.kind)
    if job.status == str(Status.QUEUED):
        return f"Waiting for a worker to start importing {title}."
    if job.status == str(Status.RUNNING):
        return f"Importing {title}: {job.rows_shown:,} of {job.total:,} rows done."
    if job.status == str(Status.CHECKING):
        return f"Checking every row before importing {title} (all or nothing): {job.rows_done:,} of {job.total:,} checked."
    if job.status == str(Status.REJECTED):
        return f"Nothing imported: {job.message}"
    if job.status == str(Status.FAILED):
        return f"The import failed: {job.message}"
    verb = "Would import" if job.status == str(Status.DRY_RUN) else "Imported"
    parts = [f"{job.created:,} created", f"{job.updated:,} updated"]
    if job.unchanged:
        parts.append(f"{job.unchanged:,} unchanged")
    parts.append(f"{job.failed:,} failed")
    return f"{verb} {count_of(job.rows_done - job.failed, title)}: {', '.join(parts)}"


def as_utc_text(moment: datetime | None) -> str | None:
    """RFC 3339 with its zone, as the OpenAPI document promises; SQLite gives back times without one (UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)).isoformat()


def job_document(job) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """GET /api/v1/imports/<id>: the CLI's --json fields, then progress, who, when and links."""
    report = job_report(job)
    document = report.as_dict()
    try:
        helping = [option.name for option in options_fixing(importer().services.kind(job.kind),
                                                            {error.code for error in report.errors})]
    except UnknownKind:
        helping = []
    document.update({
        "options_that_help": helping,
        "progress": job_progress(job).as_dict(),
        "summary": job_summary_text(job),
        "is_finished": is_finished(job),
        "file": job.file_name,
        "actor": job.actor,
        "operation": job.operation,
        **({"undo_of": job.options.get("undo_of"), **job.undone.as_dict()} if job.is_undo else {}),
        "created_at": as_utc_text(job.created_at),
        "finished_at": as_utc_text(job.finished_at),
        "links": {
            "self": url_for("contact_importer_api.get_import", job_id=job.id),
            "errors_csv": url_for("contact_importer_api.errors_csv", job_id=job.id),
            "page": url_for("contact_importer.job_page", job_id=job.id),
        },
    })
    return document


def deliver_notifications() -> None:
    """Hand notifications written by workers to the host's notification area, once each."""
    state = importer()
    if state.notify is None:
        return
    for notification in state.services.uploads.take_undelivered_notifications():
        link = url_for("contact_importer.job_page", job_id=notification.job_id, _external=True) if notification.job_id else ""
        state.notify(Notice(notification.recipient, notification.message, link, notification.job_id))
