"""Labels, companies, teams and custom fields in the database: what imported rows refer to."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone

from sqlalchemy import Connection, select

from adapters.db.dialect import insert_for
from adapters.db.models import companies, company_domains, custom_fields, labels, teams
from plugin.companies import company_name_key
from plugin.kinds import Catalog, CustomField, FieldType

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def load_custom_fields(connection: Connection, applies_to: str = "customers") -> dict[str, CustomField]:
    """The custom fields of one kind's files, by variable."""
    return {row.variable: CustomField(row.id, row.variable, FieldType(row.type), tuple(row.choices or ()), row.applies_to)
            for row in connection.execute(
                select(custom_fields.c.id, custom_fields.c.variable, custom_fields.c.type,
                       custom_fields.c.choices, custom_fields.c.applies_to)
                .where(custom_fields.c.applies_to == applies_to))}


def load_catalog(connection: Connection, applies_to: str = "customers") -> Catalog:
    """Everything rows may name: labels, companies with their domains, teams (both also by the id another system
    gives them), and one kind's custom fields."""
    catalog = Catalog()
    catalog.label_ids = dict(connection.execute(select(labels.c.name, labels.c.id)).all())
    for company_id, name, name_key, source, external_id in connection.execute(
            select(companies.c.id, companies.c.name, companies.c.name_key, companies.c.external_source,
                   companies.c.external_id)):
        catalog.companies[company_id] = name
        catalog.company_keys[name_key] = company_id
        if external_id is not None:
            catalog.company_externals[(source, external_id)] = company_id
    catalog.company_domains = dict(connection.execute(select(company_domains.c.domain,
                                                             company_domains.c.company_id)).all())
    for name, team_id, source, external_id in connection.execute(
            select(teams.c.name, teams.c.id, teams.c.external_source, teams.c.external_id)):
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
    connection.execute(insert_for(connection, labels).on_conflict_do_nothing(index_elements=["name"]),
                       [{"name": name, "created_at": moment} for name in wanted])
    return dict(connection.execute(select(labels.c.name, labels.c.id).where(labels.c.name.in_(wanted))).all())


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
    connection.execute(insert_for(connection, teams).on_conflict_do_nothing(index_elements=["name"]),
                       [{"name": name, "created_at": now, **_external_columns(name, externals or {})}
                        for name in wanted])
    return dict(connection.execute(select(teams.c.name, teams.c.id).where(teams.c.name.in_(wanted))).all())


def ensure_companies(connection: Connection, names: Iterable[str], *, now: datetime,
                     externals: Mapping[str, tuple[str, str]] | None = None) -> dict[str, int]:
    """Create the companies whose names (any case) do not exist yet (with the other system's id `externals` gives a
    name); return casefolded name → id for all."""
    wanted = {company_name_key(name): " ".join(name.split()) for name in names}
    if not wanted:
        return {}
    connection.execute(insert_for(connection, companies).on_conflict_do_nothing(index_elements=["name_key"]),
                       [{"name": name, "name_key": key, "created_at": now, "updated_at": now,
                         **_external_columns(name, externals or {})}
                        for key, name in sorted(wanted.items())])
    return dict(connection.execute(select(companies.c.name_key, companies.c.id)
                                   .where(companies.c.name_key.in_(sorted(wanted)))).all())


class SqlCatalogStore:
    """plugin.ports.catalog.CatalogStore on one connection (one unit of work's transaction)."""

    def __init__(self, connection: Connection, *, now: Clock = utc_now) -> None:
        self.connection = connection
        self.now = now

    def ensure_labels(self, names: Sequence[str]) -> dict[str, int]:
        return ensure_labels(self.connection, names, now=self.now)

    def list_labels(self) -> list[tuple[int, str]]:
        return [tuple(row) for row in self.connection.execute(select(labels.c.id, labels.c.name)
                                                              .order_by(labels.c.name))]

    def company_id(self, name_key: str) -> int | None:
        return self.connection.execute(select(companies.c.id)
                                       .where(companies.c.name_key == name_key)).scalar()

    def add_company(self, name: str, name_key: str) -> int:
        moment = self.now()
        return self.connection.execute(companies.insert().values(
            name=name, name_key=name_key, created_at=moment, updated_at=moment)
            .returning(companies.c.id)).scalar_one()

    def list_companies(self) -> list[tuple[int, str]]:
        return [tuple(row) for row in self.connection.execute(select(companies.c.id, companies.c.name)
                                                              .order_by(companies.c.id))]

    def custom_field_exists(self, variable: str) -> bool:
        return self.connection.execute(
            select(custom_fields.c.id).where(custom_fields.c.variable == variable)).scalar() is not None

    def add_custom_field(self, variable: str, field_type: FieldType, choices: Sequence[str], applies_to: str) -> int:
        return self.connection.execute(custom_fields.insert().values(
            variable=variable, type=str(field_type), choices=list(choices), applies_to=applies_to,
            created_at=self.now()).returning(custom_fields.c.id)).scalar_one()

    def list_custom_fields(self, applies_to: str) -> list[CustomField]:
        return list(load_custom_fields(self.connection, applies_to).values())
