"""The customers import: email is the key (case-insensitive), with names, phones, company, labels, groups and custom fields."""

from __future__ import annotations

from collections.abc import Mapping

from plugin.companies import company_for_email, company_name_key
from plugin.kinds import Catalog, CellProblem, Field, ImportKind, unknown_names
from plugin.kinds.external_ids import (EXTERNAL_SOURCE, EXTERNAL_SOURCE_FIELD, check_external_source,
                                      external_id_field, external_source_of, foreign_id)
from plugin.kinds.declared_options import CLEAR_EMPTY, NOT_MAILED, Option, OptionType
from plugin.moments import parse_moment
from plugin.phones import DEFAULT_REGION, InvalidPhone, normalize_phone
from plugin.usernames import parse_username
from plugin.validate import (ACTIVE_ALIASES, GOOGLE_SYSTEM_GROUP, OUTLOOK_LABEL_SEPARATOR, parse_active, parse_email,
                             parse_id, parse_id_list, parse_name, split_names)

PHONE_FIELDS = ("phone", "mobile")

CREATE_LABELS = Option("create_labels", OptionType.FLAG, "Create labels that do not exist yet",
                       "Create unknown labels instead of failing the row.", setting="create_labels",
                       fixes=("labels.unknown",))
REPLACE_LABELS = Option("replace_labels", OptionType.FLAG, "Replace a customer's labels instead of adding to them",
                        "On update, replace labels instead of adding to them.", setting="replace_labels")
DEFAULT_LABELS = Option("default_labels", OptionType.NAMES, "Labels every imported customer gets",
                        "A label every imported customer gets (repeatable; elsewhere names separated by ':').",
                        setting="default_labels", flag="--default-label")
CREATE_COMPANIES = Option("create_companies", OptionType.FLAG, "Create companies named in the company column",
                          "Create the companies named in the company column that do not exist yet.",
                          fixes=("company.unknown",))
CREATE_GROUPS = Option("create_groups", OptionType.FLAG, "Create groups (teams) that do not exist yet",
                       "Create unknown groups (teams) instead of failing the row.",
                       fixes=("groups.unknown",))
REPLACE_GROUPS = Option("replace_groups", OptionType.FLAG, "Replace a customer's groups instead of adding to them",
                        "On update, replace groups instead of adding to them.")
REGION = Option("region", OptionType.REGION, "Region of phone numbers without +country",
                "Region of phone numbers written without +country, e.g. GB or US.", setting="default_region")
INVITE = Option("invite", OptionType.FLAG, "Invite new customers to the customer portal",
                "Mail each customer the import creates (with an email) a set-password invitation to the helpdesk's "
                "customer portal (when smtp_url is set).", needs_setting="smtp_url", without_setting=NOT_MAILED)
# The default of the setting customer_types (plugin.toml), for code that reads no settings
DEFAULT_CUSTOMER_TYPES = ("personal", "business")
_GOOGLE_GROUP_SEPARATOR = ":::"  # Google Contacts' Group Membership: "* myContacts ::: Friends ::: VIP"


def _check_labels(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    in_file = values.pop("labels", ()) or ()
    names: set[str] = set(in_file)  # type: ignore[arg-type]
    problems = unknown_names(in_file, catalog.label_ids, field="labels", what="label",  # type: ignore[arg-type]
                             create=CREATE_LABELS, options=options)
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
    return problems


def _company_named(text: str, source: str, catalog: Catalog) -> int | None:
    """A company cell's company: our name (any case), then the source system's id, then our id (a whole number)."""
    found = catalog.company_keys.get(company_name_key(text))
    if found is None:
        found = catalog.company_externals.get((source, text.strip()))
    if found is None and text.isascii() and text.isdigit() and int(text) in catalog.companies:
        found = int(text)
    return found


def _check_company(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """company_id must exist; a company cell becomes its id (see _company_named), or waits to be created
    (create_companies), keeping the foreign id it was named by."""
    name = values.pop("company", None)
    company_id = values.get("company_id")
    if company_id is not None and company_id not in catalog.companies:
        return [("company_id", "company_id.unknown", f"There is no company with id {company_id}; give an existing "
                                                     "company's id, or its name in a company column.")]
    if name is None:
        return []
    source = external_source_of(values, options)
    found = _company_named(str(name), source, catalog)
    if company_id is not None and found != company_id:
        return [("company", "company.mismatch", f"The company {name!r} is not the company with id {company_id}; give one of the two, or the same company in both.")]
    if found is not None:
        values["company_id"] = found
    elif options.get("create_companies"):
        values["company"] = name  # created when the batch is written
        _remember_foreign(str(name), source, catalog)
    elif foreign_id(str(name)):
        return [_unknown_foreign("company", "company", str(name), source, CREATE_COMPANIES)]
    else:
        return [("company", "company.unknown", f"There is no company named {name!r}; create it first (or import "
                                               f"companies) or import with the option “{CREATE_COMPANIES.label}”.")]
    return []


def _remember_foreign(cell: str, source: str, catalog: Catalog) -> None:
    """A company or team the import creates for another system's id keeps that id (catalog.new_externals)."""
    if foreign_id(cell):
        catalog.new_externals[cell] = (source, cell)


def _unknown_foreign(field: str, what: str, cell: str, source: str, create: Option) -> tuple[str, str, str]:
    """The problem of a cell holding another system's id that nothing here has: the option creating it says so."""
    return (field, f"{field}.unknown", f"No {what} has the {source} id {cell!r} (nor that name); import with the "
                                       f"option “{create.label}” to create one for it, which keeps matching it by "
                                       "that id after you rename it.")


def _team_named(cell: str, source: str, catalog: Catalog) -> str:
    """A group cell's team name: the exact team name, then the source system's id, then our id (a whole number)."""
    if cell in catalog.teams:
        return cell
    by_external = catalog.team_externals.get((source, cell))
    if by_external is not None:
        return by_external
    if not (cell.isascii() and cell.isdigit()):
        return cell
    return next((name for name, team_id in catalog.teams.items() if team_id == int(cell)), cell)


def _check_groups(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Groups are the teams that serve the customer (see _team_named); unknown ones only with create_groups,
    which keeps the foreign id a new team was named by."""
    cells: tuple[str, ...] = tuple(values.pop("groups", ()) or ())  # type: ignore[arg-type]
    if not cells:
        return []
    source = external_source_of(values, options)
    names = tuple(_team_named(cell, source, catalog) for cell in cells)
    values["groups"] = frozenset(names)
    unknown = [name for name in names if name not in catalog.teams]
    if options.get(CREATE_GROUPS.name):
        for name in unknown:
            _remember_foreign(name, source, catalog)
        return []
    foreign = [name for name in unknown if foreign_id(name)]
    return ([_unknown_foreign("groups", "group (team)", name, source, CREATE_GROUPS) for name in foreign]
            + unknown_names([name for name in unknown if name not in foreign], catalog.teams, field="groups",
                            what="group (team)", create=CREATE_GROUPS, options=options))


def _check_phones(values: dict[str, object], options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Phone numbers → E.164, read in the import's region when they have no +country prefix."""
    problems: list[tuple[str, str, str]] = []
    region = str(options.get("region") or DEFAULT_REGION)
    for name in PHONE_FIELDS:
        text = values.get(name)
        if not isinstance(text, str):
            continue
        try:
            values[name] = normalize_phone(text, region)
        except InvalidPhone as problem:
            del values[name]
            problems.append((name, "phone.invalid", str(problem)))
    return problems


def _check_type(values: dict[str, object], options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """The account type is one of the setting customer_types (any case), stored as the setting spells it."""
    given = values.get("type")
    if given is None:
        return []
    allowed: tuple[str, ...] = tuple(options.get("customer_types") or DEFAULT_CUSTOMER_TYPES)  # type: ignore[arg-type]
    for choice in allowed:
        if choice.casefold() == str(given).casefold():
            values["type"] = choice
            return []
    del values["type"]
    return [("type", "type.unknown", f"{given!r} is not an account type; use one of {', '.join(allowed)} "
                                     "(the setting customer_types).")]


def check_customer(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """Resolve labels, company, groups against the catalog; fold labels into one set of names; phones into E.164;
    the account type against the setting's list; an external id gets the system it comes from."""
    problems = check_external_source(values, options)
    return (problems + _check_labels(values, catalog, options) + _check_company(values, catalog, options)
            + _check_groups(values, catalog, options) + _check_phones(values, options) + _check_type(values, options))


def complete_new_customer(values: Mapping[str, object], catalog: Catalog, options: Mapping[str, object]
                          ) -> Mapping[str, object]:
    """A new customer without a company joins the company owning their email's domain (never a free-mail one)."""
    if not catalog.company_domains or values.get("company_id") is not None or "company" in values:
        return values
    company_id = company_for_email(str(values["email"]), catalog.company_domains,
                                   options.get("free_mail_domains", ()) or ())  # type: ignore[arg-type]
    return values if company_id is None else {**values, "company_id": company_id}


def _parse_labels(text: str) -> tuple[str, ...]:
    """A labels cell → label names: ours ('A:B'), Outlook's Categories ('A;B') and Google's Group Membership
    ('* myContacts ::: A'). Google's own groups ('* myContacts', '* starred'), alone or in a list, are no labels."""
    parts = text.replace(_GOOGLE_GROUP_SEPARATOR, ":").replace(OUTLOOK_LABEL_SEPARATOR, ":").split(":")
    return split_names(":".join(part for part in parts if not part.strip().startswith(GOOGLE_SYSTEM_GROUP)),
                       what="label")


def _parse_label_ids(text: str) -> tuple[int, ...]:
    return parse_id_list(text, what="label id")


def _parse_company_id(text: str) -> int:
    return parse_id(text, what="company id")


def _parse_groups(text: str) -> tuple[str, ...]:
    return split_names(text, what="group")


def _parse_our_id(text: str) -> int:
    try:
        return parse_id(text, what="id")
    except CellProblem:
        raise CellProblem("id.invalid", f"{text.strip()!r} is not one of our customer ids (whole numbers); another "
                                        "system's id belongs in an external_id column.") from None


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
        Field("last_name", can_be_cleared=True, parse=parse_name,
              aliases=("lastname", "last", "surname", "family name", "family", "lname"),
              examples=("Doe", "Patel")),
        Field("middle_name", can_be_cleared=True, parse=parse_name,
              aliases=("middle", "additional name", "middle names", "second name", "middle initial"),
              examples=("", "Kumar")),
        Field("username", parse=parse_username,
              aliases=("user name", "login name", "handle", "user"),
              examples=("", "raj.patel"), description="Unique; generated from the email when empty."),
        # The first matching column wins: Outlook's Business Phone before its Primary Phone, Google's Phone 1.
        Field("phone", aliases=("phone number", "telephone", "telephone number", "tel", "business phone", "work phone",
                                "office phone", "primary phone", "phone 1 - value", "landline", "contact number"),
              can_be_cleared=True, examples=("+44 20 7946 0958", "020 7946 0000"),
              description="Stored in E.164 (+442079460958); a number without +country is read in the import's region."),
        Field("mobile", aliases=("mobile phone", "mobile number", "mobile phone number", "cell", "cell phone",
                                 "cellphone", "cell number", "mobile tel"),
              can_be_cleared=True, examples=("+44 7700 900123", ""), description="Like phone: stored in E.164."),
        Field("company", parse=parse_name, is_repetitive=True,
              aliases=("company name", "organization", "organisation", "organization name", "organisation name",
                       "organization 1 - name", "employer", "account name", "project", "project name"),
              examples=("", ""),
              description="An existing company's name (any case), else the id the import's external source gives "
                          "it (a Wifox project), else our id; unknown ones are created only when asked (another "
                          "system's id is then kept by the new company)."),
        Field("company_id", can_be_cleared=True, parse=_parse_company_id, is_repetitive=True,
              aliases=("companyid", "company id", "organization id", "organisation id"),
              examples=("", ""), description="The id of an existing company."),
        Field("labels", parse=_parse_labels, is_repetitive=True, is_name_list=True,
              aliases=("label", "tags", "tag", "label names", "group membership", "categories", "category"),
              examples=("Marketing:Trial", "Demo"),
              description="Exact, case-sensitive label names separated by ':' (or ';', as Outlook's Categories); "
                          "Google's Group Membership works too, without its own groups such as '* myContacts'."),
        Field("labels_id", parse=_parse_label_ids, is_repetitive=True,
              aliases=("label ids", "label_ids", "labelids", "label id", "tag ids"),
              examples=("", ""), description="Label ids separated by ':'."),
        Field("groups", parse=_parse_groups, is_repetitive=True, is_name_list=True,
              aliases=("group", "client teams", "client team", "customer groups", "customer group", "teams", "team",
                       "group identifier", "group identifiers", "group name", "group names", "client group",
                       "client groups", "contact group", "contact groups", "customer team", "customer teams",
                       "desk", "desks", "desk name"),
              examples=("", ""),
              description="The teams that serve the customer, separated by ':': exact team names, else the id "
                          "the import's external source gives a team (a Wifox desk), else our team id."),
        Field("active", parse=parse_active, is_repetitive=True, aliases=ACTIVE_ALIASES,
              examples=("true", "false"),
              description="true/false, yes/no, 1/0 or active/inactive; a new customer is active by default. An "
                          "inactive customer is kept, shown as inactive, and mail from them does not make them active."),
        Field("type", parse=parse_name, is_repetitive=True,
              aliases=("account type", "customer type", "client type", "contact type"),
              examples=("personal", "business"),
              description="The account type: one of the setting customer_types (default: personal, business)."),
        Field("created_at", parse=parse_moment,
              aliases=("created", "created on", "creation date", "date created", "created date", "creation time",
                       "registered", "registration date", "signup date", "customer since", "client since"),
              examples=("2024-06-13T15:06:02.802Z", "13/06/2024"),
              description="When the customer was first created (in the system they come from): ISO 8601, or a "
                          "spreadsheet's day/month/year; a time without a zone is UTC. Empty: the time of import."),
        external_id_field("The customer's", "666c2c2f32735479fd3e9a5c"),
        EXTERNAL_SOURCE_FIELD,
        Field("id", parse=_parse_our_id, aliases=("contact id", "customer id", "contact_id", "customer_id"),
              foreign_values_field="external_id",
              description="Optional: this product's id of an existing customer; when given it is the key, so an "
                          "exported file can change emails. An id no customer has fails the row; a column of "
                          "another system's ids (as Wifox's ID) is read as external_id."),
    ),
    allows_custom_fields=True,
    description="People who write to support: matched by email, so a file can update the ones you already have.",
    check_record=check_customer,
    complete_new=complete_new_customer,
    unique_fields=("username",),
    options=(CREATE_LABELS, REPLACE_LABELS, DEFAULT_LABELS, CREATE_COMPANIES, CREATE_GROUPS, REPLACE_GROUPS, REGION,
             EXTERNAL_SOURCE, CLEAR_EMPTY, INVITE),
)
