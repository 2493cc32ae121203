"""The one plural rule of sentences that count."""

from __future__ import annotations

import pytest

from plugin.words import count_of, listed, plural


@pytest.mark.parametrize(("number", "expected"), [(0, "rows"), (1, "row"), (2, "rows"), (1000, "rows")])
def test_a_word_is_plural_for_any_number_but_one(number, expected):
    assert plural(number, "row") == expected


def test_irregular_words_take_their_plural_given_and_y_becomes_ies():
    assert (plural(1, "was", "were"), plural(3, "was", "were")) == ("was", "were")
    assert (plural(2, "company"), plural(2, "day")) == ("companies", "days")


def test_counts_are_written_with_their_word():
    assert (count_of(1, "customers"), count_of(4980, "customers"), count_of(0, "companies")) == (
        "1 customer", "4,980 customers", "0 companies")


@pytest.mark.parametrize(("items", "expected"), [
    ([2], "2"), ([2, 8], "2 and 8"), ([2, 8, 11], "2, 8 and 11"),
    ([2, 8, 11, 22, 26, 30, 31], "2, 8, 11, 22, 26 and 2 more"), ([], ""),
])
def test_lists_read_as_a_sentence(items, expected):
    assert listed(items) == expected
