"""The contact-importer command, driven through click's CliRunner on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters.bootstrap import bootstrap
from adapters.cli import cli
from plugin.mapping import ColumnMapping
from plugin.settings import load_settings

REPORT_KEYS = {"job", "kind", "status", "rows", "created", "updated", "unchanged", "failed", "errors"}


class Cli:
    """Runs commands against one SQLite file, and writes the CSV files they import."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = f"sqlite:///{folder}/contacts.db"
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(cli, ["--database-url", self.url, *args], catch_exceptions=False)

    def file(self, name: str, data: bytes) -> str:
        path = self.folder / name
        path.write_bytes(data)
        return str(path)

    def import_(self, data: bytes, *options: str, name: str = "customers.csv") -> Result:
        return self("import", "customers", self.file(name, data), *options)

    def import_json(self, data: bytes, *options: str) -> dict:  # type: ignore[type-arg]
        result = self.import_(data, "--json", *options)
        return json.loads(result.stdout)

    def export(self) -> list[dict[str, str]]:
        result = self("export", "customers")
        assert result.exit_code == 0, result.output
        return list(csv.DictReader(io.StringIO(result.stdout)))

    def customers(self) -> dict[str, dict[str, str]]:
        return {row["email"]: row for row in self.export()}


@pytest.fixture
def run(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


# ---- the catalog commands and the template


def test_the_template_has_a_header_and_two_example_rows(run: Cli) -> None:
    rows = list(csv.reader(io.StringIO(ok(run("template", "customers")))))
    assert rows[0] == ["email", "first_name", "last_name", "middle_name", "username", "phone", "mobile", "company",
                       "company_id", "labels", "labels_id", "groups", "active", "type", "created_at", "external_id",
                       "external_source"]
    assert len(rows) == 3
    assert rows[1][0] == "jane.doe@example.com"


def test_the_template_has_a_column_per_custom_field(run: Cli) -> None:
    ok(run("fields", "add", "plan", "--type", "choice", "--choices", "gold,silver,bronze"))
    ok(run("fields", "add", "renewal", "--type", "date"))
    header, first, second = csv.reader(io.StringIO(ok(run("template", "customers"))))
    assert header[-2:] == ["plan", "renewal"]
    assert (first[-2:], second[-2:]) == (["gold", "2026-01-31"], ["bronze", "2026-12-01"])


def test_the_template_imports_cleanly_once_its_labels_and_company_exist(run: Cli) -> None:
    ok(run("labels", "add", "Marketing", "Trial", "Demo"))
    ok(run("companies", "add", "Acme Ltd"))
    ok(run("fields", "add", "plan", "--type", "choice", "--choices", "gold,silver,bronze"))
    template = ok(run("template", "customers")).encode()
    report = run.import_json(template)
    assert (report["status"], report["created"], report["failed"]) == ("succeeded", 2, 0)


def test_labels_add_prints_each_labels_id(run: Cli) -> None:
    lines = ok(run("labels", "add", "Marketing", "Trial")).splitlines()
    assert [line.split("\t")[1] for line in lines] == ["Marketing", "Trial"]
    assert ok(run("labels", "list")).splitlines() == sorted(lines, key=lambda line: line.split("\t")[1])


def test_fields_add_with_choices_is_listed(run: Cli) -> None:
    ok(run("fields", "add", "plan", "--type", "choice", "--choices", "gold, silver ,bronze"))
    assert ok(run("fields", "list")).splitlines() == ["1\tplan\tchoice\tgold,silver,bronze\tcustomers"]


def test_a_choice_field_without_choices_is_refused(run: Cli) -> None:
    result = run("fields", "add", "plan", "--type", "choice")
    assert result.exit_code == 1
    assert "A choice field needs its choices" in result.stderr


def test_companies_add_prints_the_new_companys_id(run: Cli) -> None:
    assert ok(run("companies", "add", "Acme Ltd")) == "1\n"
    assert ok(run("companies", "add", "Globex")) == "2\n"
    assert ok(run("companies", "list")).splitlines() == ["1\tAcme Ltd", "2\tGlobex"]


# ---- importing

PEOPLE = (b"email,first_name,last_name\r\n"
          b"jane@example.com,Jane,Doe\r\n"
          b"raj@example.org,Raj,Patel\r\n")


def test_a_dry_run_changes_nothing_and_prints_each_rows_fate(run: Cli) -> None:
    ok(run.import_(b"email,first_name\r\nraj@example.org,Raj\r\n"))
    result = run.import_(b"email,first_name\r\njane@example.com,Jane\r\nraj@example.org,Rajesh\r\nbad,X\r\n",
                         "--dry-run")
    assert result.exit_code == 1, result.output  # a row would fail
    lines = result.stdout.splitlines()
    assert lines[0] == "Import 2 (customers, dry-run): Would import 2 customers: 1 created, 1 updated, 0 unchanged, 1 failed"
    assert lines[-3:] == ["  row 2: created (jane@example.com)", "  row 3: updated (first_name: Raj → Rajesh)",
                          "  row 4: failed (email.invalid)"]
    assert set(run.customers()) == {"raj@example.org"}
    assert run.customers()["raj@example.org"]["first_name"] == "Raj"


def test_a_dry_run_on_an_empty_database_leaves_it_without_customers(run: Cli) -> None:
    ok(run.import_(PEOPLE, "--dry-run"))
    assert run.export() == []


def test_json_prints_exactly_one_object_with_the_documented_keys(run: Cli) -> None:
    result = run.import_(b"email,first_name\r\njane@example.com,Jane\r\nnot-an-email,X\r\n", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # fails unless stdout is one JSON document
    assert REPORT_KEYS <= set(report)
    assert {key: report[key] for key in REPORT_KEYS - {"errors"}} == {
        "job": 1, "kind": "customers", "status": "partial", "rows": 2, "created": 1, "updated": 0, "unchanged": 0,
        "failed": 1}
    (error,) = report["errors"]
    assert set(error) == {"row", "column", "code", "message"}
    assert (error["row"], error["column"], error["code"]) == (3, "email", "email.invalid")


def test_every_row_applied_exits_0(run: Cli) -> None:
    result = run.import_(PEOPLE)
    assert result.exit_code == 0
    assert "Imported 2 customers: 2 created, 0 updated, 0 unchanged, 0 failed" in result.stdout


def test_some_rows_failed_exits_1_and_applies_the_rest(run: Cli) -> None:
    result = run.import_(PEOPLE + b"broken,Nobody,\r\n")
    assert result.exit_code == 1
    assert "row 4, column email:" in result.stdout
    assert set(run.customers()) == {"jane@example.com", "raj@example.org"}


@pytest.mark.parametrize(
    ("data", "options", "code"),
    [
        (b"", (), "file.empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64, (), "file.workbook_corrupt"),  # an .xlsx's first bytes only
        (PEOPLE + b"zoe@example.com,Zoe,Ng\r\n", ("--row-limit", "2"), "file.too_many_rows"),
        (b"first_name,last_name\r\nJane,Doe\r\n", (), "file.no_email_column"),
        (PEOPLE, ("--map", "Phone=email"), "mapping.unknown_column"),
    ],
    ids=["empty", "workbook", "too-many-rows", "no-email-column", "bad-map"],
)
def test_a_rejected_file_exits_2_and_writes_nothing(run: Cli, data: bytes, options: tuple[str, ...], code: str) -> None:
    result = run.import_(data, "--json", *options)
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert (report["status"], report["code"], report["rows"]) == ("rejected", code, 0)
    assert run.export() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "customers", "{file}", "--map", "no equals sign"), "--map takes 'CSV header=field'"),
        (("import", "customers", "{file}", "--default", "first_name"), "takes FIELD=VALUE"),
        (("import", "custmers", "{file}"), "There is no import kind 'custmers'"),
    ],
)
def test_a_mistyped_command_exits_2_not_1_and_imports_nothing(run: Cli, args: tuple[str, ...], message: str) -> None:
    path = run.file("customers.csv", PEOPLE)
    result = run(*(arg.format(file=path) for arg in args))
    assert result.exit_code == 2
    assert message in result.stderr
    assert json.loads(ok(run("jobs", "--json"))) == []


def test_a_rejected_file_is_explained_on_stderr(run: Cli) -> None:
    result = run.import_(b"PK\x03\x04" + b"\x00" * 64)
    assert result.exit_code == 2
    assert "damaged or incomplete: open it in Excel and save it again" in result.stderr


def test_jobs_lists_the_imports_newest_first(run: Cli) -> None:
    ok(run.import_(PEOPLE, name="first.csv"))
    run.import_(b"", name="empty.csv")
    ok(run.import_(PEOPLE, "--dry-run", name="again.csv"))
    jobs = json.loads(ok(run("jobs", "--json", "--previews")))
    assert [(job["job"], job["file"], job["status"], job["created"]) for job in jobs] == [
        (3, "again.csv", "dry-run", 0), (2, "empty.csv", "rejected", 0), (1, "first.csv", "succeeded", 2)]
    table = ok(run("jobs"))  # a preview is no import: listed only with --previews
    assert "first.csv" in table and "empty.csv" in table and "dry-run" not in table


def test_the_error_report_numbers_rows_as_a_spreadsheet_does_and_neutralises_formulas(run: Cli) -> None:
    data = (b"email,first_name,last_name\r\n"
            b'ok@example.com,Ok,"two\r\nlines"\r\n'  # row 2, spanning two lines
            b"bad,=HYPERLINK(\"http://x\"),Doe\r\n"  # row 3
            b"\r\n"  # row 4, blank
            b"fine@example.com,Fine,\r\n"  # row 5
            b"worse,Zoe,@SUM(1)\r\n")  # row 6
    assert run.import_(data).exit_code == 1
    report = list(csv.reader(io.StringIO(ok(run("job", "1", "--errors")))))
    assert report[0] == ["email", "first_name", "last_name", "row", "column", "message"]
    assert [(line[3], line[4]) for line in report[1:]] == [("3", "email"), ("3", "first_name"), ("6", "email"),
                                                          ("6", "last_name")]
    assert report[1][:3] == ["bad", "'=HYPERLINK(\"http://x\")", "Doe"]
    assert report[3][:3] == ["worse", "Zoe", "'@SUM(1)"]


def test_an_unknown_job_is_an_error(run: Cli) -> None:
    result = run("job", "42")
    assert result.exit_code == 1
    assert "There is no import 42" in result.stderr


def test_an_exported_file_imports_back_unchanged(run: Cli) -> None:
    ok(run("labels", "add", "Marketing", "Trial"))
    ok(run("companies", "add", "Acme Ltd"))
    ok(run("fields", "add", "plan", "--type", "choice", "--choices", "gold,silver"))
    ok(run("fields", "add", "seats", "--type", "number"))
    ok(run.import_(b"email,first_name,last_name,company_id,labels,plan,seats\r\n"
                   b"jane@example.com,Jane,Doe,1,Marketing:Trial,gold,3.50\r\n"
                   b"Raj@Example.org,Raj,,,,,\r\n"
                   b"ann@example.com,Ann,\"O'Neil, Jr\",,Trial,silver,-2\r\n"))
    exported = ok(run("export", "customers")).encode()
    report = run.import_json(exported)
    assert {key: report[key] for key in ("status", "rows", "created", "updated", "unchanged", "failed")} == {
        "status": "succeeded", "rows": 3, "created": 0, "updated": 0, "unchanged": 3, "failed": 0}


def test_an_exported_file_can_change_an_email_through_the_id_column(run: Cli) -> None:
    ok(run.import_(PEOPLE))
    exported = ok(run("export", "customers")).replace("jane@example.com", "jane.doe@example.net").encode()
    report = run.import_json(exported)
    assert (report["updated"], report["unchanged"]) == (1, 1)
    assert set(run.customers()) == {"jane.doe@example.net", "raj@example.org"}


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(run: Cli) -> None:
    result = run.import_(PEOPLE + b"broken,Nobody,\r\n", "--all-or-nothing", "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert (report["status"], report["failed"], report["errors"][0]["row"]) == ("rejected", 1, 4)
    assert run.export() == []


def test_all_or_nothing_applies_everything_when_every_row_is_good(run: Cli) -> None:
    assert run.import_(PEOPLE, "--all-or-nothing").exit_code == 0
    assert set(run.customers()) == {"jane@example.com", "raj@example.org"}


def test_an_unknown_label_is_a_row_error(run: Cli) -> None:
    report = run.import_json(b"email,first_name,labels\r\njane@example.com,Jane,VIP\r\n")
    assert [(error["row"], error["column"], error["code"]) for error in report["errors"]] == [
        (2, "labels", "labels.unknown")]
    assert ok(run("labels", "list")) == ""


def test_create_labels_creates_unknown_labels(run: Cli) -> None:
    ok(run.import_(b"email,first_name,labels\r\njane@example.com,Jane,VIP:Trial\r\n", "--create-labels"))
    assert run.customers()["jane@example.com"]["labels"] == "Trial:VIP"
    assert [line.split("\t")[1] for line in ok(run("labels", "list")).splitlines()] == ["Trial", "VIP"]


def test_labels_are_added_on_update_or_replaced_when_asked(run: Cli) -> None:
    ok(run("labels", "add", "Marketing", "Trial", "Demo"))
    ok(run.import_(b"email,first_name,labels\r\njane@example.com,Jane,Marketing\r\n"))
    ok(run.import_(b"email,labels\r\njane@example.com,Trial\r\n"))
    assert run.customers()["jane@example.com"]["labels"] == "Marketing:Trial"
    ok(run.import_(b"email,labels\r\njane@example.com,Demo\r\n", "--replace-labels"))
    assert run.customers()["jane@example.com"]["labels"] == "Demo"


def test_a_default_fills_empty_cells(run: Cli) -> None:
    ok(run.import_(b"email,first_name\r\njane@example.com,\r\nraj@example.org,Raj\r\n", "--default", "first_name=Friend"))
    assert {email: row["first_name"] for email, row in run.customers().items()} == {
        "jane@example.com": "Friend", "raj@example.org": "Raj"}


def test_a_default_for_an_unknown_field_rejects_the_file(run: Cli) -> None:
    result = run.import_(PEOPLE, "--json", "--default", "colour=blue")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["code"] == "defaults.unknown_field"


def test_a_default_label_is_given_to_every_imported_customer(run: Cli) -> None:
    ok(run("labels", "add", "Imported", "Trial"))
    ok(run.import_(b"email,first_name,labels\r\njane@example.com,Jane,Trial\r\nraj@example.org,Raj,\r\n",
                   "--default-label", "Imported"))
    assert {email: row["labels"] for email, row in run.customers().items()} == {
        "jane@example.com": "Imported:Trial", "raj@example.org": "Imported"}


def test_an_email_in_another_case_updates_the_same_customer(run: Cli) -> None:
    ok(run.import_(b"email,first_name\r\njane@example.com,Jane\r\n"))
    report = run.import_json(b"email,first_name\r\nJANE@EXAMPLE.COM,Janet\r\n")
    assert (report["created"], report["updated"]) == (0, 1)
    (jane,) = run.export()
    assert (jane["id"], jane["email"].lower(), jane["first_name"]) == ("1", "jane@example.com", "Janet")


def test_custom_values_are_updated_or_added_and_an_empty_cell_never_erases_one(run: Cli) -> None:
    ok(run("fields", "add", "plan", "--type", "choice", "--choices", "gold,silver"))
    ok(run("fields", "add", "seats", "--type", "number"))
    ok(run.import_(b"email,first_name,last_name,plan\r\njane@example.com,Jane,Doe,gold\r\n"))
    report = run.import_json(b"email,first_name,last_name,plan,seats\r\njane@example.com,,,silver,12\r\n")
    assert report["updated"] == 1
    jane = run.customers()["jane@example.com"]
    assert (jane["first_name"], jane["last_name"], jane["plan"], jane["seats"]) == ("Jane", "Doe", "silver", "12")
    report = run.import_json(b"email,first_name,last_name,plan,seats\r\njane@example.com,,,,\r\n")
    assert report["unchanged"] == 1
    jane = run.customers()["jane@example.com"]
    assert (jane["first_name"], jane["last_name"], jane["plan"], jane["seats"]) == ("Jane", "Doe", "silver", "12")


def test_a_bad_custom_value_is_a_row_error(run: Cli) -> None:
    ok(run("fields", "add", "plan", "--type", "choice", "--choices", "gold,silver"))
    report = run.import_json(b"email,first_name,plan\r\njane@example.com,Jane,platinum\r\n")
    assert [(error["row"], error["column"], error["code"]) for error in report["errors"]] == [
        (2, "plan", "custom.not_a_choice")]


def test_an_unknown_company_id_is_a_row_error(run: Cli) -> None:
    ok(run("companies", "add", "Acme Ltd"))
    report = run.import_json(b"email,first_name,company_id\r\njane@example.com,Jane,1\r\nraj@example.org,Raj,7\r\n")
    assert [(error["row"], error["column"], error["code"]) for error in report["errors"]] == [
        (3, "company_id", "company_id.unknown")]
    assert run.customers()["jane@example.com"]["company_id"] == "1"


def test_the_same_email_twice_applies_the_first_row_only(run: Cli) -> None:
    report = run.import_json(b"email,first_name\r\njane@example.com,Jane\r\nJane@Example.com,Janet\r\n")
    assert (report["created"], report["failed"]) == (1, 1)
    assert "duplicate of row 2" in report["errors"][0]["message"]
    assert run.customers()["jane@example.com"]["first_name"] == "Jane"


def test_a_cp1252_file_with_semicolons_imports_accented_names(run: Cli) -> None:
    ok(run.import_("email;first_name;last_name\r\nzoe@example.com;Zoë;Müller\r\n".encode("cp1252")))
    zoe = run.customers()["zoe@example.com"]
    assert (zoe["first_name"], zoe["last_name"]) == ("Zoë", "Müller")


def test_outlook_headers_map_without_help_and_unused_columns_are_listed(run: Cli) -> None:
    result = run.import_(b"First Name,Last Name,E-mail Address,Mobile Phone,Pager\r\n"
                         b"Jane,Doe,jane@example.com,+44 7700 900123,12345\r\n")
    assert result.exit_code == 0, result.output
    assert "ignored column 'Pager': matches no field" in result.stdout
    jane = run.customers()["jane@example.com"]
    assert (jane["last_name"], jane["mobile"]) == ("Doe", "'+447700900123")


def test_a_map_option_maps_a_column_or_ignores_it(run: Cli) -> None:
    ok(run.import_(b"Mail,Vorname,Notes\r\njane@example.com,Jane,x\r\n", "--map", "Mail=email", "--map",
                   "Vorname=first_name", "--map", "Notes="))
    assert run.customers()["jane@example.com"]["first_name"] == "Jane"


def test_html_in_a_name_is_stored_as_text(run: Cli) -> None:
    ok(run.import_(b"email,first_name\r\njane@example.com,<b>Jane</b>\r\n"))
    assert run.customers()["jane@example.com"]["first_name"] == "<b>Jane</b>"


@pytest.mark.parametrize("args", [("template", "custmers"), ("import", "custmers", "{file}"),
                                  ("import", "customers", "{workbook}"), ("job", "1", "--retry", "{workbook}")],
                         ids=["template-kind", "import-kind", "import-workbook", "retry-workbook"])
def test_a_bad_file_or_a_mistyped_kind_exits_2_on_every_command(run: Cli, args: tuple[str, ...]) -> None:
    assert run.import_(PEOPLE + b"broken,Nobody,\r\n").exit_code == 1  # import 1: some rows failed
    files = {"file": run.file("people.csv", PEOPLE), "workbook": run.file("people.xlsx", b"PK\x03\x04" + b"\x00" * 64)}
    result = run(*(arg.format(**files) for arg in args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_an_option_of_another_kind_is_a_usage_error_naming_the_flag(run: Cli) -> None:
    result = run.import_(PEOPLE, "--create-teams")
    assert result.exit_code == 2
    assert "Invalid value for --create-teams" in result.stderr and "An import of customers has no option 'create_teams'" in result.stderr


@pytest.mark.parametrize(("kind", "first", "second", "flags", "column", "kept"), [
    ("customers", b"email,first_name,groups\r\nc@example.com,C,A:B\r\n", b"email,groups\r\nc@example.com,C\r\n",
     ("--create-groups",), "groups", "C"),
    ("users", b"email,first_name,teams\r\nt@example.com,T,A:B\r\n", b"email,teams\r\nt@example.com,C\r\n",
     ("--create-teams", "--no-invitations"), "teams", "C"),
    ("companies", b"name,domains\r\nAcme,acme.com:acme.org\r\n", b"name,domains\r\nAcme,acme.net\r\n", (), "domains",
     "acme.net"),
])
def test_groups_teams_and_domains_are_replaced_on_update_when_asked(run: Cli, kind: str, first: bytes, second: bytes,
                                                                    flags: tuple[str, ...], column: str,
                                                                    kept: str) -> None:
    flag = {"customers": "--replace-groups", "users": "--replace-teams", "companies": "--replace-domains"}[kind]
    ok(run("import", kind, run.file("first.csv", first), *flags))
    ok(run("import", kind, run.file("second.csv", second), *flags, flag))
    [row] = list(csv.DictReader(io.StringIO(ok(run("export", kind)))))
    assert row[column] == kept


def test_job_of_a_running_import_shows_its_progress_line_with_the_rows_seen_inside_the_batch(run: Cli) -> None:
    ok(run("jobs"))  # the database, migrated
    services = bootstrap(load_settings(environ={}).replace(database_url=run.url))
    store = services.store
    job_id = store.start_job("users", file_name="agents.csv", actor="admin", dry_run=False, options={})
    store.begin_job(job_id, total=300, mapping=ColumnMapping(columns=(), headers=("email",)), headers=["email"])
    store.record_progress(job_id, 126)  # hashing the first batch: nothing committed yet
    services.close()

    shown = ok(run("job", str(job_id)))

    assert "42% · 126 of 300 rows" in shown
    assert "  0 of 300 rows: 0 created" in shown  # the counts are the committed rows'
