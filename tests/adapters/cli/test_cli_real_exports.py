"""The command line imports real exports without --map, takes defaults for custom fields and columns to clear,
and `export customers` gives back what was imported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner, Result

from adapters.cli import cli
from tests.real_exports import (OUTLOOK_LABELS, QWIL_TEAMS, google_export, outlook_export, qwil_clients,
                                stored_as_expected)


class Cli:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = f"sqlite:///{folder}/contacts.db"

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", self.url, *args], catch_exceptions=False)

    def import_(self, text: str, *options: str, name: str = "export.csv") -> Result:
        path = self.folder / name
        path.write_text(text, encoding="utf-8")
        return self("import", "customers", str(path), *options)

    def exported(self) -> list[dict[str, str]]:
        result = self("export", "customers")
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(io.StringIO(result.stdout)))


def test_outlook_google_and_qwil_exports_import_without_a_mapping_and_export_back(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    assert run("labels", "add", *OUTLOOK_LABELS).exit_code == 0
    outlook, outlook_rows = outlook_export(200)
    google, google_rows = google_export(30)
    qwil, qwil_rows = qwil_clients(20)
    for text, extra in ((outlook, ()), (google, ("--create-labels",)), (qwil, ("--create-groups",))):
        result = run.import_(text, "--row-limit", "500", *extra)
        assert result.exit_code == 0, result.output
    exported = run.exported()
    assert stored_as_expected(exported, outlook_rows + google_rows + qwil_rows) == []
    labels = run("labels", "list").stdout
    assert "myContacts" not in labels and "starred" not in labels
    assert {row["groups"] for row in exported if row["groups"]} == set(QWIL_TEAMS)


def test_a_custom_field_default_and_columns_to_clear_on_the_command_line(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    assert run("fields", "add", "plan", "--type", "choice", "--choices", "gold,silver").exit_code == 0
    first = run.import_("email,first_name,phone,plan\nann@example.com,Ann,+44 20 7946 0958,\n"
                        "bo@example.com,Bo,,silver\n", "--default", "plan=gold")
    assert first.exit_code == 0, first.output
    assert {row["email"]: row["plan"] for row in run.exported()} == {"ann@example.com": "gold",
                                                                     "bo@example.com": "silver"}
    refused = run.import_("email,first_name\ncy@example.com,Cy\n", "--default", "plan=bronze")
    assert refused.exit_code == 2 and "Values for empty cells" in refused.output and "bronze" in refused.output

    dry = run.import_("email,first_name,phone,plan\nann@example.com,Ann,,\n", "--clear-empty", "phone,plan",
                      "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "phone: +442079460958 → (empty)" in dry.output and "plan: gold → (empty)" in dry.output
    cleared = run.import_("email,first_name,phone,plan\nann@example.com,Ann,,\n", "--clear-empty", "phone",
                          "--clear-empty", "plan")
    assert cleared.exit_code == 0, cleared.output
    ann = {row["email"]: row for row in run.exported()}["ann@example.com"]
    assert (ann["phone"], ann["plan"]) == ("", "")
    email = run.import_("email,first_name\nann@example.com,\n", "--clear-empty", "email")
    assert email.exit_code == 2 and "email is required and can never be cleared" in email.output


def test_template_fields_and_import_help_list_the_headers_each_field_takes(tmp_path: Path) -> None:
    run = Cli(tmp_path)
    listed = run("template", "customers", "--fields").stdout
    assert "labels: label, tags, tag, label names, group membership, categories" in listed
    assert "group identifier" in listed
    help_text = run("import", "--help").stdout
    assert "categories" in help_text and "group identifier" in help_text
