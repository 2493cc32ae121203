"""Undo and retry from the web: the parts the result page and the API share, over services.undo."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from adapters.web import blueprint as shared
from adapters.web.security import WebUser
from plugin.errors import BadFile
from plugin.ports import JobSummary
from plugin.services.undo import Actor
from plugin.undo import UndoRefused, UndoResult


def actor_of(user: WebUser) -> Actor:
    return Actor(user.email, user.role)


def undo_refusal(job_id: int, user: WebUser) -> UndoRefused | None:
    """Why this person cannot undo the import, or None when they can."""
    return shared.importer().services.undo.refusal(job_id, actor_of(user))


def run_undo(job_id: int, user: WebUser, *, dry_run: bool) -> UndoResult:
    """Undo (or dry-run the undo of) an import; UndoRefused (NotPermitted) says why not."""
    return shared.importer().services.undo.undo(job_id, actor_of(user), dry_run=dry_run)


def may_retry(job: JobSummary, user: WebUser) -> bool:
    """Whether the page offers this person the retry form."""
    return shared.importer().services.undo.refusal_to_retry(job, actor_of(user)) is None


def start_retry(job: JobSummary, file: FileStorage, user: WebUser) -> int:
    """Check a fixed error report is a retry of this import by this person, store it, queue it; UploadRejected
    (the file) or NotPermitted (the person) says why not."""
    kind = shared.kind_for(user, job.kind)
    try:  # checked before it is stored: a file that cannot be a retry leaves nothing behind
        mapping, options = shared.importer().services.undo.retry_request(job.id, actor_of(user), file.stream)  # type: ignore[arg-type]
    except BadFile as problem:
        raise shared.UploadRejected(problem) from problem
    upload, _ = shared.store_upload(file, kind, user, is_kept_for_start=False)
    return shared.start_import(upload, actor=user, is_dry_run=False, mapping=mapping, options=options)
