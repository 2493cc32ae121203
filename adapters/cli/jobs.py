"""jobs and job: the history, one import, its error report, its undo and its retry."""

from __future__ import annotations

import getpass
import json
from datetime import datetime, timezone
from pathlib import Path

import click

from adapters.cli.context import echo_csv, exit_for, services_of, terminal_progress
from adapters.cli.imports import echo_row_results, render_report
from plugin.ports import JobSummary
from plugin.report import Status
from plugin.services import Services
from plugin.services.undo import ADMIN, Actor
from plugin.undo import UndoAction, UndoRefused


def cli_actor() -> Actor:
    """Whoever runs the CLI holds the database itself: an admin, recorded under their login name."""
    return Actor(getpass.getuser(), ADMIN, is_notified=False)


@click.command("jobs")
@click.option("--limit", default=20, show_default=True, help="How many of the latest imports.")
@click.option("--previews", is_flag=True, help="List previews (dry runs) too; they are not imports.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def jobs_command(context: click.Context, limit: int, previews: bool, as_json: bool) -> None:
    """Past imports and undos, newest first: who, when, file, counts and status (previews with --previews)."""
    jobs = services_of(context).history.list_jobs(limit=limit, previews=previews)
    if as_json:
        click.echo(json.dumps([_job_dict(job) for job in jobs], default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("job", "kind", "status", "who", "when", "file", "rows", "created", "updated", "unchanged", "failed")
    for job in jobs:
        counts = ([f"undo: {job.undone.summary()}", "", "", ""] if job.is_undo else
                  [str(job.created), str(job.updated), str(job.unchanged), str(job.failed)])
        table.add_row(str(job.id), job.kind, job.status, job.actor, f"{job.created_at:%Y-%m-%d %H:%M}", job.file_name,
                      str(job.rows_done), *counts)
    Console(width=160).print(table)


def _job_dict(job: JobSummary) -> dict[str, object]:
    if job.is_undo:
        counts: dict[str, object] = dict(job.undone.as_dict())
    else:
        counts = {"created": job.created, "updated": job.updated, "unchanged": job.unchanged, "failed": job.failed}
    return {"job": job.id, "kind": job.kind, "operation": job.operation, "status": job.status, "actor": job.actor,
            "file": job.file_name, "created_at": job.created_at, "finished_at": job.finished_at,
            "rows": job.rows_done, "total": job.total, **counts, "message": job.message,
            **{link: job.options[link] for link in ("retry_of", "undo_of") if link in job.options}}


@click.command("job")
@click.argument("job_id", type=int)
@click.option("--errors", is_flag=True, help="Print the error report CSV: original columns, row, column, message.")
@click.option("--json", "as_json", is_flag=True, help="Print the job (or the undo, or the retry) as one JSON object.")
@click.option("--undo", is_flag=True, help="Undo the import: remove what it created, put back what it updated.")
@click.option("--dry-run", is_flag=True, help="With --undo or --retry: say what would happen per record; change nothing.")
@click.option("--yes", is_flag=True, help="With --undo: do not ask for confirmation.")
@click.option("--retry", "retry_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Import a fixed copy of the error report: only the failed rows, under their original numbers.")
@click.pass_context
def job_command(context: click.Context, job_id: int, errors: bool, as_json: bool, undo: bool, dry_run: bool,
                yes: bool, retry_file: Path | None) -> None:
    """One past import; with --errors its error report, with --undo its undo, with --retry FILE a retry."""
    services = services_of(context)
    job = services.history.get_job(job_id)
    if job is None:
        raise click.ClickException(f"There is no import {job_id}; `contact-importer jobs` lists them.")
    if undo and retry_file is not None:
        raise click.UsageError("Give --undo or --retry, not both.")
    if dry_run and not (undo or retry_file is not None):
        raise click.UsageError("--dry-run goes with --undo or --retry.")
    if undo:
        _undo_job(context, services, job_id, dry_run=dry_run, yes=yes, as_json=as_json)
        return
    if retry_file is not None:
        _retry_job(context, services, job, retry_file, dry_run=dry_run, as_json=as_json)
        return
    if errors:
        echo_csv(services.history.error_report(job_id))
        return
    if as_json:
        click.echo(json.dumps(_job_dict(job), default=str))
        return
    if job.is_undo:
        click.echo(f"Undo {job.id}: {job.kind}, {job.origin}, by {job.actor or '-'}, {job.status}")
        click.echo(f"  {job.undo_summary}")
        return
    click.echo(f"Import {job.id}: {job.kind} from {job.file_name or '-'} by {job.actor or '-'}, {job.status}")
    if job.origin:
        click.echo(f"  {job.origin}")
    if job.status in (Status.RUNNING, Status.CHECKING):  # the same line as the progress bar's
        click.echo(f"  {job.progress(now=datetime.now(timezone.utc), is_finished=False).text}")
    click.echo(f"  {job.rows_done:,} of {job.total:,} rows: {job.created:,} created, {job.updated:,} updated, "
               f"{job.unchanged:,} unchanged, {job.failed:,} failed")
    if job.message:
        click.echo(f"  {job.message}")
    refusal = services.undo.refusal(job.id, cli_actor())
    if refusal is not None and refusal.code == "undo.already":
        click.echo(f"  {refusal.message}")


def _undo_job(context: click.Context, services: Services, job_id: int, *, dry_run: bool, yes: bool,
              as_json: bool) -> None:
    try:
        if not dry_run and not yes:
            preview = services.undo.undo(job_id, cli_actor(), dry_run=True)
            click.echo(preview.summary(), err=True)
            click.confirm(f"Undo import {job_id}?", abort=True, err=True)
        result = services.undo.undo(job_id, cli_actor(), dry_run=dry_run)
    except UndoRefused as refused:
        raise click.ClickException(refused.message) from refused
    if as_json:
        click.echo(json.dumps(result.as_dict(), default=str))
        return
    click.echo(result.summary() + (f" (job {result.undo_job})" if result.undo_job else ""))
    for step in result.steps:
        if dry_run or step.action is not UndoAction.REMOVE or step.notes:
            click.echo(f"  {step.describe()}")


def _retry_job(context: click.Context, services: Services, job: JobSummary, retry_file: Path, *, dry_run: bool,
               as_json: bool) -> None:
    with retry_file.open("rb") as source:
        report = services.undo.retry(job.id, cli_actor(), source, file_name=retry_file.name, dry_run=dry_run,
                                     progress=terminal_progress())
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "retry_of": job.id}, default=str))
    else:
        click.echo(render_report(report, services.kind(job.kind).title), err=report.status in (Status.REJECTED, Status.FAILED))
        if report.status is Status.DRY_RUN and report.job is not None:
            echo_row_results(services, report.job)
    exit_for(context, report)




COMMANDS = (jobs_command, job_command)
