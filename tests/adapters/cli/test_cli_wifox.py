"""A Wifox CRM client export through the command line: its own headers map by themselves (no --map), a re-import
follows clients whose email changed by their Wifox id, and our export imports back unchanged."""

from __future__ import annotations

import csv
import json
import io

from tests.adapters.cli.test_cli import Cli, ok, run  # noqa: F401  (run is the fixture)

# The three clients of Wifox's import page, with the addresses its page cuts short written out
WIFOX = """ID,First Name,Last Name,Email,Project,Desk,Active,Type,Created
666c2c2f32735479fd3e9a5c,John,Doe,john.doe@example.com,66524609caa3558dd8f8da65,67a346ad8092c651c919337e,True,Personal,2024-06-13T15:06:02.802Z
66829b2e43c91e3ce480b6c4,Emma,Smith,{emma},66524609caa3558dd8f8da65,67a346ad8092c651c919337e,False,Personal,2024-07-01T07:33:52.343Z
668787f6def210c1fcfa2c92,Michael,Brown,michael.brown@example.com,66524609caa3558dd8f8da65,67a346ad8092c651c919337e,True,Personal,2024-07-05T05:29:59.572Z
"""
OPTIONS = ("--external-source", "wifox", "--create-companies", "--create-groups")


def test_a_wifox_export_maps_by_itself_and_a_reimport_follows_a_changed_email(run: Cli) -> None:
    report = run.import_json(WIFOX.format(emma="emma.smith@example.com").encode(), *OPTIONS)
    assert {column["column"]: column["field"] for column in report["mapping"]} == {
        "ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Project": "company", "Desk": "groups", "Active": "active", "Type": "type", "Created": "created_at"}
    assert (report["created"], report["failed"], report["ignored_columns"]) == (3, 0, [])
    emma = run.customers()["emma.smith@example.com"]
    assert (emma["active"], emma["type"], emma["created_at"], emma["external_id"], emma["external_source"],
            emma["company"], emma["groups"]) == ("false", "personal", "2024-07-01T07:33:52.343Z",
                                                 "66829b2e43c91e3ce480b6c4", "wifox", "66524609caa3558dd8f8da65",
                                                 "67a346ad8092c651c919337e")

    again = run.import_json(WIFOX.format(emma="emma.jones@example.com").encode(), *OPTIONS)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 1, 2)
    assert sorted(run.customers()) == ["emma.jones@example.com", "john.doe@example.com", "michael.brown@example.com"]


def test_an_id_of_ours_that_no_customer_has_is_a_row_error(run: Cli) -> None:
    result = run.import_(b"id,email,first_name\n77,zoe@example.com,Zoe\n")
    assert "row 2, column id: There is no customer with id 77" in result.stdout
    assert run.customers() == {}


def test_the_export_imports_back_with_nothing_changed(run: Cli) -> None:
    run.import_json(WIFOX.format(emma="emma.smith@example.com").encode(), *OPTIONS)
    ok(run.import_(b"email,first_name,active,type,created_at\nann@example.com,Ann,no,business,13/06/2024 09:30\n"))
    exported = ok(run("export", "customers"))
    assert list(csv.DictReader(io.StringIO(exported)))[-1]["created_at"] == "2024-06-13T09:30:00Z"
    report = run.import_json(exported.encode())
    assert (report["unchanged"], report["created"], report["updated"], report["failed"]) == (4, 0, 0, 0)
    assert ok(run("export", "customers")) == exported


def test_wifox_projects_and_desks_keep_matching_by_their_wifox_ids_after_they_are_renamed(run: Cli) -> None:
    run.import_json(WIFOX.format(emma="emma.smith@example.com").encode(), *OPTIONS)
    [company] = list(csv.DictReader(io.StringIO(ok(run("export", "companies")))))
    assert (company["name"], company["external_source"], company["external_id"]) == (
        "66524609caa3558dd8f8da65", "wifox", "66524609caa3558dd8f8da65")
    ok(run("import", "companies", run.file("companies.csv", f"id,name\n{company['id']},Acme\n".encode())))
    ok(run("teams", "rename", "67a346ad8092c651c919337e", "Support EU"))

    again = run.import_json(WIFOX.format(emma="emma.smith@example.com").encode(), *OPTIONS)
    assert (again["created"], again["updated"], again["unchanged"], again["failed"]) == (0, 0, 3, 0)
    assert {(row["company"], row["groups"]) for row in run.customers().values()} == {("Acme", "Support EU")}
    assert [(team["name"], team["external_source"], team["external_id"])
            for team in json.loads(ok(run("teams", "list", "--json")))] == [
        ("Support EU", "wifox", "67a346ad8092c651c919337e")]
    assert len(list(csv.DictReader(io.StringIO(ok(run("export", "companies")))))) == 1


def test_without_the_create_options_a_wifox_row_says_which_column_and_which_flag(run: Cli) -> None:
    result = run.import_(WIFOX.format(emma="emma.smith@example.com").encode(), "--external-source", "wifox")
    assert ("row 2, column Project: No company has the wifox id '66524609caa3558dd8f8da65' (nor that name)"
            in result.stdout)
    assert "row 4, column Desk: No group (team) has the wifox id '67a346ad8092c651c919337e'" in result.stdout
    assert "import again with --create-companies" in result.stdout
    assert "import again with --create-groups" in result.stdout
    assert run.customers() == {}
