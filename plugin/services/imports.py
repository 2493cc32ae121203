"""Imports: one file of one kind through the pipeline, and the sample file of a kind."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, BinaryIO

from plugin.options import ImportOptions, read_options
from plugin.pipeline import ImportRequest, PrepareBatch, run_import, start_job_here
from plugin.ports import ProgressSink, StopCheck
from plugin.progress import REPORT_EVERY_SECONDS, at_most_every
from plugin.ports.kinds import Exported
from plugin.report import ImportReport, Status
from plugin.template import template_csv

if TYPE_CHECKING:
    from plugin.services import Services

# Builds a kind's last step before writing (agents: hash passwords), given where its progress goes:
# (rows of the current batch prepared so far, rows in that batch).
PreparerFactory = Callable[[ProgressSink | None], PrepareBatch]
# An adapter's step after an import was applied (agents: mail invitations), given the report and options.
Finisher = Callable[[ImportReport, ImportOptions], None]


class CannotExport(LookupError):
    """The kind's storage registered no export."""


class Imports:
    """The import use cases; reached as services.imports."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def read_options(self, kind_name: str, given: Mapping[str, object], *, is_recorded: bool = False) -> ImportOptions:
        """What a person gave for an import of this kind → its ImportOptions, the settings filling the rest.

        OptionInvalid names the option and says why, in the same words for every surface."""
        return read_options(self.services.kind(kind_name), given, self.services.settings, is_recorded=is_recorded)

    def import_file(
        self,
        kind_name: str,
        source: BinaryIO,
        *,
        file_name: str = "",
        actor: str = "",
        dry_run: bool = False,
        mapping: Mapping[str, str] | None = None,
        options: ImportOptions | Mapping[str, object] | None = None,
        defaults: Mapping[str, str] | None = None,
        all_or_nothing: bool | None = None,
        row_limit: int | None = None,
        progress: ProgressSink | None = None,
        job_id: int | None = None,
        should_stop: StopCheck | None = None,
    ) -> ImportReport:
        """Import one file of one kind as `options` say (see read_options; the settings for what they leave out).

        The adapters pass ImportOptions; code may pass the options as recorded (a mapping, with `defaults`,
        `all_or_nothing` and `row_limit` beside it, as a retry's arguments come), read the same way.
        `job_id` names a job recorded beforehand (a queued import); one an earlier run left unfinished is
        resumed. `should_stop` is asked between batches (see run_import)."""
        services = self.services
        kind = services.kind(kind_name)
        settings = services.settings
        if not isinstance(options, ImportOptions):
            given = {**(options or {}), "defaults": defaults, "all_or_nothing": all_or_nothing, "row_limit": row_limit}
            options = self.read_options(kind.name, given, is_recorded=True)
        retry = None if options.retry_of is None else services.store.retry_of(options.retry_of, retry_job=job_id)
        request = ImportRequest(
            kind=kind, file_name=file_name, actor=actor, is_dry_run=dry_run, chosen_mapping=dict(mapping or {}),
            defaults=dict(options.defaults), options=options, is_all_or_nothing=options.all_or_nothing,
            row_limit=options.row_limit, max_file_bytes=settings.max_file_bytes,
            batch_size=settings.batch_size, retry=retry,
        )
        factory = services.preparers.get(kind.name)
        prepare = None
        if factory is not None:  # a slow step inside each batch: it says how far it is, for the progress bar
            if job_id is None:
                job_id = start_job_here(request, services.store)
            shown_job = job_id
            display = at_most_every(REPORT_EVERY_SECONDS,
                                    lambda done, _total: services.store.record_progress(shown_job, done))
            progress, batch_progress = _with_batch_progress(progress, display)
            prepare = factory(batch_progress)
        report = run_import(request, source, services.store, job_id=job_id, prepare=prepare, progress=progress,
                            should_stop=should_stop)
        if not dry_run:
            self._announce(kind.name, report, wants_side_effects=options.side_effects)
        finisher = services.finishers.get(kind.name)
        if finisher is not None and not dry_run:
            finisher(report, options)
        services.notices.job_finished(report.job)  # e-mail and webhook of an ended import (none for a preview)
        return report

    def _announce(self, kind: str, report: ImportReport, *, wants_side_effects: bool) -> None:
        """Side effects of an applied import: records_imported once; record_imported per record only if asked."""
        hooks, store = self.services.hooks, self.services.store
        if hooks is None or report.job is None or report.status not in (Status.SUCCEEDED, Status.PARTIAL):
            return
        hooks.records_imported(kind=kind, job_id=report.job, created=report.created, updated=report.updated)
        if wants_side_effects and hooks.record_imported.get_hookimpls():
            for action, record_id in store.each_applied_record(report.job):
                hooks.record_imported(kind=kind, job_id=report.job, record_id=record_id, action=action)

    def export(self, kind_name: str) -> Exported:
        """Every record of a kind in its import format (headers, then rows streamed): re-importing it changes
        nothing. Its storage exports it (registered with the kind); agents' passwords are never exported."""
        kind = self.services.kind(kind_name)
        exporter = self.services.exporters.get(kind.name)
        if exporter is None:
            raise CannotExport(f"{kind.title.capitalize()} cannot be exported: their storage has no export.")
        return exporter()

    def template(self, kind_name: str) -> Iterable[str]:
        """The sample CSV of a kind, with the helpdesk's custom fields and labels."""
        kind = self.services.kind(kind_name)
        return template_csv(kind, self.services.store.load_catalog(kind.name))


def _with_batch_progress(progress: ProgressSink | None, display: ProgressSink) -> tuple[ProgressSink, ProgressSink]:
    """The import's sink, remembering where it is, and a sink for (rows of this batch prepared, rows in it),
    which tells both the caller's sink (a terminal) and the job's display progress (`display`) how far it is."""
    where = [0, 0]  # rows done, rows in all: as the pipeline last said

    def import_progress(done: int, total: int) -> None:
        where[:] = [done, total]
        if progress is not None:
            progress(done, total)

    def batch_progress(prepared: int, _batch_rows: int) -> None:
        for sink in (progress, display):
            if sink is not None:
                sink(where[0] + prepared, where[1])

    return import_progress, batch_progress
