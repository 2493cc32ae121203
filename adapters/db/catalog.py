"""Labels, companies, teams and custom fields: what imported rows refer to, and the commands that manage them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, select

from adapters.db.dialect import insert_for
from adapters.db.models import Company, CompanyDomain, CustomFieldRow, Label, Team
from plugin.companies import company_name_key
from plugin.kinds import Catalog, CustomField, FieldType
from plugin.validate import is_formula_like

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CatalogError(ValueError):
    """A label, company or custom field cannot be added as asked; the message says why."""


KINDS_WITH_CUSTOM_FIELDS = ("customers", "companies")


def load_custom_fields(connection: Connection, applies_to: str = "customers") -> dict[str, CustomField]:
    """The custom fields of one kind's files, by variable."""
    return {row.variable: CustomField(row.id, row.variable, FieldType(row.type), tuple(row.choices or ()), row.applies_to)
            for row in connection.execute(
                select(CustomFieldRow.id, CustomFieldRow.variable, CustomFieldRow.type, CustomFieldRow.choices,
                       CustomFieldRow.applies_to).where(CustomFieldRow.applies_to == applies_to))}


def load_catalog(connection: Connection, applies_to: str = "customers") -> Catalog:
    """Everything rows may name: labels, companies with their domains, teams, and one kind's custom fields."""
    catalog = Catalog()
    catalog.label_ids = dict(connection.execute(select(Label.name, Label.id)).all())
    for company_id, name, name_key in connection.execute(select(Company.id, Company.name, Company.name_key)):
        catalog.companies[company_id] = name
        catalog.company_keys[name_key] = company_id
    catalog.company_domains = dict(connection.execute(select(CompanyDomain.domain, CompanyDomain.company_id)).all())
    catalog.teams = dict(connection.execute(select(Team.name, Team.id)).all())
    catalog.custom_fields = load_custom_fields(connection, applies_to)
    return catalog


def ensure_labels(connection: Connection, names: Iterable[str], *, now: Clock = utc_now) -> dict[str, int]:
    """Create the labels that do not exist yet; return the ids of all of them."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    moment = now()
    connection.execute(insert_for(connection, Label.__table__).on_conflict_do_nothing(index_elements=["name"]),
                       [{"name": name, "created_at": moment} for name in wanted])
    return dict(connection.execute(select(Label.name, Label.id).where(Label.name.in_(wanted))).all())


def ensure_teams(connection: Connection, names: Iterable[str], *, now: datetime) -> dict[str, int]:
    """Create the teams that do not exist yet; return the ids of all of them."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    connection.execute(insert_for(connection, Team.__table__).on_conflict_do_nothing(index_elements=["name"]),
                       [{"name": name, "created_at": now} for name in wanted])
    return dict(connection.execute(select(Team.name, Team.id).where(Team.name.in_(wanted))).all())


def ensure_companies(connection: Connection, names: Iterable[str], *, now: datetime) -> dict[str, int]:
    """Create the companies whose names (any case) do not exist yet; return casefolded name → id for all."""
    wanted = {company_name_key(name): " ".join(name.split()) for name in names}
    if not wanted:
        return {}
    connection.execute(insert_for(connection, Company.__table__).on_conflict_do_nothing(index_elements=["name_key"]),
                       [{"name": name, "name_key": key, "created_at": now, "updated_at": now}
                        for key, name in sorted(wanted.items())])
    return dict(connection.execute(select(Company.name_key, Company.id).where(Company.name_key.in_(sorted(wanted)))).all())


def add_labels(engine: Engine, names: Sequence[str]) -> dict[str, int]:
    for name in names:
        if not name.strip() or ":" in name:
            raise CatalogError(f"{name!r} cannot be a label name: it must not be empty or contain ':'.")
        if is_formula_like(name.strip()):
            raise CatalogError(f"{name!r} cannot be a label name: a spreadsheet would run it as a formula.")
    with engine.begin() as connection:
        return ensure_labels(connection, [name.strip() for name in names])


def list_labels(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return connection.execute(select(Label.id, Label.name).order_by(Label.name)).all()


def add_company(engine: Engine, name: str, *, now: Clock = utc_now) -> int:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise CatalogError("A company needs a name.")
    with engine.begin() as connection:
        existing = connection.execute(select(Company.id).where(Company.name_key == company_name_key(cleaned))).scalar()
        if existing is not None:
            raise CatalogError(f"A company named {cleaned!r} already exists (id {existing}).")
        moment = now()
        return connection.execute(Company.__table__.insert().values(
            name=cleaned, name_key=company_name_key(cleaned), created_at=moment, updated_at=moment,
        ).returning(Company.id)).scalar_one()


def list_companies(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return connection.execute(select(Company.id, Company.name).order_by(Company.id)).all()


def add_custom_field(engine: Engine, variable: str, field_type: FieldType, choices: Sequence[str] = (), *,
                     applies_to: str = "customers", now: Clock = utc_now) -> int:
    """Define a custom field of customers' files (or, with applies_to="companies", of companies' files)."""
    if not variable.isidentifier():
        raise CatalogError(f"{variable!r} cannot be a variable name: use letters, digits and underscores, e.g. plan or renewal_date.")
    if field_type is FieldType.CHOICE and not choices:
        raise CatalogError("A choice field needs --choices, e.g. --choices gold,silver,bronze.")
    if applies_to not in KINDS_WITH_CUSTOM_FIELDS:
        raise CatalogError(f"Custom fields are for {' or '.join(KINDS_WITH_CUSTOM_FIELDS)}, not {applies_to!r}.")
    with engine.begin() as connection:
        if connection.execute(select(CustomFieldRow.id).where(CustomFieldRow.variable == variable)).scalar() is not None:
            raise CatalogError(f"A custom field named {variable!r} already exists.")
        return connection.execute(CustomFieldRow.__table__.insert().values(
            variable=variable, type=str(field_type), choices=list(choices), applies_to=applies_to, created_at=now(),
        ).returning(CustomFieldRow.id)).scalar_one()


def list_custom_fields(engine: Engine) -> list[CustomField]:
    """Every custom field, customers' and companies', by variable."""
    with engine.connect() as connection:
        fields = [custom for kind in KINDS_WITH_CUSTOM_FIELDS for custom in load_custom_fields(connection, kind).values()]
    return sorted(fields, key=lambda custom: custom.variable)
