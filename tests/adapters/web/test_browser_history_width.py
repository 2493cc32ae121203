"""The history table on a 1280 x 800 screen, as a support admin reads it: a long e-mail address of whoever started
an import is broken only where a person would break it (after the @, before a dot), never in the middle of a word,
not at a hyphen (which reads as part of the address), and the whole address stays on the page."""

from __future__ import annotations

import io

import pytest

from tests.adapters.web.test_browser_pages import look_at, sign_in
from tests.adapters.web.conftest import ADMIN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG_ADDRESS = "frederica.montgomery-harrington@customer-success.northern-europe.example-helpdesk.com"
BREAK_POINTS = "@."

LINE_BREAKS = """(cell) => {
    // Each place the cell's text goes on to a new line: the characters either side of the break.
    const chars = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rect = range.getClientRects()[0];
            if (rect && node.data[i].trim()) chars.push([node.data[i], rect.top]);
        }
    }
    const breaks = [];
    for (let i = 1; i < chars.length; i++) {
        if (chars[i][1] > chars[i - 1][1] + 2) breaks.push(chars[i - 1][0] + chars[i][0]);
    }
    return breaks;
}"""


@pytest.fixture
def page(chromium):  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def test_a_long_address_in_the_history_breaks_at_the_at_sign_or_a_dot_never_mid_word(live_server, page,
                                                                                      web_services):
    for number in range(3):
        web_services.imports.import_file("customers", io.BytesIO(f"email,first_name\np{number}@example.com,P\n".encode()),
                                         file_name=f"crm-export-{number}-with-a-rather-long-name.csv",
                                         actor=LONG_ADDRESS)
    sign_in(page, live_server, ADMIN)
    page.goto(live_server + "/importer/history")
    cell = page.locator("#history tbody tr >> nth=0").locator("td >> nth=2")
    assert cell.inner_text().replace("\n", "").replace("\u200b", "") == LONG_ADDRESS
    breaks = cell.evaluate(LINE_BREAKS)
    assert breaks, "the address fits on one line: this test would not see a bad break"
    mid_word = [pair for pair in breaks if pair[0] not in BREAK_POINTS and pair[1] not in BREAK_POINTS]
    assert mid_word == [], f"the address breaks in the middle of a word at {mid_word}"
    look_at(page, "h01-history-1280-long-address")
