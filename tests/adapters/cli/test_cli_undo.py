"""`contact-importer job N --undo` and `job N --retry FILE`, through CliRunner on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.cli import cli
from tests.adapters.cli.test_cli import Cli


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_undo_dry_run_prints_each_record_and_changes_nothing(run: Cli) -> None:
    run.import_(b"email,first_name\nraj@example.org,Raj\n")
    job = run.import_json(b"email,first_name\nraj@example.org,Rajesh\nnew@example.com,New\n")["job"]
    result = run("job", str(job), "--undo", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "row 2 (id 1): restore (first_name: Rajesh → Raj)" in result.stdout
    assert "row 3 (id 2): remove" in result.stdout
    assert {row["email"] for row in run.export()} == {"raj@example.org", "new@example.com"}


def test_undo_asks_first_and_a_no_changes_nothing(run: Cli) -> None:
    job = run.import_json(b"email,first_name\nnew@example.com,New\n")["job"]
    refused = run.runner.invoke(cli,
                                ["--database-url", run.url, "job", str(job), "--undo"], input="n\n")
    assert refused.exit_code == 1 and "Undo import" in refused.output
    assert len(run.export()) == 1
    done = run.runner.invoke(cli,
                             ["--database-url", run.url, "job", str(job), "--undo"], input="y\n")
    assert done.exit_code == 0, done.output
    assert run.export() == []


def test_undo_with_yes_and_json_prints_one_object_and_refuses_a_second_undo(run: Cli) -> None:
    run.import_(b"email,first_name\nraj@example.org,Raj\n")
    job = run.import_json(b"email,first_name\nraj@example.org,Rajesh\nnew@example.com,New\n")["job"]
    result = run("job", str(job), "--undo", "--yes", "--json")
    document = json.loads(result.stdout)
    assert (document["job"], document["removed"], document["restored"], document["skipped"]) == (job, 1, 1, 0)
    assert [record["action"] for record in document["records"]] == ["restore", "remove"]
    assert [row["first_name"] for row in run.export()] == ["Raj"]
    again = run("job", str(job), "--undo", "--yes")
    assert again.exit_code == 1 and f"was undone already, by job {document['undo_job']}" in again.output
    history = json.loads(run("jobs", "--json").stdout)
    assert history[0]["file"] == f"undo of import {job}"
    assert f"the undo of import {job}" in run("job", str(document["undo_job"])).stdout


def test_retry_imports_the_fixed_error_report_under_the_original_rows(run: Cli) -> None:
    first = run.import_json(b"email,first_name\nok@example.com,Ok\nbad@,Bad\nworse@,Worse\n")
    assert [error["row"] for error in first["errors"]] == [3, 4]
    report = run("job", str(first["job"]), "--errors").stdout
    fixed = run.file("fixed.csv", report.replace("bad@,", "bad@example.com,").encode())
    result = run("job", str(first["job"]), "--retry", fixed, "--json")
    document = json.loads(result.stdout)
    assert result.exit_code == 1  # row 4 still fails
    assert (document["created"], document["failed"], document["retry_of"]) == (1, 1, first["job"])
    assert [error["row"] for error in document["errors"]] == [4]
    assert {row["email"] for row in run.export()} == {"ok@example.com", "bad@example.com"}
    shown = run("job", str(document["job"]))
    assert f"a retry of import {first['job']}" in shown.stdout
    assert json.loads(run("job", str(document["job"]), "--json").stdout)["retry_of"] == first["job"]


def test_retry_refuses_a_file_with_rows_that_did_not_fail(run: Cli) -> None:
    first = run.import_json(b"email,first_name\nok@example.com,Ok\nbad@,Bad\n")
    fixed = run.file("fixed.csv", b"email,first_name,row,column,message\nok@example.com,Ok,2,email,x\n")
    result = run("job", str(first["job"]), "--retry", fixed)
    assert result.exit_code == 2
    assert "Row 2 was not a failed row of import" in result.output


def test_an_undo_shows_as_an_undo_in_jobs_and_job_with_its_own_counts(run: Cli) -> None:
    run.import_(b"email,first_name\nraj@example.org,Raj\n")
    job = run.import_json(b"email,first_name\nraj@example.org,Rajesh\nnew@example.com,New\n")["job"]
    undo_job = json.loads(run("job", str(job), "--undo", "--yes", "--json").stdout)["undo_job"]
    listed = {entry["job"]: entry for entry in json.loads(run("jobs", "--json").stdout)}[undo_job]
    assert (listed["operation"], listed["undo_of"], listed["removed"], listed["restored"], listed["left_alone"]) == (
        "undo", job, 1, 1, 0)
    assert "created" not in listed and listed["message"] == f"Undid import {job}: 1 removed, 1 restored, 0 left alone"
    assert listed["actor"]  # who undid it
    assert json.loads(run("jobs", "--json").stdout)[1]["operation"] == "import"
    table = run("jobs").stdout
    assert "undo: 1 removed, 1 restored, 0 left alone" in table
    shown = run("job", str(undo_job)).stdout
    assert shown.startswith(f"Undo {undo_job}: customers, the undo of import {job}, by ")
    assert f"Undid import {job}: 1 removed, 1 restored, 0 left alone" in shown
    assert "Imported" not in shown and "created" not in shown
    assert f"Import {job} was undone already, by job {undo_job} (succeeded)." in run("job", str(job)).stdout
    document = json.loads(run("job", str(undo_job), "--json").stdout)
    assert (document["operation"], document["removed"], document["restored"], document["left_alone"]) == (
        "undo", 1, 1, 0)


def test_undo_output_shows_labels_as_names_never_python_reprs(run: Cli) -> None:
    run.import_(b"email,first_name,labels\nraj@example.org,Raj,\n")
    job = run.import_json(b"email,first_name,labels\nraj@example.org,Raj,Demo:Trial\n", "--create-labels")["job"]
    dry = run("job", str(job), "--undo", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "row 2 (id 1): restore (labels: Demo, Trial → (empty))" in dry.stdout
    done = run("job", str(job), "--undo", "--yes")
    for output in (dry.stdout, done.stdout, run("job", str(job + 1)).stdout, run("jobs").stdout):
        assert "frozenset" not in output and "[" not in output and "'" not in output
    assert run.customers()["raj@example.org"]["labels"] == ""


def test_a_dry_run_prints_changed_values_as_people_read_them(run: Cli) -> None:
    run.import_(b"email,first_name,labels\nraj@example.org,Raj,Demo\n", "--create-labels")
    result = run.import_(b"email,first_name,labels\nraj@example.org,,Demo:Trial\n", "--create-labels", "--dry-run")
    assert "row 2: updated (labels: Demo → Demo, Trial)" in result.stdout
    assert "[" not in result.stdout and "'" not in result.stdout
