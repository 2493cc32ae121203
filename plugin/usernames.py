"""Usernames, for agents and customers alike: the rule for a typed one, and the one made from an email.

A generated username is the email's local part, lowercased, without what a username cannot hold; when that
is taken, a number follows it (`jane`, `jane2`, `jane3`...). Who holds which name is the caller's business:
the agents import asks its catalog, the database adapters ask the database, a batch at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from plugin.kinds import CellProblem

USERNAME_MAX = 100
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_NOT_USERNAME = re.compile(r"[^a-z0-9._-]+")
_SUFFIX_ROOM = 6  # digits a generated name may need after its base


def parse_username(text: str) -> str:
    """A typed username, lowercased; raises CellProblem("username.invalid") when it cannot be one."""
    name = text.strip().lower()
    if len(name) > USERNAME_MAX or not _USERNAME.fullmatch(name):
        raise CellProblem("username.invalid", f"{text.strip()[:USERNAME_MAX]!r} cannot be a username: use at most "
                          f"{USERNAME_MAX} letters, digits, dots, dashes or underscores, starting with a letter or digit.")
    return name


def username_from_email(email: str, *, fallback: str = "user") -> str:
    """'Jane.Doe+help@example.com' → 'jane.doe': the local part, lowercased, without what a username can't hold."""
    local = email.rpartition("@")[0].split("+", 1)[0].lower()
    name = _NOT_USERNAME.sub("", local).lstrip("._-")[: USERNAME_MAX - _SUFFIX_ROOM]
    return name or fallback


def numbered_username(base: str, number: int) -> str:
    """The number-th candidate for a base: 'jane' for 1, then 'jane2', 'jane3'..."""
    return base if number <= 1 else f"{base}{number}"


def free_username(base: str, is_taken: Callable[[str], bool], *, start: int = 1) -> str:
    """The first of base, base2, base3... (from `start`) that is not taken."""
    number = start
    while is_taken(candidate := numbered_username(base, number)):
        number += 1
    return candidate


def assign_usernames(bases: Iterable[str], taken: Callable[[str], bool], *,
                     starts: Mapping[str, int] | None = None) -> list[str]:
    """One free username per base, in order; two equal bases get two names (`jane`, `jane2`).

    `taken` says which names are held already; `starts` (base → number) skips candidates known to be taken.
    """
    given: set[str] = set()
    names: list[str] = []
    for base in bases:
        name = free_username(base, lambda candidate: candidate in given or taken(candidate),
                             start=(starts or {}).get(base, 1))
        given.add(name)
        names.append(name)
    return names
