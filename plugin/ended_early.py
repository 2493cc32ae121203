"""An import that ended before its last row, and nobody will carry on: its job is marked failed (never left
`running`), saying how many rows were applied and that importing the same file again finishes it.

Two ways to get there: an exception out of the run (a bug, the database gone, Ctrl-C: `failed_report`, by the
pipeline itself), or its process gone with nothing able to run (SIGKILL, a lost machine: `interrupted_message`,
by whoever next reads the job log; plugin.services.history). Queued imports are not ended here: their worker's
claim is taken back and another worker resumes them (adapters/jobs.py).
"""

from __future__ import annotations

from plugin.plan import Action
from plugin.ports import EarlierRun
from plugin.report import ImportReport, Status

CRASHED = "import.crashed"
INTERRUPTED = "import.interrupted"


def _what_is_kept(rows_applied: int) -> str:
    if not rows_applied:
        return "No row was applied."
    return (f"The first {rows_applied:,} rows were applied and are kept; import the same file again to finish it "
            "(rows already applied come out unchanged).")


def failed_report(report: ImportReport, earlier: EarlierRun | None, error: BaseException, *,
                  is_dry_run: bool) -> ImportReport:
    """The report of a run an exception ended: the rows its committed batches applied, and why it stopped."""
    applied = earlier is not None and earlier.status is Status.RUNNING and not is_dry_run
    counts = earlier.counts if earlier is not None and applied else {}
    rows = earlier.rows_done if earlier is not None and applied else 0
    if isinstance(error, KeyboardInterrupt):
        cause = "it was interrupted (Ctrl-C)"
    else:
        cause = f"of an internal error ({type(error).__name__}, logged with import {report.job})"
    return ImportReport(
        kind=report.kind, file_name=report.file_name, job=report.job, status=Status.FAILED, rows=rows,
        created=counts.get(Action.CREATED, 0), updated=counts.get(Action.UPDATED, 0),
        unchanged=counts.get(Action.UNCHANGED, 0), failed=counts.get(Action.FAILED, 0),
        errors=list(earlier.errors) if earlier is not None and applied else [],
        mapping=report.mapping, message=f"The import stopped because {cause}. {_what_is_kept(rows)}",
        error_code=CRASHED, seconds=report.seconds)


def interrupted_message(rows_applied: int, *, is_dry_run: bool, where: str) -> str:
    """What a job whose process is gone says: it was interrupted, and what of it is kept."""
    kept = "Nothing was written (a dry run)." if is_dry_run else _what_is_kept(rows_applied)
    return f"Interrupted: the process running this import ({where}) stopped before it ended. {kept}"
