"""Another system's ids (a Wifox client's, project's or desk's): the fields, option and rules every kind that keeps
them shares. An external id is unique within its external source, the system it comes from."""

from __future__ import annotations

import re
from collections.abc import Mapping

from plugin.kinds import Field
from plugin.kinds.declared_options import Option, OptionType
from plugin.validate import parse_name

EXTERNAL_SOURCE = Option("external_source", OptionType.TEXT, "The system the external ids come from",
                         "The system whose ids the external_id column holds (e.g. wifox): an external id is unique "
                         "within its system.", setting="external_source")
DEFAULT_EXTERNAL_SOURCE = "crm"  # the setting external_source's default (plugin.toml), for code that reads no settings
EXTERNAL_ID_ALIASES = ("external id", "externalid", "external ref", "external reference", "crm id", "source id",
                       "legacy id")
EXTERNAL_SOURCE_FIELD = Field(
    "external_source", parse=parse_name, is_repetitive=True, aliases=("external system", "source system"),
    examples=("", ""), description="The system an external id comes from, when the row says so; else the import's "
                                   "option external_source (default: the setting external_source, crm).")
_FOREIGN_ID = re.compile(r"[0-9a-f]{16,}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)


def external_id_field(whose: str, example: str) -> Field:
    """The external_id field of a kind: `whose` ("The customer's") id in the system the file comes from."""
    return Field("external_id", parse=parse_name, aliases=EXTERNAL_ID_ALIASES, examples=(example, ""),
                 description=f"{whose} id in the system the file comes from (the option external_source); unique "
                             "within that system: a re-import updates the same record even when its key changed.")


def external_source_of(values: Mapping[str, object], options: Mapping[str, object]) -> str:
    """The system a row's foreign ids come from: its external_source column, else the import's option
    external_source (default: the setting). External ids, and a customer's project and desk, all read it."""
    return str(values.get("external_source") or options.get("external_source") or DEFAULT_EXTERNAL_SOURCE)


def check_external_source(values: dict[str, object], options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """An external id gets the system it comes from; a row's external_source without an external id is refused."""
    if "external_id" in values:
        values["external_source"] = external_source_of(values, options)
    elif values.pop("external_source", None) is not None:
        return [("external_source", "external_source.without_id",
                 "An external source says where an external id comes from; this row has no external id.")]
    return []


def foreign_id(text: str) -> bool:
    """Does a company or group cell hold another system's id rather than a name? Hexadecimal of 16 digits or more
    with a digit in it (MongoDB's ObjectIds, as Wifox's projects and desks: 66524609caa3558dd8f8da65), or a UUID.
    Decided by the cell, so a column mapped by hand reads the same as Wifox's Project and Desk."""
    return _FOREIGN_ID.fullmatch(text) is not None and any(character.isdigit() for character in text)
