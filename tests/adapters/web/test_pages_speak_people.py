"""Pages speak people: names instead of ids, records as email and name, each summary once, paging that never
offers an empty page, plural-aware sentences, sizes in the README's units, custom fields among the columns."""

from __future__ import annotations

import io
import re

from plugin.kinds import FieldType
from tests.adapters.web.conftest import ADMIN

PEOPLE = "email,first_name,last_name,company\nann@example.com,Ann,Lee,Acme Ltd\nbob@example.org,Bob,Stone,\n"
MOVED = "email,company\nann@example.com,Beta GmbH\n"


def job_of(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 202, response.json
    return int(response.json["job"])


def rows_text(page: str) -> str:
    """The rows table's text, tags dropped."""
    table = page.split('id="rows"', 1)[1].split("</table>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))


def test_changes_name_companies_and_rows_name_their_person_not_ids(app, browser_for, web_services):
    web_services.catalog.add_company("Acme Ltd")
    web_services.catalog.add_company("Beta GmbH")
    admin = browser_for(ADMIN)
    job_of(admin.post_import(PEOPLE))
    moved = job_of(admin.post_import(MOVED))
    text = rows_text(admin.client.get(f"/importer/jobs/{moved}").text)
    assert "company : Acme Ltd → Beta GmbH" in text, text
    assert "Ann Lee &lt;ann@example.com&gt;" in text
    assert "company_id" not in text and not re.search(r"\b[12] → [12]\b", text)


def test_the_undo_page_names_each_person_not_a_record_number(app, browser_for):
    admin = browser_for(ADMIN)
    job = job_of(admin.post_import(PEOPLE.replace(",Acme Ltd", ",")))
    page = admin.client.get(f"/importer/jobs/{job}/undo").text
    steps = page.split('id="undo-steps"', 1)[1]
    assert "Ann Lee &lt;ann@example.com&gt;" in steps and "Bob Stone &lt;bob@example.org&gt;" in steps


def test_a_result_page_says_its_summary_once(app, browser_for):
    admin = browser_for(ADMIN)
    job = job_of(admin.post_import(PEOPLE.replace(",Acme Ltd", ",")))
    page = admin.client.get(f"/importer/jobs/{job}").text
    assert page.count("Imported 2 customers: 2 created, 0 updated, 0 failed") == 1, page


def many_people(count: int) -> str:
    return "email,first_name\n" + "".join(f"person{number}@example.com,P{number}\n" for number in range(count))


def test_a_full_last_page_offers_no_next_page(app, browser_for):
    admin = browser_for(ADMIN)
    job = job_of(admin.post_import(many_people(100)))  # two full pages of 50
    first = admin.client.get(f"/importer/jobs/{job}").text
    assert 'id="next-page"' in first
    last = admin.client.get(f"/importer/jobs/{job}?page=2").text
    assert 'id="next-page"' not in last and "No rows to show here" not in last
    assert len(re.findall(r'<tr class="ci-row-', last)) == 50


def test_a_page_with_one_row_more_offers_the_next_page_and_it_has_that_row(app, browser_for):
    admin = browser_for(ADMIN)
    job = job_of(admin.post_import(many_people(51)))
    assert 'id="next-page"' in admin.client.get(f"/importer/jobs/{job}").text
    second = admin.client.get(f"/importer/jobs/{job}?show=&page=2").text
    assert len(re.findall(r'<tr class="ci-row-', second)) == 1 and 'id="next-page"' not in second


def retried(admin, job: int, fixed: str) -> str:  # type: ignore[no-untyped-def]
    """The page a retry with this file leads to."""
    response = admin.client.post(f"/importer/jobs/{job}/retry", data={"csrf_token": admin.csrf,
                                 "file": (io.BytesIO(fixed.encode()), "fixed.csv")}, content_type="multipart/form-data",
                                 follow_redirects=True)
    return response.text


def test_a_retry_says_which_rows_did_not_fail_in_plural_and_in_singular(app, browser_for):
    admin = browser_for(ADMIN)
    job = job_of(admin.post_import("email,first_name\nann@example.com,Ann\nbob@example.org,Bob\nnot-an-email,X\n"))
    page = retried(admin, job, "email,first_name,row,column,message\nann@example.com,Ann,2,email,x\nbob@example.org,Bob,3,email,x\n")
    assert f"Rows 2 and 3 were not failed rows of import {job} (or were applied by a retry since)" in page, page
    page = retried(admin, job, "email,first_name,row,column,message\nann@example.com,Ann,2,email,x\n")
    assert f"Row 2 was not a failed row of import {job} (or was applied by a retry since)" in page, page


def test_a_retry_names_the_import_it_retries_once(app, browser_for):
    admin = browser_for(ADMIN)
    job = job_of(admin.post_import("email\nann@example.com\nnot-an-email\n"))
    fixed = "email,row,column,message\ncy@example.com,3,email,x\n"
    response = admin.client.post(f"/importer/jobs/{job}/retry", data={"csrf_token": admin.csrf,
                                 "file": (io.BytesIO(fixed.encode()), "fixed.csv")}, content_type="multipart/form-data")
    page = admin.client.get(response.headers["Location"]).text
    origin = re.sub(r"<[^>]+>", "", page.split('id="job-origin"', 1)[1].split("</p>", 1)[0])
    assert origin.startswith(f">This is a retry of import {job}: only its failed rows"), origin
    assert f"import {job}: import {job}" not in origin


def test_the_upload_page_gives_the_size_limit_in_the_readmes_units(app, browser_for):
    page = browser_for(ADMIN).client.get("/importer/new/customers").text
    assert "<strong>20 MiB</strong>" in page and "MB<" not in page


def test_the_upload_pages_columns_include_the_custom_fields(app, browser_for, web_services):
    web_services.catalog.add_custom_field("plan", FieldType.CHOICE, ["gold", "silver"])
    page = browser_for(ADMIN).client.get("/importer/new/customers").text
    columns = page.split('id="all-columns"', 1)[1].split("</tbody>", 1)[0]
    assert "<code>plan</code>" in columns and "one of gold, silver" in columns


def test_a_summary_of_one_row_speaks_in_the_singular(app, browser_for):
    admin = browser_for(ADMIN)
    job = job_of(admin.post_import("email,first_name\nann@example.com,Ann\n"))
    assert "Imported 1 customer: 1 created, 0 updated, 0 failed" in admin.client.get(f"/importer/jobs/{job}").text
