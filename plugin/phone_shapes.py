"""A fast path for the common shapes of phone numbers, giving exactly phonenumbers' E.164 or no answer at all.

`phonenumbers.parse` spends most of its ~20 µs a number on text handling any input may need: where the number
starts, Unicode digits, vanity letters, extensions, RFC 3966 (`tel:`, `;phone-context=`). A number written as
ASCII digits with spaces, hyphens, dots and parentheses, with or without a leading `+` (`07700 900123`,
`+44 7700 900123`, `+1 (415) 555-2671`), needs none of that: for such text the steps of `parse`,
`is_possible_number_with_reason` and `format_number(..., E164)` reduce to the ones below, which read the
library's own metadata (it stays the authority on country codes, national prefixes and lengths):

1. the digits, in order (`parse` normalises this text to exactly them, and finds no extension in it);
2. with `+`: the country code is the shortest of the first 1-3 digits that is a known code, the rest is
   the national number; without `+`: the number is national in the region, unless it starts with the
   region's international prefix or its country code (left to the library);
3. the national prefix (`national_prefix_for_parsing`) is stripped as `parse` does (a prefix with a
   transform rule, as in Argentina or Mexico, is left to the library);
4. the number is possible when its length is one of the country's possible lengths and not a local-only
   one (`_test_number_length` for an unknown type); its E.164 is then `+`, the code and the number.

Any other text or branch returns None and the caller asks the library; so does every number that is not
possible, so every problem message still comes from the library itself. tests/core/test_phones_shapes.py
checks over numbers of many shapes generated in every region that the verdicts equal the library's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata

# Digits with the punctuation people write between them; ends in a digit (as `parse` trims the end).
_SIMPLE_SHAPE = re.compile(r"\+?[0-9 ().\-]*[0-9]")
_PUNCTUATION = str.maketrans("", "", " ().-+")
_MAX_NATIONAL_LENGTH = 17  # phonenumberutil._MAX_LENGTH_FOR_NSN
_MIN_NATIONAL_LENGTH = 2  # phonenumberutil._MIN_LENGTH_FOR_NSN


_POSSIBLE, _TOO_LONG, _OTHER = "possible", "too long", "other"  # the ValidationResults this path tells apart


def _length_result(length: int, general: phonenumbers.PhoneNumberDesc) -> str:
    """phonenumberutil._test_number_length for an unknown type, step by step, as far as this path needs."""
    possible, local_only = general.possible_length, general.possible_length_local_only or ()
    if length in local_only:
        return _OTHER  # IS_POSSIBLE_LOCAL_ONLY
    if possible[0] == length:
        return _POSSIBLE
    if possible[0] > length:
        return _OTHER  # TOO_SHORT
    if possible[-1] < length:
        return _TOO_LONG
    return _POSSIBLE if length in possible[1:] else _OTHER  # INVALID_LENGTH


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one region's (or country code's) metadata says about a number's digits."""
    country_code: str
    length_results: tuple[str, ...]  # by a national number's length, 0 to _MAX_NATIONAL_LENGTH
    national_prefix: re.Pattern[str] | None
    transform_rule: str | None
    general_pattern: re.Pattern[str] | None
    international_prefix: re.Pattern[str] | None


def _plan_of(metadata: PhoneMetadata) -> _Plan | None:
    general = metadata.general_desc
    if general is None or not general.possible_length:
        return None
    return _Plan(
        country_code=str(metadata.country_code),
        length_results=tuple(_length_result(length, general) for length in range(_MAX_NATIONAL_LENGTH + 1)),
        national_prefix=_compiled(metadata.national_prefix_for_parsing),
        transform_rule=metadata.national_prefix_transform_rule or None,
        general_pattern=_compiled(general.national_number_pattern),
        international_prefix=_compiled_idd(metadata.international_prefix),
    )


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None  # for these two the library treats None and "" alike


def _compiled_idd(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else re.compile(pattern)  # the library: None never matches, "" always


@cache  # one per region asked for
def _region_plan(region: str) -> _Plan | None:
    known = region in phonenumbers.SUPPORTED_REGIONS  # parse refuses a national number in any other
    metadata = PhoneMetadata.metadata_for_region(region, None) if known else None
    return _plan_of(metadata) if metadata is not None else None


@cache  # one per country code met
def _country_plan(country_code: int) -> _Plan | None:
    """The metadata parse and is_possible_number use for a country code: its main region's."""
    main_region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main_region)
    return _plan_of(metadata) if metadata is not None else None


def _without_national_prefix(number: str, plan: _Plan) -> str | None:
    """The national number as parse keeps it after stripping the national prefix; None: the library's."""
    if plan.national_prefix is None:
        return number
    match = plan.national_prefix.match(number)
    if match is None:
        return number
    if plan.transform_rule is not None and not (match.groups() and match.groups()[-1] is None):
        return None  # a prefix rewritten by a rule (Argentina, Mexico...): the library's business
    stripped = number[match.end():]
    pattern = plan.general_pattern
    if pattern is not None and pattern.fullmatch(number) and not pattern.fullmatch(stripped):
        return number  # the whole number fits the plan and the stripped one does not: no prefix
    result = plan.length_results[len(stripped)] if len(stripped) <= _MAX_NATIONAL_LENGTH else _TOO_LONG
    if result == _POSSIBLE:
        return stripped
    if result == _TOO_LONG:
        return None  # parse keeps a too-long stripped number: rare, left to the library
    return number  # too short, local only or an invalid length: parse keeps the digits as they were


def fast_e164(text: str, region: str) -> str | None:
    """phonenumbers' E.164 for a possible number written in a common shape; None when the library must decide.

    `region` is an upper-case region code as normalize_phone passes it.
    """
    if _SIMPLE_SHAPE.fullmatch(text) is None:
        return None
    region_plan = _region_plan(region)
    if region_plan is None:
        return None
    digits = text.translate(_PUNCTUATION)
    if text[0] == "+":
        if len(digits) <= _MIN_NATIONAL_LENGTH or digits[0] == "0":
            return None
        for code_length in (1, 2, 3):
            if int(digits[:code_length]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        country_code, national = digits[:code_length], digits[code_length:]
        plan = _country_plan(int(country_code))
        prefix_plan = plan
    else:
        if len(digits) < 3:  # parse wants 3 digits when there is punctuation; two alone are the library's
            return None
        idd = region_plan.international_prefix
        if (idd is not None and idd.match(digits)) or digits.startswith(region_plan.country_code):
            return None
        country_code, national = region_plan.country_code, digits
        plan = _country_plan(int(country_code))
        prefix_plan = region_plan
    if plan is None or prefix_plan is None or len(national) < _MIN_NATIONAL_LENGTH:
        return None
    national = _without_national_prefix(national, prefix_plan)
    if national is None or len(national) > _MAX_NATIONAL_LENGTH:
        return None
    if plan.length_results[len(national)] != _POSSIBLE:
        return None  # not a possible number: the library says why
    return f"+{country_code}{national}"
