"""Labels, companies, teams and custom fields in the database: what imported rows refer to."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone

from sqlalchemy import Connection, select

from adapters.db.dialect import insert_for
from adapters.db.models import Company, CompanyDomain, CustomFieldRow, Label, Team
from plugin.companies import company_name_key
from plugin.kinds import Catalog, CustomField, FieldType

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def load_custom_fields(connection: Connection, applies_to: str = "customers") -> dict[str, CustomField]:
    """The custom fields of one kind's files, by variable."""
    return {row.variable: CustomField(row.id, row.variable, FieldType(row.type), tuple(row.choices or ()), row.applies_to)
            for row in connection.execute(
                select(CustomFieldRow.id, CustomFieldRow.variable, CustomFieldRow.type, CustomFieldRow.choices,
                       CustomFieldRow.applies_to).where(CustomFieldRow.applies_to == applies_to))}


def load_catalog(connection: Connection, applies_to: str = "customers") -> Catalog:
    """Everything rows may name: labels, companies with their domains, teams (both also by the id another system
    gives them), and one kind's custom fields."""
    catalog = Catalog()
    catalog.label_ids = dict(connection.execute(select(Label.name, Label.id)).all())
    for company_id, name, name_key, source, external_id in connection.execute(
            select(Company.id, Company.name, Company.name_key, Company.external_source, Company.external_id)):
        catalog.companies[company_id] = name
        catalog.company_keys[name_key] = company_id
        if external_id is not None:
            catalog.company_externals[(source, external_id)] = company_id
    catalog.company_domains = dict(connection.execute(select(CompanyDomain.domain, CompanyDomain.company_id)).all())
    for name, team_id, source, external_id in connection.execute(
            select(Team.name, Team.id, Team.external_source, Team.external_id)):
        catalog.teams[name] = team_id
        if external_id is not None:
            catalog.team_externals[(source, external_id)] = name
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


def _external_columns(name: str, externals: Mapping[str, tuple[str, str]]) -> dict[str, str | None]:
    """A new company's or team's external_source and external_id: those of the foreign id it is named by, if any."""
    source, external_id = externals.get(name, (None, None))
    return {"external_source": source, "external_id": external_id}


def ensure_teams(connection: Connection, names: Iterable[str], *, now: datetime,
                 externals: Mapping[str, tuple[str, str]] | None = None) -> dict[str, int]:
    """Create the teams that do not exist yet (with the other system's id `externals` gives a name); return the
    ids of all of them."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    connection.execute(insert_for(connection, Team.__table__).on_conflict_do_nothing(index_elements=["name"]),
                       [{"name": name, "created_at": now, **_external_columns(name, externals or {})}
                        for name in wanted])
    return dict(connection.execute(select(Team.name, Team.id).where(Team.name.in_(wanted))).all())


def ensure_companies(connection: Connection, names: Iterable[str], *, now: datetime,
                     externals: Mapping[str, tuple[str, str]] | None = None) -> dict[str, int]:
    """Create the companies whose names (any case) do not exist yet (with the other system's id `externals` gives a
    name); return casefolded name → id for all."""
    wanted = {company_name_key(name): " ".join(name.split()) for name in names}
    if not wanted:
        return {}
    connection.execute(insert_for(connection, Company.__table__).on_conflict_do_nothing(index_elements=["name_key"]),
                       [{"name": name, "name_key": key, "created_at": now, "updated_at": now,
                         **_external_columns(name, externals or {})}
                        for key, name in sorted(wanted.items())])
    return dict(connection.execute(select(Company.name_key, Company.id).where(Company.name_key.in_(sorted(wanted)))).all())


class SqlCatalogStore:
    """plugin.ports.catalog.CatalogStore on one connection (one unit of work's transaction)."""

    def __init__(self, connection: Connection, *, now: Clock = utc_now) -> None:
        self.connection = connection
        self.now = now

    def ensure_labels(self, names: Sequence[str]) -> dict[str, int]:
        return ensure_labels(self.connection, names, now=self.now)

    def list_labels(self) -> list[tuple[int, str]]:
        return [tuple(row) for row in self.connection.execute(select(Label.id, Label.name).order_by(Label.name))]

    def company_id(self, name_key: str) -> int | None:
        return self.connection.execute(select(Company.id).where(Company.name_key == name_key)).scalar()

    def add_company(self, name: str, name_key: str) -> int:
        moment = self.now()
        return self.connection.execute(Company.__table__.insert().values(
            name=name, name_key=name_key, created_at=moment, updated_at=moment).returning(Company.id)).scalar_one()

    def list_companies(self) -> list[tuple[int, str]]:
        return [tuple(row) for row in self.connection.execute(select(Company.id, Company.name).order_by(Company.id))]

    def custom_field_exists(self, variable: str) -> bool:
        return self.connection.execute(
            select(CustomFieldRow.id).where(CustomFieldRow.variable == variable)).scalar() is not None

    def add_custom_field(self, variable: str, field_type: FieldType, choices: Sequence[str], applies_to: str) -> int:
        return self.connection.execute(CustomFieldRow.__table__.insert().values(
            variable=variable, type=str(field_type), choices=list(choices), applies_to=applies_to,
            created_at=self.now()).returning(CustomFieldRow.id)).scalar_one()

    def list_custom_fields(self, applies_to: str) -> list[CustomField]:
        return list(load_custom_fields(self.connection, applies_to).values())
