"""Phone numbers: one parse into E.164 (`+447700900123`) for every source, each distinct text parsed once.

phonenumbers costs tens of microseconds a call, and a file repeats few numbers but many rows: the verdict
for each (text, region) is remembered, so a 100,000-row file pays for its distinct numbers only, and the
common shapes (`07700 900123`, `+1 (415) 555-2671`) skip `parse` through plugin/phone_shapes.py, which gives
the library's own E.164 from its metadata or leaves the number to the library. A number
without an international prefix is read in the import's region (the `default_region` setting, or
`--region`); a number that cannot be a phone number anywhere is a `phone.invalid` problem naming the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from plugin.phone_shapes import fast_e164

DEFAULT_REGION = "GB"
PHONE_TEXT_MAX = 100  # phonenumbers refuses longer input itself; this keeps the message short


class InvalidPhone(ValueError):
    """The text is not a phone number we can store in E.164; the message says why."""


@dataclass(frozen=True, slots=True)
class _PhoneVerdict:
    e164: str | None
    problem: str | None


def is_known_region(region: str) -> bool:
    """Is this a two-letter region phonenumbers knows (GB, US, DE...)? Any case."""
    return region.strip().upper() in phonenumbers.SUPPORTED_REGIONS


@lru_cache(maxsize=65536)
def _phone_verdict(text: str, region: str) -> _PhoneVerdict:
    e164 = fast_e164(text, region)  # the common shapes, exactly as the library would answer
    return _PhoneVerdict(e164, None) if e164 is not None else _library_verdict(text, region)


def _library_verdict(text: str, region: str) -> _PhoneVerdict:
    shown = text if len(text) <= 40 else text[:40] + "..."
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return _PhoneVerdict(None, f"{shown!r} is not a phone number.")
    # Not is_possible_number(), which also passes a number only dialable locally ('12345' in GB: IS_POSSIBLE_LOCAL_ONLY)
    # and would store '+4412345': half a number.
    if phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return _PhoneVerdict(None, f"{shown!r} is not a possible phone number "
                                   f"(numbers without a +country prefix are read as {region} numbers).")
    if number.extension:
        return _PhoneVerdict(None, f"{shown!r} has an extension, which a stored number (E.164) cannot keep; "
                                   "put the extension in another column.")
    return _PhoneVerdict(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None)


def normalize_phone(text: str, region: str = DEFAULT_REGION) -> str:
    """The stored form of a phone number: E.164, e.g. '07700 900123' in GB → '+447700900123'.

    Raises InvalidPhone when the text is not a possible number, or carries an extension E.164 cannot hold.
    """
    cleaned = " ".join(text.split())
    if len(cleaned) > PHONE_TEXT_MAX:
        raise InvalidPhone(f"This phone number is {len(cleaned)} characters long; at most {PHONE_TEXT_MAX} fit.")
    verdict = _phone_verdict(cleaned, region.strip().upper() or DEFAULT_REGION)
    if verdict.problem is not None:
        raise InvalidPhone(verdict.problem)
    assert verdict.e164 is not None
    return verdict.e164
