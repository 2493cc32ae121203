"""The fast path for common phone shapes answers as phonenumbers does: the same E.164, the same problem.

Each check compares the verdict a user gets (`_phone_verdict` without its cache: the fast path, else the
library) with the plain phonenumbers path (`_library_verdict`), over numbers of every region, many shapes.
"""

from __future__ import annotations

from functools import cache

import phonenumbers
from hypothesis import example, given, settings
from hypothesis import strategies as st

from plugin.phone_shapes import fast_e164
from plugin.phones import _library_verdict, _phone_verdict, _PhoneVerdict

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
COUNTRY_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
FORMATS = (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
           phonenumbers.PhoneNumberFormat.E164)
SEPARATORS = (("", " ", "-", ".", "(", ")", " (", ") ", ")-", "  ") * 3  # as people write; then odd ones
              + ("/", "x", "#", ",", "+", "\u00a0", "\uff10"))


def verdict(text: str, region: str) -> _PhoneVerdict:
    return _phone_verdict.__wrapped__(text, region)


@cache
def example_numbers() -> list[tuple[str, str]]:
    """Every region's example number of every type, written by phonenumbers nationally and internationally."""
    examples: list[tuple[str, str]] = []
    for region in REGIONS:
        for number_type in phonenumbers.supported_types_for_region(region):
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None:
                examples += [(region, phonenumbers.format_number(number, form)) for form in FORMATS]
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            examples += [("001", phonenumbers.format_number(number, form)) for form in FORMATS]
    return examples


@cache
def example_texts() -> list[str]:
    return sorted({text for _, text in example_numbers()})


def test_every_regions_example_numbers_get_the_librarys_verdict_in_their_region_and_others() -> None:
    answered, differing = 0, []
    for own_region, text in example_numbers():
        for region in {own_region, "GB", "US", "DE"}:
            answered += fast_e164(text, region) is not None
            if verdict(text, region) != _library_verdict(text, region):
                differing.append((text, region))
    assert differing == []
    assert answered > 2 * len(example_numbers())  # the fast path answers most: the comparison is not empty


def test_the_last_digits_of_example_numbers_as_dialled_locally_get_the_librarys_verdict() -> None:
    """Local forms (Christmas Island's 8 digits, a US territory's 7) go through national prefix transform rules."""
    differing = []
    for own_region, text in example_numbers():
        digits = "".join(character for character in text if character.isdigit())
        for length in range(4, min(len(digits), 11)):
            local = digits[-length:]
            if verdict(local, own_region) != _library_verdict(local, own_region):
                differing.append((local, own_region))
    assert differing == []


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    """A number as people write it: maybe a + and a country code or a prefix, digit groups, punctuation."""
    start = draw(st.sampled_from(("+", "+", "", "", "0", "00", "011", "(0)", "+0", "++", " ", "(")))
    if start.startswith("+") and draw(st.booleans()):
        start += str(draw(st.sampled_from(COUNTRY_CODES)))
    length = draw(st.integers(1, 16))
    digits = draw(st.text("0123456789", min_size=length, max_size=length))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(digits) - 1)), max_size=4)))
    text = start
    for begin, end in zip([0, *cuts], [*cuts, len(digits)]):
        text += draw(st.sampled_from(SEPARATORS)) + digits[begin:end]
    return text + draw(st.sampled_from(("", "", "", " ", ")", "-", " ext 12", "#")))


@st.composite
def edited_examples(draw: st.DrawFn) -> str:
    """A real example number with digits changed, added or removed, and its punctuation rewritten."""
    text = draw(st.sampled_from(example_texts()))
    edited = ""
    for character in text:
        if character.isdigit():
            action = draw(st.sampled_from(("keep",) * 6 + ("change", "drop", "double")))
            edited += {"keep": character, "change": draw(st.sampled_from("0123456789")), "drop": "",
                       "double": character * 2}[action]
        else:
            edited += draw(st.sampled_from((character, character, " ", "-", "", "(", ")")))
    return edited


@st.composite
def plausible_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """A number of a possible length in a region, with its national prefix, +code or neither; and a region."""
    own_region = draw(st.sampled_from(REGIONS))
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(own_region)
    lengths = [length for length in metadata.general_desc.possible_length if length > 0]
    length = draw(st.sampled_from(lengths)) + draw(st.sampled_from((0, 0, 0, 0, 1, -1)))
    digits = draw(st.text("0123456789", min_size=max(length, 1), max_size=max(length, 1)))
    start = draw(st.sampled_from((f"+{metadata.country_code}", f"+{metadata.country_code}",
                                  f"{metadata.national_prefix or ''}", "", f"{metadata.country_code}")))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(digits) - 1)), max_size=3)))
    text = start
    for begin, end in zip([0, *cuts], [*cuts, len(digits)]):
        text += draw(st.sampled_from(("", " ", " ", "-", ".", "(", ")", " (", ") "))) + digits[begin:end]
    return text, draw(st.sampled_from((own_region, own_region, "GB", "US", "DE", "CA", "IT", "AR")))


regions = st.one_of(st.sampled_from(REGIONS),
                    st.sampled_from(("GB", "US", "DE", "CA", "AR", "MX", "IT", "ZZ", "001")))


@settings(max_examples=1500, deadline=None)
@given(written_numbers(), regions)
@example("+44 7700 900123", "GB")
@example("07700 900123", "GB")
@example("(0)7700-900123", "GB")
@example("+1 (415) 555-2671", "GB")
@example("+49 151 20900123", "GB")
@example("00 44 7700 900123", "GB")
@example("44 7700 900123", "GB")
@example("1 415 555 2671", "US")
@example("12", "GB")
@example("1-2", "NU")
def test_a_written_number_gets_the_librarys_verdict(text: str, region: str) -> None:
    assert verdict(text, region) == _library_verdict(text, region)


@settings(max_examples=1000, deadline=None)
@given(edited_examples(), regions)
def test_an_edited_example_number_gets_the_librarys_verdict(text: str, region: str) -> None:
    assert verdict(text, region) == _library_verdict(text, region)


@settings(max_examples=1500, deadline=None)
@given(plausible_numbers())
def test_a_number_of_a_possible_length_gets_the_librarys_verdict(text_and_region: tuple[str, str]) -> None:
    text, region = text_and_region
    assert verdict(text, region) == _library_verdict(text, region)


@settings(max_examples=500, deadline=None)
@given(st.text("0123456789 +-().x#,;/", max_size=24), regions)
def test_any_text_of_phone_characters_gets_the_librarys_verdict(text: str, region: str) -> None:
    assert verdict(text, region) == _library_verdict(text, region)


def test_the_shapes_of_the_benchmark_take_the_fast_path() -> None:
    texts = ("07700 900123", "+44 7700 900123", "+1 (415) 555-2671", "+49 151 20900123", "+44 20 7946 0958",
             "(0)7700-900123")
    assert [fast_e164(text, "GB") for text in texts] == ["+447700900123", "+447700900123", "+14155552671",
                                                          "+4915120900123", "+442079460958", "+447700900123"]
