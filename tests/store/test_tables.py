"""The writer's table descriptions agree with the schema, column for column: the INSERTs made
from them cannot drift from the tables the migrations create."""

from __future__ import annotations

import dataclasses

import pytest

from headwater.store import schema
from headwater.store.base import Batch
from headwater.store.tables import APPENDED, RUN_TABLES, RUNS, TableDescription


@pytest.mark.parametrize("description", [*RUNS, *APPENDED], ids=lambda d: d.name)
def test_each_described_table_has_the_columns_of_its_schema_table(
    description: TableDescription,
) -> None:
    table = schema.metadata.tables[description.name]
    # An autoincrement id is the database's to give, never a row's.
    settable = [c.name for c in table.columns
                if not (c.primary_key and c.autoincrement is True)]

    assert list(description.columns) == settable


def test_every_row_list_of_a_batch_is_a_described_table() -> None:
    lists = {f.name for f in dataclasses.fields(Batch) if f.type in ("list[Row]",)}

    assert lists - {"run_updates"} == {d.name for d in (*RUNS, *APPENDED)}
    assert {d.name for d in RUN_TABLES.values()} == {d.name for d in RUNS}


def test_appended_tables_say_how_a_replay_finds_their_rows() -> None:
    for description in APPENDED:
        assert description.replay_key in description.columns


def test_an_insert_is_made_from_the_rows_keys_in_their_order() -> None:
    [logs] = [d for d in APPENDED if d.name == "logs"]

    sql = logs.insert_sql(["message", "level"], mark="?", ignore_existing=True)

    assert sql == "INSERT INTO logs (message, level) VALUES (?, ?) ON CONFLICT DO NOTHING"


def test_a_row_with_a_column_the_table_lacks_is_refused_with_the_columns_it_has() -> None:
    [logs] = [d for d in APPENDED if d.name == "logs"]

    with pytest.raises(ValueError, match=r"'colour'.*'message'"):
        logs.insert_sql(["message", "colour"], mark="?")
