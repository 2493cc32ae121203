"""Email normalisation: examples, and the fast path agreeing exactly with email-validator on generated addresses."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from plugin.emails import InvalidEmail, _normalize_slowly, email_key, normalize_email


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("jane@example.com", "jane@example.com"),
        ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),  # local part kept as written, domain lowercased
        ("  raj+support@example.org  ", "raj+support@example.org"),  # surrounding spaces dropped
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("zoë@example.com", "zoë@example.com"),  # a Unicode local part is kept
        ("hans@bücher.example", "hans@xn--bcher-kva.example"),  # an IDN domain is stored in IDNA form
        ("hans@BÜCHER.example", "hans@xn--bcher-kva.example"),
        ("hans@xn--bcher-kva.example", "hans@xn--bcher-kva.example"),
        ("a" * 64 + "@example.com", "a" * 64 + "@example.com"),
    ],
)
def test_an_address_is_stored_with_its_domain_lowercased_in_idna_form(written: str, stored: str) -> None:
    assert normalize_email(written) == stored


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("", "An email address must have an @-sign."),
        ("jane", "An email address must have an @-sign."),
        ("jane@", "There must be something after the @-sign."),
        ("@example.com", "There must be something before the @-sign."),
        ("jane@localhost", "The part after the @-sign is not valid. It should have a period."),
        ("jane..doe@example.com", "An email address cannot have two periods in a row."),
        (".jane@example.com", "An email address cannot start with a period."),
        ("jane.@example.com", "An email address cannot have a period immediately before the @-sign."),
        ("jane@example.com.", "An email address cannot end with a period."),
        ("jane@-example.com", "An email address cannot have a hyphen immediately after the @-sign."),
        ("jane@example-.com", "An email address cannot have a period and a hyphen next to each other."),
        ("jane@example.test", "The part after the @-sign is a special-use or reserved name that cannot be used with email."),
        ("jane@example.123", "The part after the @-sign is not valid. It is not within a valid top-level domain."),
        ("jane doe@example.com", "The email address contains invalid characters before the @-sign: SPACE."),
        ("jane@exa mple.com", "The part after the @-sign contains invalid characters: SPACE."),
    ],
)
def test_an_invalid_address_is_refused_with_email_validators_reason(written: str, message: str) -> None:
    with pytest.raises(InvalidEmail) as refused:
        normalize_email(written)
    assert str(refused.value) == message


def test_an_address_too_long_in_total_is_refused() -> None:
    domain = ".".join(["d" * 60] * 3) + ".example.com"  # 195 characters: valid on its own
    with pytest.raises(InvalidEmail, match="too long"):
        normalize_email("a" * 64 + "@" + domain)


def test_the_matching_key_ignores_case_in_the_local_part_too() -> None:
    assert email_key(normalize_email("JANE@EXAMPLE.COM")) == email_key(normalize_email("jane@example.com"))


# ---- the fast path is exactly as strict as email-validator

ATEXT = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-"
RFC_2142_NAMES = ("info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
                  "hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp")


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(char.upper() if flip else char for char, flip in zip(text, flips, strict=True))


@st.composite
def local_parts(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["atoms", "long", "role", "odd"]))
    if shape == "role":  # RFC 2142 mailbox names, which email-validator lowercases
        return _random_case(draw, draw(st.sampled_from(RFC_2142_NAMES)))
    if shape == "long":  # around the 64-character limit of RFC 5321
        length = draw(st.integers(min_value=60, max_value=70))
        return draw(st.text(st.sampled_from("abcdefghij.-_"), min_size=length, max_size=length))
    if shape == "odd":  # dots at the edges, doubled dots, spaces, quotes, Unicode
        return draw(st.text(st.sampled_from(ATEXT + '.. "@\\éü(),:;<>[]'), min_size=0, max_size=12))
    atoms = draw(st.lists(st.text(st.sampled_from(ATEXT), min_size=1, max_size=10), min_size=1, max_size=4))
    return ".".join(atoms)


@st.composite
def domain_labels(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["plain", "plain", "hyphens", "long", "idn", "punycode", "empty"]))
    if shape == "plain":
        return draw(st.text(st.sampled_from("abcdefxyzABCXYZ0123456789"), min_size=1, max_size=12))
    if shape == "hyphens":  # hyphens anywhere, including the label's edges and the third/fourth place
        return draw(st.text(st.sampled_from("ab1-"), min_size=1, max_size=8))
    if shape == "long":  # around the 63-character label limit
        length = draw(st.integers(min_value=55, max_value=66))
        return "k" * length
    if shape == "idn":
        return draw(st.sampled_from(["bücher", "例え", "münchen", "ÄÖÜ", "straße", "xn--"]))
    if shape == "punycode":
        return draw(st.sampled_from(["xn--bcher-kva", "XN--BCHER-KVA", "xn--zz", "xn--a", "xn--mnchen-3ya"]))
    return ""


@st.composite
def domains(draw: st.DrawFn) -> str:
    labels = draw(st.lists(domain_labels(), min_size=0, max_size=4))
    tld = draw(st.sampled_from(["com", "org", "COM", "io", "example", "test", "invalid", "localhost", "local",
                                "onion", "arpa", "123", "c0m", "x", "xn--p1ai", "рф"]))
    domain = ".".join([*labels, tld])
    if draw(st.booleans()) and draw(st.booleans()):
        domain += "."  # a trailing dot
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # long domains, near the 253-character limit
        domain = ".".join(["d" * 60] * draw(st.integers(min_value=2, max_value=4))) + "." + domain
    return domain


@st.composite
def addresses(draw: st.DrawFn) -> str:
    return f"{draw(local_parts())}@{draw(domains())}"


def _outcome(normalize, text: str) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    try:
        return True, normalize(text)
    except InvalidEmail as error:
        return False, str(error)


@settings(max_examples=3000, deadline=None)
@given(addresses())
@example("a" * 65 + "@example.com")
@example("jane@" + "d" * 63 + ".com")
@example("jane@sub.example.test")
def test_the_fast_path_agrees_with_email_validator_on_every_address(text: str) -> None:
    # normalize_email drops surrounding spaces on purpose (cells often carry them); the slow path does not
    assert _outcome(normalize_email, text) == _outcome(_normalize_slowly, text.strip())


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_the_fast_path_agrees_with_email_validator_on_arbitrary_text(text: str) -> None:
    assert _outcome(normalize_email, text) == _outcome(_normalize_slowly, text.strip())
