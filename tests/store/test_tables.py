"""The writer's table descriptions agree with the schema, column for column: the INSERTs made
from them cannot drift from the tables the migrations create."""

from __future__ import annotations

import pytest
from sqlalchemy import Float, Integer, String, Text, UniqueConstraint

from headwater.store import schema, states
from headwater.store.batch import Batch
from headwater.store.tables import STATES, TABLES, TableDescription

_FAMILIES = ((Float, "float"), (Integer, "int"), (String, "text"), (Text, "text"))


def _family(column: object) -> str:
    return next(name for kind, name in _FAMILIES if isinstance(column.type, kind))  # type: ignore[attr-defined]


@pytest.mark.parametrize("description", TABLES.values(), ids=lambda d: d.name)
def test_each_described_table_has_the_columns_and_types_of_its_schema_table(
    description: TableDescription,
) -> None:
    table = schema.metadata.tables[description.name]
    # An autoincrement id is the database's to give, never a row's.
    settable = [c for c in table.columns if not (c.primary_key and c.autoincrement is True)]

    assert list(description.columns) == [c.name for c in settable]
    assert list(description.types) == [_family(c) for c in settable]


@pytest.mark.parametrize("description", TABLES.values(), ids=lambda d: d.name)
def test_a_described_key_is_the_tables_primary_or_unique_key(
    description: TableDescription,
) -> None:
    table = schema.metadata.tables[description.name]
    keys = [tuple(c.name for c in table.primary_key.columns)] + [
        tuple(c.name for c in constraint.columns) for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)]

    assert description.key in keys if description.key else description.replay_key
    assert description.replay_key is None or description.replay_key in description.columns


def test_the_states_key_is_the_one_the_stores_name_states_by() -> None:
    assert STATES.key == states.KEY


def test_every_table_a_batch_fills_is_described() -> None:
    batch = Batch()

    assert {name for name, _ in [*batch.new_runs(), *batch.appends()]} == set(TABLES)


def test_an_insert_is_made_from_the_rows_keys_in_their_order() -> None:
    sql = TABLES["logs"].insert_sql(["message", "level"], mark="?", ignore_existing=True)

    assert sql == "INSERT INTO logs (message, level) VALUES (?, ?) ON CONFLICT DO NOTHING"


def test_a_row_with_a_column_the_table_lacks_is_refused_with_the_columns_it_has() -> None:
    with pytest.raises(ValueError, match=r"'colour'.*'message'"):
        TABLES["logs"].insert_sql(["message", "colour"], mark="?")
