"""History is the imports: previews (dry runs) are not listed as imports by `jobs`, the history page or
GET /api/v1/imports unless asked for (one use case, services.history.list_jobs); the duplicate-upload question
stands until it is answered."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from adapters.cli import cli
from tests.adapters.web.conftest import ADMIN
from tests.adapters.web.test_double_submit import start_path, upload_and_preview


def options_form_as_sent(page: str) -> dict[str, str]:
    """The preview's options form as a browser submits it unchanged: text inputs with their values, ticked boxes."""
    form = page.split('id="options-form"', 1)[1].split("</form>", 1)[0]
    sent: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None or ('type="checkbox"' in tag and "checked" not in tag):
            continue
        sent[name.group(1)] = value.group(1) if value else ""
    return sent


def preview_twice_then_import(admin) -> tuple[list[int], int]:  # type: ignore[no-untyped-def]
    """Two previews (the second an "Update the preview") and the import: the previews' and the import's numbers."""
    first = upload_and_preview(admin)
    second = admin.client.post(first.split("?")[0], data=options_form_as_sent(admin.client.get(first).text))
    second_path = second.headers["Location"]
    started = admin.client.post(start_path(second_path), data={"csrf_token": admin.csrf})
    previews = [int(re.search(r"job=(\d+)", path).group(1)) for path in (first, second_path)]  # type: ignore[union-attr]
    return previews, int(started.headers["Location"].rsplit("/", 1)[1])


def test_the_history_page_lists_imports_not_previews_and_shows_previews_when_asked(app, browser_for):
    admin = browser_for(ADMIN)
    previews, imported = preview_twice_then_import(admin)
    page = admin.client.get("/importer/history").text
    listed = [int(number) for number in re.findall(r">#(\d+)</a>", page)]
    assert imported in listed and not set(previews) & set(listed), listed
    assert 'id="show-previews"' in page
    with_previews = admin.client.get("/importer/history?previews=1").text
    listed = [int(number) for number in re.findall(r">#(\d+)</a>", with_previews)]
    assert {imported, *previews} <= set(listed)
    assert with_previews.count(">preview</span>") == len(previews) and 'id="hide-previews"' in with_previews


def test_the_api_lists_imports_not_previews_unless_previews_is_true(app, browser_for):
    admin = browser_for(ADMIN)
    previews, imported = preview_twice_then_import(admin)
    listed = [job["job"] for job in admin.client.get("/api/v1/imports").json["imports"]]
    assert imported in listed and not set(previews) & set(listed)
    listed = [job["job"] for job in admin.client.get("/api/v1/imports?previews=true").json["imports"]]
    assert set(previews) | {imported} <= set(listed)
    refused = admin.client.get("/api/v1/imports?previews=perhaps")
    assert (refused.status_code, refused.json["code"]) == (400, "query.invalid")


def test_the_jobs_command_lists_imports_not_previews_unless_asked(app, browser_for, web_settings):
    admin = browser_for(ADMIN)
    previews, imported = preview_twice_then_import(admin)
    runner = CliRunner()
    base = ["--database-url", web_settings.database_url, "jobs", "--json"]
    listed = [job["job"] for job in json.loads(runner.invoke(cli, base, catch_exceptions=False).stdout)]
    assert imported in listed and not set(previews) & set(listed)
    listed = [job["job"] for job in json.loads(runner.invoke(cli, [*base, "--previews"], catch_exceptions=False).stdout)]
    assert set(previews) | {imported} <= set(listed)


def test_updating_the_preview_with_nothing_changed_still_asks_about_the_duplicate(app, browser_for):
    admin = browser_for(ADMIN)
    first_preview = upload_and_preview(admin)
    admin.client.post(start_path(first_preview), data={"csrf_token": admin.csrf})
    second_preview = upload_and_preview(admin)
    assert "duplicate-warning" in admin.client.get(second_preview).text
    response = admin.client.post(second_preview.split("?")[0],
                                 data=options_form_as_sent(admin.client.get(second_preview).text))
    assert response.status_code == 302, response.text
    page = admin.client.get(response.headers["Location"]).text
    assert "duplicate-warning" in page and 'name="confirm_duplicate"' in page
    started = admin.client.post(start_path(second_preview), data={"csrf_token": admin.csrf})
    assert "/preview" in started.headers["Location"]  # asked again, not started


def test_the_history_page_pages_back_through_older_imports(app, browser_for, web_services):
    import io

    for number in range(51):
        web_services.imports.import_file("customers", io.BytesIO(f"email,first_name\np{number}@example.com,P\n".encode()),
                                         actor=ADMIN)
    admin = browser_for(ADMIN)
    first = admin.client.get("/importer/history").text
    listed = [int(found) for found in re.findall(r">#(\d+)</a>", first)]
    assert len(listed) == 50 and 'id="next-page"' in first
    older = admin.client.get("/importer/history?page=2").text
    rest = [int(found) for found in re.findall(r">#(\d+)</a>", older)]
    assert len(rest) == 2 and max(rest) < min(listed) and 'id="next-page"' not in older  # and the setup's agents
