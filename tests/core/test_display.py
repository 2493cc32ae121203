"""plugin.display: stored values as people read them, never Python reprs."""

from __future__ import annotations

import pytest

from plugin.display import shown_change, shown_value
from plugin.plan import HIDDEN


@pytest.mark.parametrize(("value", "shown"), [
    (frozenset({"Trial", "Demo"}), "Demo, Trial"),
    (frozenset(), "(empty)"),
    (["VIP"], "VIP"),
    ([], "(empty)"),
    (None, "(empty)"),
    ("", "(empty)"),
    (True, "yes"),
    (False, "no"),
    (42, "42"),
    ("O'Brien", "O'Brien"),
    (HIDDEN, "(hidden)"),
])
def test_a_value_is_shown_as_people_read_it(value: object, shown: str) -> None:
    assert shown_value(value) == shown


def test_a_secret_field_is_hidden_whatever_it_holds() -> None:
    assert shown_value("S3cure-pass!", field="password", secret_names={"password"}) == "(hidden)"


def test_a_change_of_labels_reads_as_names() -> None:
    assert shown_change("labels", frozenset({"Demo", "Trial"}), frozenset()) == "labels: Demo, Trial → (empty)"
