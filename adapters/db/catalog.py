"""Labels, companies and custom fields: what imported rows refer to, and the commands that manage them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine, select

from adapters.db.dialect import insert_for
from adapters.db.models import Company, CustomFieldRow, Label
from plugin.kinds import Catalog, CustomField, FieldType
from plugin.validate import is_formula_like

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CatalogError(ValueError):
    """A label, company or custom field cannot be added as asked; the message says why."""


def load_catalog(connection: Connection) -> Catalog:
    """Everything rows may name, in three queries."""
    catalog = Catalog()
    catalog.label_ids = dict(connection.execute(select(Label.name, Label.id)).all())
    catalog.companies = dict(connection.execute(select(Company.id, Company.name)).all())
    for row in connection.execute(select(CustomFieldRow.id, CustomFieldRow.variable, CustomFieldRow.type, CustomFieldRow.choices)):
        catalog.custom_fields[row.variable] = CustomField(row.id, row.variable, FieldType(row.type), tuple(row.choices or ()))
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
        existing = connection.execute(select(Company.id).where(Company.name_key == cleaned.casefold())).scalar()
        if existing is not None:
            raise CatalogError(f"A company named {cleaned!r} already exists (id {existing}).")
        return connection.execute(Company.__table__.insert().values(name=cleaned, name_key=cleaned.casefold(),
                                                                    created_at=now()).returning(Company.id)).scalar_one()


def list_companies(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        return connection.execute(select(Company.id, Company.name).order_by(Company.id)).all()


def add_custom_field(engine: Engine, variable: str, field_type: FieldType, choices: Sequence[str] = (), *, now: Clock = utc_now) -> int:
    if not variable.isidentifier():
        raise CatalogError(f"{variable!r} cannot be a variable name: use letters, digits and underscores, e.g. plan or renewal_date.")
    if field_type is FieldType.CHOICE and not choices:
        raise CatalogError("A choice field needs --choices, e.g. --choices gold,silver,bronze.")
    with engine.begin() as connection:
        if connection.execute(select(CustomFieldRow.id).where(CustomFieldRow.variable == variable)).scalar() is not None:
            raise CatalogError(f"A custom field named {variable!r} already exists.")
        return connection.execute(CustomFieldRow.__table__.insert().values(
            variable=variable, type=str(field_type), choices=list(choices), created_at=now()).returning(CustomFieldRow.id)).scalar_one()


def list_custom_fields(engine: Engine) -> list[CustomField]:
    with engine.connect() as connection:
        return sorted(load_catalog(connection).custom_fields.values(), key=lambda custom: custom.variable)
