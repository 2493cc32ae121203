"""Leads through the command line: template, import and export, as customers; export goes through one use case."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner, Result

from adapters.cli import cli


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--database-url", url, *args], catch_exceptions=False)


def test_leads_have_a_template_an_import_and_an_export(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'contacts.db'}"
    template = run(url, "template", "leads")
    assert template.exit_code == 0 and template.output.splitlines()[0] == run(url, "template", "customers").output.splitlines()[0]
    source = tmp_path / "leads.csv"
    source.write_text("Email,First Name,Company\nlea@example.com,Lea,\nmo@example.com,Mo,\n")
    imported = run(url, "import", "leads", str(source))
    assert imported.exit_code == 0, imported.output
    exported = list(csv.DictReader(io.StringIO(run(url, "export", "leads").output)))
    assert [row["email"] for row in exported] == ["lea@example.com", "mo@example.com"]
    assert list(csv.DictReader(io.StringIO(run(url, "export", "customers").output))) == []
    later = tmp_path / "customers.csv"
    later.write_text("email,last_name\nmo@example.com,Moss\n")
    assert run(url, "import", "customers", str(later)).exit_code == 0
    customers = list(csv.DictReader(io.StringIO(run(url, "export", "customers").output)))
    assert [(row["id"], row["email"], row["last_name"]) for row in customers] == [
        (exported[1]["id"], "mo@example.com", "Moss")]  # the same record


def test_export_of_an_unknown_kind_names_the_kinds_there_are(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{tmp_path / 'c.db'}", "export", "tickets"])
    assert result.exit_code == 2 and "There is no import kind 'tickets'" in result.output and "leads" in result.output
