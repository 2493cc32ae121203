"""A mail's author as a customers row: the cells a CSV row would have (email, first_name, last_name), validated by
the customers kind's own field rules and planned by the one planner, as rows numbered by their message's UID.

What the CSV path would refuse (a name over 200 characters, a name a spreadsheet would run as a formula...) is a
skip with its reason, never an exception; control characters are removed from names as in every import. The
one difference from a file's row: a correspondent whose mail has no display name still becomes a customer (a
file names the people it creates; a message has no more to give than its address).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from plugin.kinds import Catalog, ImportKind
from plugin.mail import SkipReason
from plugin.mapping import ColumnMapping, MappedColumn
from plugin.plan import Action, Existing, PlannedRow, plan_row
from plugin.read import SourceRow
from plugin.validate import Record, RowValidator

AUTHOR_FIELDS = ("email", "first_name", "last_name")
AUTHOR_MAPPING = ColumnMapping(AUTHOR_FIELDS, tuple(MappedColumn(index, name, name) for index, name in enumerate(AUTHOR_FIELDS)))
_json_string = json.JSONEncoder(ensure_ascii=False).encode  # of one str: the json module's C encoder
_CONTROL_CHARACTERS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])  # removed from any text a skip stores


@dataclass(frozen=True, slots=True)
class MailAuthor:
    """A message's author to capture, with where the address was seen."""

    row: int  # the message's place in its poll (1 for the first fetched): the customer's last_import_row
    uid: int  # where it is in the folder (a UID may not fit an import's row number)
    email: str  # normalised (plugin.emails.normalize_email)
    first_name: str | None
    last_name: str | None
    message_id: str | None
    date: datetime | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """An author the CSV path would refuse, as the skip it becomes."""

    row: int
    reason: str
    detail: str


def capture_kind(kind: ImportKind) -> ImportKind:
    """The kind as mail capture plans it: the same fields and checks, none required of a new customer but the
    key (a message without a display name still has an author)."""
    return dataclasses.replace(kind, fields=tuple(dataclasses.replace(spec, is_required_for_new=False)
                                                  for spec in kind.fields))


def printable(text: str | None) -> str | None:
    """Text without control characters (NUL above all, which PostgreSQL cannot store), for what a skip keeps."""
    return text if text is None or text.isprintable() else text.translate(_CONTROL_CHARACTERS)


def source_detail(mailbox: str, folder: str, author: MailAuthor) -> str:
    """Where a captured customer came from, as JSON: mailbox, folder, Message-ID and the message's date.

    Written directly rather than by json.dumps of a dict: it is made for every captured customer."""
    message_id = "null" if author.message_id is None else _json_string(author.message_id)
    sent = "null" if author.date is None else f'"{author.date.isoformat()}"'
    return (f'{{"mailbox":{_json_string(mailbox)},"folder":{_json_string(folder)},'
            f'"message_id":{message_id},"date":{sent}}}')


class AuthorPlanner:
    """Authors → validated records → planned new customers, for one pass over a mailbox (one catalog)."""

    def __init__(self, kind: ImportKind, catalog: Catalog, options: Mapping[str, object]) -> None:
        self.kind = capture_kind(kind)
        self.catalog = catalog
        self.options = options
        self.validator = RowValidator(self.kind, AUTHOR_MAPPING, catalog, options, {})

    def validate(self, author: MailAuthor) -> Record:
        cells = (author.email, author.first_name or "", author.last_name or "")
        return self.validator.validate(SourceRow(author.row, cells))

    def plan(self, records: Sequence[Record], existing: Mapping[str, Existing]
             ) -> tuple[list[PlannedRow], list[Refusal]]:
        """The new customers among records (the first valid one of each address not stored yet) and the refused
        ones; the others are mail from someone stored already, or created by an earlier record."""
        creating: list[PlannedRow] = []
        refused: list[Refusal] = []
        claims: dict[str, int] = {}
        for record in records:
            if record.key in existing or record.key in claims:
                continue
            planned = plan_row(self.kind, record, by_key=existing, by_id={}, claims=claims, options=self.options,
                               catalog=self.catalog)
            if planned.action is Action.CREATED:
                creating.append(planned)
            else:
                error = planned.errors[0]
                refused.append(Refusal(record.row, str(SkipReason.INVALID_VALUE),
                                       printable(f"{error.column}: {error.code}: {error.message}") or ""))
        return creating, refused
