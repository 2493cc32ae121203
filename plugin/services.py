"""The use cases the edges call: the CLI, the web blueprint and the job worker all come through here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from typing import BinaryIO

from plugin.kinds import ImportKind
from plugin.pipeline import ImportRequest, PrepareBatch, run_import
from plugin.ports import ImportStore, PasswordHasher, ProgressSink, StopCheck
from plugin.report import ImportReport, Status
from plugin.settings import Settings
from plugin.template import template_csv

# Builds a kind's last step before writing (agents: hash passwords), given where its progress goes:
# (rows of the current batch prepared so far, rows in that batch).
PreparerFactory = Callable[[ProgressSink | None], PrepareBatch]
# An adapter's step after an import was applied (agents: mail invitations), given the report and options.
Finisher = Callable[[ImportReport, Mapping[str, object]], None]


class UnknownKind(LookupError):
    """No import kind has that name."""


@dataclass
class Services:
    """The importer's use cases over one store and one set of settings."""

    settings: Settings
    store: ImportStore
    kinds: Mapping[str, ImportKind]
    preparers: dict[str, PreparerFactory] = field(default_factory=dict)
    finishers: dict[str, Finisher] = field(default_factory=dict)
    hasher: PasswordHasher | None = None
    hooks: Any = None  # the plugin manager's hook relay: records_imported, record_imported

    def kind(self, name: str) -> ImportKind:
        aliases = {"agents": "users", "customer": "customers", "user": "users", "agent": "users", "company": "companies"}
        found = self.kinds.get(name) or self.kinds.get(aliases.get(name, ""))
        if found is None:
            raise UnknownKind(f"There is no import kind {name!r}; there are: {', '.join(sorted(self.kinds))}.")
        return found

    def import_file(
        self,
        kind_name: str,
        source: BinaryIO,
        *,
        file_name: str = "",
        actor: str = "",
        dry_run: bool = False,
        mapping: Mapping[str, str] | None = None,
        defaults: Mapping[str, str] | None = None,
        options: Mapping[str, object] | None = None,
        all_or_nothing: bool | None = None,
        row_limit: int | None = None,
        progress: ProgressSink | None = None,
        job_id: int | None = None,
        should_stop: StopCheck | None = None,
    ) -> ImportReport:
        """Import one file of one kind, with settings as the defaults for every option not given.

        `job_id` names a job recorded beforehand (a queued import); one an earlier run left unfinished is
        resumed. `should_stop` is asked between batches (see run_import)."""
        kind = self.kind(kind_name)
        settings = self.settings
        merged: dict[str, object] = {"create_labels": settings.create_labels, "replace_labels": settings.replace_labels,
                                     "default_labels": tuple(settings.default_labels),
                                     "password_min_length": settings.password_min_length,
                                     "region": settings.default_region}
        if settings.free_mail_domains:
            merged["free_mail_domains"] = tuple(settings.free_mail_domains)
        merged.update({name: value for name, value in (options or {}).items() if value is not None})
        retry_of = merged.get("retry_of")  # a fixed error report of that import: its failed rows, under their numbers
        retry = None if retry_of is None else self.store.retry_of(int(retry_of), retry_job=job_id)  # type: ignore[call-overload]
        request = ImportRequest(
            kind=kind, file_name=file_name, actor=actor, is_dry_run=dry_run, chosen_mapping=dict(mapping or {}),
            defaults=dict(defaults or {}), options=merged,
            is_all_or_nothing=settings.all_or_nothing if all_or_nothing is None else all_or_nothing,
            row_limit=row_limit or settings.row_limit, max_file_bytes=settings.max_file_bytes,
            batch_size=settings.batch_size, retry=retry,
        )
        factory = self.preparers.get(kind.name)
        prepare = None
        if factory is not None:
            progress, batch_progress = _with_batch_progress(progress)
            prepare = factory(batch_progress)
        report = run_import(request, source, self.store, job_id=job_id, prepare=prepare, progress=progress,
                            should_stop=should_stop)
        if not dry_run:
            self._announce(kind.name, report, wants_side_effects=bool(merged.get("side_effects",
                                                                                 settings.import_side_effects)))
        finisher = self.finishers.get(kind.name)
        if finisher is not None and not dry_run:
            finisher(report, merged)
        return report

    def _announce(self, kind: str, report: ImportReport, *, wants_side_effects: bool) -> None:
        """Side effects of an applied import: records_imported once; record_imported per record only if asked."""
        if self.hooks is None or report.job is None or report.status not in (Status.SUCCEEDED, Status.PARTIAL):
            return
        self.hooks.records_imported(kind=kind, job_id=report.job, created=report.created, updated=report.updated)
        if wants_side_effects and self.hooks.record_imported.get_hookimpls():
            for action, record_id in self.store.each_applied_record(report.job):
                self.hooks.record_imported(kind=kind, job_id=report.job, record_id=record_id, action=action)

    def import_customers(self, source: BinaryIO, **options: object) -> ImportReport:
        """Import customers; a matching email (any case) updates the existing customer."""
        return self.import_file("customers", source, **options)  # type: ignore[arg-type]

    def template(self, kind_name: str) -> Iterable[str]:
        """The sample CSV of a kind, with the helpdesk's custom fields and labels."""
        kind = self.kind(kind_name)
        return template_csv(kind, self.store.load_catalog(kind.name))


def _with_batch_progress(progress: ProgressSink | None) -> tuple[ProgressSink | None, ProgressSink | None]:
    """The import's sink, remembering where it is, and a sink for (rows of this batch prepared, rows in it)."""
    if progress is None:
        return None, None
    where = [0, 0]  # rows done, rows in all: as the pipeline last said

    def import_progress(done: int, total: int) -> None:
        where[:] = [done, total]
        progress(done, total)

    def batch_progress(prepared: int, _batch_rows: int) -> None:
        progress(where[0] + prepared, where[1])

    return import_progress, batch_progress
