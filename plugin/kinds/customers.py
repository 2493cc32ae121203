"""The customers import: email is the key (case-insensitive), with names, company, labels and custom fields."""

from __future__ import annotations

from collections.abc import Mapping

from plugin.kinds import Catalog, CellProblem, Field, ImportKind
from plugin.validate import parse_email, parse_id, parse_id_list, parse_name, split_names


def check_customer(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Resolve labels, label ids and the company against the catalog; fold labels into one set of names."""
    problems: list[tuple[str, str, str]] = []
    names: set[str] = set()
    for name in values.pop("labels", ()) or ():  # type: ignore[union-attr]
        if name not in catalog.label_ids and not options.get("create_labels"):
            known_other_case = [known for known in catalog.label_ids if known.casefold() == name.casefold()]
            hint = f" (label names are case-sensitive: did you mean {known_other_case[0]!r}?)" if known_other_case else ""
            problems.append(("labels", "labels.unknown", f"There is no label named {name!r}{hint}; create it first or import with --create-labels."))
        names.add(name)
    label_ids = values.pop("labels_id", ()) or ()
    by_id = catalog.label_names if label_ids else {}
    for label_id in label_ids:  # type: ignore[union-attr]
        if label_id not in by_id:
            problems.append(("labels_id", "labels_id.unknown", f"There is no label with id {label_id}."))
        else:
            names.add(by_id[label_id])
    names.update(options.get("default_labels", ()) or ())  # type: ignore[arg-type]
    if names:
        values["labels"] = frozenset(names)
    company_id = values.get("company_id")
    if company_id is not None and company_id not in catalog.companies:
        problems.append(("company_id", "company_id.unknown", f"There is no company with id {company_id}; create it first (contact-importer companies add NAME)."))
    return problems


def _parse_labels(text: str) -> tuple[str, ...]:
    return split_names(text, what="label")


def _parse_label_ids(text: str) -> tuple[int, ...]:
    return parse_id_list(text, what="label id")


def _parse_company_id(text: str) -> int:
    return parse_id(text, what="company id")


def _parse_contact_id(text: str) -> int | None:
    try:
        return parse_id(text, what="id")
    except CellProblem:
        return None  # ids from another system are not ours: the email stays the key


CUSTOMERS = ImportKind(
    name="customers",
    title="customers",
    key="email",
    fields=(
        Field("email", parse=parse_email, is_required_column=True,
              aliases=("email address", "e-mail", "e-mail address", "e-mail 1 - value", "email 1 - value", "mail",
                       "primary email", "email1", "emailaddress1", "work email", "business email"),
              examples=("jane.doe@example.com", "Raj.Patel@Example.org"),
              description="The customer's address; a matching address (any case) updates the customer."),
        Field("first_name", parse=parse_name, is_required_for_new=True,
              aliases=("firstname", "first", "first name", "given name", "given", "forename", "fname"),
              examples=("Jane", "Raj"), description="Required when the row creates a customer."),
        Field("last_name", parse=parse_name,
              aliases=("lastname", "last", "surname", "family name", "family", "lname"),
              examples=("Doe", "Patel")),
        Field("company_id", parse=_parse_company_id, is_repetitive=True,
              aliases=("companyid", "company id", "organization id", "organisation id"),
              examples=("", ""), description="The id of an existing company."),
        Field("labels", parse=_parse_labels, is_repetitive=True,
              aliases=("label", "tags", "tag", "label names"),
              examples=("Marketing:Trial", "Demo"),
              description="Exact, case-sensitive label names separated by ':'."),
        Field("labels_id", parse=_parse_label_ids, is_repetitive=True,
              aliases=("label ids", "label_ids", "labelids", "label id", "tag ids"),
              examples=("", ""), description="Label ids separated by ':'."),
        Field("id", parse=_parse_contact_id, aliases=("contact id", "customer id", "contact_id", "customer_id"),
              description="Optional: this product's id of an existing customer; when known it is the key, so an exported file can change emails."),
    ),
    allows_custom_fields=True,
    check_record=check_customer,
)
