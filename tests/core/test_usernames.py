"""Usernames: one rule for agents and customers, generated from the email, numbered when taken."""

from __future__ import annotations

import pytest

from plugin.kinds import CellProblem
from plugin.usernames import assign_usernames, free_username, parse_username, username_from_email


@pytest.mark.parametrize(
    ("email", "username"),
    [("Jane.Doe+help@example.com", "jane.doe"), ("o'brien@example.com", "obrien"), ("__x@example.com", "x"),
     ("+tag@example.com", "customer")],
)
def test_a_username_is_made_from_the_emails_local_part(email: str, username: str) -> None:
    assert username_from_email(email, fallback="customer") == username


def test_a_taken_username_gets_the_next_free_number() -> None:
    taken = {"jane", "jane2"}
    assert free_username("jane", taken.__contains__) == "jane3"


def test_equal_bases_in_one_batch_get_different_names() -> None:
    assert assign_usernames(["jane", "raj", "jane", "jane"], {"jane2"}.__contains__) == ["jane", "raj", "jane3", "jane4"]


def test_a_start_skips_numbers_known_to_be_taken() -> None:
    assert assign_usernames(["jane"], lambda name: False, starts={"jane": 7}) == ["jane7"]


@pytest.mark.parametrize("text", ["-jane", "jane doe", "x" * 101, "jäne"])
def test_a_typed_username_that_cannot_be_one_is_a_cell_problem(text: str) -> None:
    with pytest.raises(CellProblem) as problem:
        parse_username(text)
    assert problem.value.code == "username.invalid"
