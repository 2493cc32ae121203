"""Fuzz the mail classifier with atheris: any header bytes give one verdict, never an exception.

Run by hand for a bounded time (libFuzzer options pass through; a corpus folder is optional):

    .venv/bin/python tests/fuzz/fuzz_mail.py -max_total_time=60 [corpus_dir ...]

tests/fuzz/test_fuzz.py runs it for a few seconds from the seeds in tests/fuzz/seeds/mail.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["plugin"]):
    from plugin.emails import InvalidEmail, normalize_email
    from plugin.mail import address_keys, classify_message

OWN = address_keys(["support@example.com"])
AGENTS = address_keys(["agent@example.com"])
LOOP = "X-Contact-Importer-Loop"


def check_headers(data: bytes) -> None:
    """Exactly one of email and skip; a skip says why; a contact's email is already normalised."""
    verdict = classify_message(data, own_addresses=OWN, agent_addresses=AGENTS, loop_header=LOOP)
    if (verdict.email is None) == (verdict.skip is None):
        raise AssertionError(f"verdict has both or neither of email and skip: {verdict!r}")
    if verdict.skip is not None and not verdict.detail:
        raise AssertionError(f"skip without a detail: {verdict!r}")
    if verdict.email is not None:
        try:
            again = normalize_email(verdict.email)
        except InvalidEmail as error:
            raise AssertionError(f"a contact's email does not read back: {verdict.email!r}: {error}") from None
        if again != verdict.email:
            raise AssertionError(f"a contact's email is not normalised: {verdict.email!r} → {again!r}")
    if verdict.date is not None and verdict.date.utcoffset() is None:
        raise AssertionError(f"a date without a zone: {verdict.date!r}")


def main(argv: list[str]) -> None:
    atheris.Setup(argv, check_headers)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
