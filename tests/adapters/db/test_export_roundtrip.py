"""A property: whatever customers the product holds, the CSV it exports imports back to the same data - every row
unchanged, none failed, and exporting again gives the same file. Names, companies, labels and custom values are
drawn with the characters that break CSVs and spreadsheets: formula starts (= + - @), the text marker ('),
quotes, delimiters, line breaks, tabs and letters outside ASCII."""

from __future__ import annotations

import io
import itertools

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.catalog import add_custom_field
from adapters.db.export import export_customers
from plugin.kinds import FieldType
from plugin.report import write_csv
from plugin.services import Services

TRICKY = "=+-@'\",;|\t\n\r é漢ßΩ\"x"
TEXT = st.text(alphabet=st.sampled_from(list(TRICKY) + list("abcXYZ019")), max_size=12)
LABEL = st.text(alphabet=st.sampled_from(list("=+-@' é漢,;\"abcXYZ019")), min_size=1, max_size=8).map(str.strip).filter(bool)
CUSTOMER = st.fixed_dictionaries({
    "first_name": TEXT, "last_name": TEXT, "middle_name": TEXT, "company": TEXT,
    "labels": st.lists(LABEL, max_size=3, unique_by=str.casefold), "note": TEXT,
})
EXAMPLES = itertools.count()


def import_text(services: Services, text: str, **options: object):  # type: ignore[no-untyped-def]
    return services.imports.import_file("customers", io.BytesIO(text.encode()), file_name="roundtrip.csv", actor="tester", **options)


def exported(engine: Engine, domain: str) -> tuple[list[str], list[list[str]]]:
    """The export as a person's spreadsheet receives it, only this example's customers."""
    headers, rows = export_customers(engine)
    mine = [row for row in rows if str(row[1]).endswith("@" + domain)]
    return headers, [["" if cell is None else str(cell) for cell in row] for row in mine]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(customers=st.lists(CUSTOMER, min_size=1, max_size=5))
# Found by this property: a label that reads as a number ("-0") is exported first in its cell ("-0:a"), and the
# cell as a whole looked like a formula, though each of its names is checked (and allowed) on its own.
@example(customers=[{"first_name": "", "last_name": "", "middle_name": "", "company": "", "labels": ["a", "-0"],
                     "note": ""}])
def test_an_exported_file_imports_back_to_the_same_data(services: Services, engine: Engine, customers) -> None:
    domain = f"example{next(EXAMPLES)}.com"  # each example its own customers in the one database
    if not services.store.load_catalog("customers").custom_fields:
        add_custom_field(engine, "note", FieldType.TEXT)
    headers = ["email", "first_name", "last_name", "middle_name", "company", "labels", "note"]
    rows = [[f"person{number}@{domain}", customer["first_name"], customer["last_name"], customer["middle_name"],
             customer["company"], ":".join(customer["labels"]), customer["note"]]
            for number, customer in enumerate(customers)]
    first = import_text(services, "".join(write_csv(headers, rows)), options={"create_labels": True,
                                                                              "create_companies": True})
    export_headers, before = exported(engine, domain)
    assert len(before) == first.created  # rows the first import refused are not the point here

    again = import_text(services, "".join(write_csv(export_headers, before)))
    assert (again.rows, again.unchanged, again.failed) == (len(before), len(before), 0), (again.errors, before)
    assert exported(engine, domain) == (export_headers, before)
