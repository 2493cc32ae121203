"""Undo and retry from the web: the parts the result page and the API share."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from adapters.db.undo import UndoRefused, UndoResult, check_undoable, undo_import
from adapters.web import blueprint as shared
from adapters.web.security import WebUser
from plugin.errors import BadFile
from plugin.read import inspect_csv
from plugin.retry import inspect_retry, retry_arguments


def undo_refusal(job_id: int) -> UndoRefused | None:
    """Why the import cannot be undone, or None when it can."""
    with shared.importer().engine.connect() as connection:
        try:
            check_undoable(connection, job_id)
        except UndoRefused as refused:
            return refused
    return None


def run_undo(job_id: int, user: WebUser, *, dry_run: bool) -> UndoResult:
    """Undo (or dry-run the undo of) an import; UndoRefused says why not."""
    state = shared.importer()
    return undo_import(state.engine, job_id, actor=user.email, dry_run=dry_run, batch_size=state.settings.batch_size)


def start_retry(job, file: FileStorage, user: WebUser) -> int:  # type: ignore[no-untyped-def]
    """Store a fixed error report, check it is a retry of this import, queue it; UploadRejected says why not."""
    state = shared.importer()
    kind = shared.kind_for(user, job.kind)
    retry = state.services.store.retry_of(job.id)
    try:  # checked before it is stored: a file that cannot be a retry leaves nothing behind
        layout = inspect_csv(file.stream, row_limit=state.settings.row_limit, max_bytes=state.settings.max_file_bytes)
        inspect_retry(file.stream, layout, retry)  # type: ignore[arg-type]
    except BadFile as problem:
        raise shared.UploadRejected(problem) from problem
    file.stream.seek(0)
    upload, _ = shared.store_upload(file, kind, user, is_kept_for_start=False)
    arguments = retry_arguments(job.id, job.kind, job.mapping, dict(job.options))
    options = state.services.imports.read_options(kind.name, {  # type: ignore[arg-type]
        **arguments["options"], "defaults": arguments["defaults"], "all_or_nothing": arguments["all_or_nothing"]},  # type: ignore[dict-item]
        is_recorded=True)
    return shared.start_import(upload, actor=user, is_dry_run=False, mapping=arguments["mapping"],  # type: ignore[arg-type]
                               options=options)
