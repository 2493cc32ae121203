"""The result page of an agents import (production Argon2 hashing, slow on purpose) in real Chromium, against a
real worker process: the bar moves while the one batch is being hashed, with rows a second and the time left."""

from __future__ import annotations

import pytest

from tests.adapters.web.conftest import ADMIN, screenshot, watch_the_bar
from tests.adapters.web.test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AGENTS = 60  # one batch: the rows are committed together, after every password is hashed


def agents_file() -> str:
    lines = ["email,first_name,last_name,password"]
    lines += [f"agent{number}@example.com,Agent,Number{number},long-enough-{number}" for number in range(1, AGENTS + 1)]
    return "\n".join(lines) + "\n"


def test_the_progress_bar_moves_inside_a_batch_of_hashed_passwords_and_says_rows_a_second_and_time_left(
        live_server, page, web_settings, start_worker):
    start_worker(web_settings.replace(batch_size=AGENTS), "--workers", "1")
    sign_in(page, live_server, ADMIN)
    page.click("#choose-users")
    page.wait_for_selector("#dropzone")
    page.set_input_files("#file", files=[{"name": "agents.csv", "mimeType": "text/csv", "buffer": agents_file().encode()}])
    page.click("#upload-button")
    page.wait_for_selector("#mapping-form")
    page.click("#mapping-next")
    page.wait_for_selector("#preview-summary", timeout=60_000)
    page.click("#start-import")
    page.wait_for_url("**/importer/jobs/*")
    watch_the_bar(page)

    # Two values short of 99% (the batch's commit): the rows being hashed, said twice before anything committed.
    page.wait_for_function("() => new Set(window.seen.filter(v => v > 0 && v < 99)).size >= 2", timeout=90_000)
    page.wait_for_function("() => document.querySelector('#eta').textContent.includes('left')"
                           " && !document.querySelector('#rate').hidden", timeout=30_000)
    progress = page.inner_text("#progress")
    assert f" of {AGENTS} rows" in progress and "rows/s" in progress and "left" in progress, progress
    assert page.get_by_label("Import progress").count() == 1  # the bar has a name, not colour alone
    assert "rows/s" in page.get_attribute("#bar", "aria-valuetext")
    assert f"{page.inner_text('#rows-done')} of {AGENTS} rows done" in page.inner_text("#status-text")  # one figure
    screenshot(page, "progress-inside-a-batch")

    page.wait_for_selector("#result-summary", timeout=120_000)
    assert page.inner_text("#result-summary") == f"Imported {AGENTS} agents: {AGENTS} created, 0 updated, 0 failed"
    assert page.get_attribute("#bar", "value") == "100"
    assert page.inner_text("#eta") == "done"
    screenshot(page, "progress-done")
