"""The companies import: the name is the key (case-insensitive), with mail domains, an optional id and custom fields.

A domain belongs to one company: a row giving a domain another company owns (stored, or claimed by an
earlier row of the same file) fails with `domains.taken`; free-mail domains (gmail.com...) belong to nobody.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import cast

from plugin.companies import company_name_key, is_free_mail, parse_domains
from plugin.kinds import Catalog, Field, ImportKind
from plugin.kinds.declared_options import Option, OptionType
from plugin.kinds.external_ids import EXTERNAL_SOURCE, EXTERNAL_SOURCE_FIELD, check_external_source, external_id_field
from plugin.validate import parse_name, parse_record_id


REPLACE_DOMAINS = Option("replace_domains", OptionType.FLAG, "Replace a company's domains instead of adding to them",
                         "On update, replace a company's mail domains instead of adding to them.")


@dataclass(slots=True)
class CompanyCatalog(Catalog):
    """The catalog of a companies import: who owns which domain, claimed as the rows go."""

    domain_claims: dict[str, str] = field(default_factory=dict)  # domain → "id:N" (stored) or a name key (this file)


def _identity(values: Mapping[str, object], catalog: Catalog, key: str) -> str:
    """The company a row is about: its id when the id or the name is known, else its name key."""
    company_id = values.get("id")
    if isinstance(company_id, int) and company_id in catalog.companies:
        return f"id:{company_id}"
    found = catalog.company_keys.get(key)
    return key if found is None else f"id:{found}"


def _owner_name(owner: str, catalog: Catalog) -> str:
    if owner.startswith("id:"):
        company_id = int(owner[3:])
        return f"{catalog.companies.get(company_id, '?')} (id {company_id})"
    return f"{owner} (earlier in this file)"


def check_company(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """An external id gets the system it comes from; each domain must be free or already this company's, and never
    a free-mail provider's."""
    problems = check_external_source(values, options)
    return problems + _check_domains(values, catalog, options)


def _check_domains(values: dict[str, object], catalog: Catalog, options: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """The row's domains, checked and claimed for it (an earlier row's claim makes a later one's taken)."""
    domains = cast("Collection[str]", values.pop("domains", ()) or ())  # parse_domains made it a frozenset
    name = values.get("name")
    if not domains or not isinstance(name, str):
        return []
    if isinstance(catalog, CompanyCatalog):
        claims = catalog.domain_claims
    else:
        claims = {domain: f"id:{company_id}" for domain, company_id in catalog.company_domains.items()}
    identity = _identity(values, catalog, company_name_key(name))
    extra_free_mail = options.get("free_mail_domains", ()) or ()
    problems: list[tuple[str, str, str]] = []
    for domain in domains:
        if is_free_mail(domain, extra_free_mail):  # type: ignore[arg-type]
            problems.append(("domains", "domains.free_mail",
                             f"{domain} is a free-mail domain: its addresses are no one company's customers; leave it out."))
            continue
        owner = claims.get(domain)
        if owner is not None and owner != identity:
            problems.append(("domains", "domains.taken",
                             f"{domain} already belongs to the company {_owner_name(owner, catalog)}; a domain has one company."))
    if not problems:
        for domain in domains:
            claims.setdefault(domain, identity)
        values["domains"] = frozenset(domains)
    return problems


COMPANIES = ImportKind(
    name="companies",
    title="companies",
    key="name",
    fields=(
        Field("name", parse=parse_name, is_required_column=True, is_required_for_new=True,
              aliases=("company", "company name", "organization", "organisation", "organization name",
                       "organisation name", "account name", "account"),
              examples=("Acme Ltd", "Globex GmbH"),
              description="The company's name; a matching name (any case) updates the company."),
        Field("domains", parse=parse_domains,
              aliases=("domain", "domain names", "email domains", "mail domains", "web domains", "website domains"),
              examples=("acme.com:acme.co.uk", "globex.de"),
              description="Mail domains separated by ':'; a new customer writing from one joins the company."),
        Field("id", parse=parse_record_id, aliases=("company id", "company_id", "companyid"),
              description="Optional: this product's id of an existing company; when known it is the key, so an exported file can rename companies."),
        external_id_field("The company's (a Wifox project's)", "66524609caa3558dd8f8da65"),
        EXTERNAL_SOURCE_FIELD,
    ),
    allows_custom_fields=True,
    description="The organisations customers belong to, with their mail domains: new customers join theirs by domain.",
    check_record=check_company,
    options=(REPLACE_DOMAINS, EXTERNAL_SOURCE),
)
