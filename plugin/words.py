"""Sentences that count: the one plural rule every message, page and command uses."""

from __future__ import annotations

from collections.abc import Sequence


def singular(plural: str) -> str:
    """'customers' → 'customer', 'companies' → 'company', 'agents' → 'agent'."""
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural.removesuffix("s")


def plural(number: int, word: str, plural_word: str | None = None) -> str:
    """The word for this many: plural(1, 'row') → 'row', plural(2, 'row') → 'rows', plural(2, 'was', 'were')."""
    if number == 1:
        return word
    return plural_word if plural_word is not None else (word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s")


def count_of(number: int, plural_word: str) -> str:
    """'4,980 customers', '1 customer', '0 agents'."""
    return f"{number:,} {singular(plural_word) if number == 1 else plural_word}"


def listed(items: Sequence[object], *, most: int = 5) -> str:
    """'2', '2 and 8', '2, 8 and 11'; past `most`: '2, 8, 11, 22, 26 and 3 more'."""
    shown = [f"{item:,}" if isinstance(item, int) else str(item) for item in items[:most]]
    more = len(items) - len(shown)
    if more:
        return f"{', '.join(shown)} and {more:,} more"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"
