"""Arrow in and out of the database in bulk: PostgreSQL over ADBC (binary COPY), SQLite through the
same SQLite library SQLAlchemy uses.

The nightly batch reads a snapshot as Arrow and writes its results back through a staging table;
row-by-row ORM loops are kept for the reference baseline only. SQLite deliberately does not use the
ADBC driver: it links its own copy of the SQLite library, and two copies in one process break each
other's POSIX file locks — SQLite's documented "multiple copies" hazard, which corrupted a WAL
database here (tests/test_demo.py runs the batch repeatedly in one process to guard against it).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from sqlalchemy.engine import Connection, Engine, make_url

BATCH_ROWS = 200_000


def _adbc_postgres(engine: Engine) -> Any:
    import adbc_driver_postgresql.dbapi as pg_dbapi

    uri = make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
    return pg_dbapi.connect(uri)


def _is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def read_arrow(engine: Engine, sql: str) -> pa.Table:
    """Run a query and return its result as an Arrow table."""
    if _is_postgres(engine):
        with _adbc_postgres(engine) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
    with engine.connect() as conn, _no_gc():
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql)
        cols = [d[0] for d in cursor.description]
        batches = []
        while rows := cursor.fetchmany(BATCH_ROWS):
            columns = list(zip(*rows, strict=True))
            del rows
            batches.append(pa.table({c: pa.array(columns[i]) for i, c in enumerate(cols)}))
            del columns
        cursor.close()
    if not batches:
        return pa.table({c: pa.array([], pa.null()) for c in cols})
    return pa.concat_tables(batches, promote_options="permissive")


def write_staging(engine: Engine, table_name: str, data: pa.Table) -> None:
    """Create (replace) a staging table with the Arrow data, indexed on `id` when it has one; the caller
    merges it into the live tables in one transaction."""
    if _is_postgres(engine):
        with _adbc_postgres(engine) as conn:
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {table_name}")
                cur.adbc_ingest(table_name, data, mode="create")
                if "id" in data.schema.names:
                    cur.execute(f"CREATE INDEX ix_{table_name}_id ON {table_name} (id)")
            conn.commit()
        return
    columns = ", ".join(f'"{f.name}" {_sqlite_type(f.type)}' for f in data.schema)
    marks = ", ".join("?" for _ in data.schema)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        raw.execute(f"DROP TABLE IF EXISTS {table_name}")
        raw.execute(f"CREATE TABLE {table_name} ({columns})")
        for batch in data.to_batches(BATCH_ROWS):
            values = [_sqlite_values(batch.column(i)) for i in range(batch.num_columns)]
            raw.executemany(f"INSERT INTO {table_name} VALUES ({marks})", zip(*values, strict=True))
        if "id" in data.schema.names:
            raw.execute(f"CREATE INDEX ix_{table_name}_id ON {table_name} (id)")
        raw.close()


@contextmanager
def _no_gc() -> Iterator[None]:
    """Millions of short-lived row tuples hold no reference cycles; the cyclic collector would
    otherwise walk them over and over while they are built (a quarter of the conversion time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def stage_temp(conn: Connection, table_name: str, data: pa.Table) -> None:
    """SQLite: the Arrow rows as a TEMP table on this connection, inside its current transaction.

    Temp tables live in memory (`temp_store=MEMORY`) and never reach the WAL; rows go in with one
    executemany of plain tuples per batch, in the table's order — `id` becomes the INTEGER PRIMARY KEY
    (the rowid) when the rows are sorted and unique by it, so no separate index is built."""
    names = data.schema.names
    keyed = "id" in names and _sorted_unique(data["id"])
    columns = ", ".join(
        f'"{f.name}" {_sqlite_type(f.type)}' + (" PRIMARY KEY" if keyed and f.name == "id" else "")
        for f in data.schema
    )
    marks = ", ".join("?" for _ in names)
    raw = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        raw.execute(f"DROP TABLE IF EXISTS temp.{table_name}")
        raw.execute(f"CREATE TEMP TABLE {table_name} ({columns})")
        with _no_gc():
            for batch in data.to_batches(BATCH_ROWS):
                values = [_sqlite_values(batch.column(i)) for i in range(batch.num_columns)]
                raw.executemany(f"INSERT INTO temp.{table_name} VALUES ({marks})", zip(*values, strict=True))
                del values
        if "id" in names and not keyed:
            raw.execute(f"CREATE INDEX temp.ix_{table_name}_id ON {table_name} (id)")
    finally:
        raw.close()


def drop_temp(conn: Connection, table_name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table_name}")
    conn.commit()


def _sorted_unique(col: pa.ChunkedArray) -> bool:
    import numpy as np

    ids = col.to_numpy()
    return col.null_count == 0 and bool(np.all(ids[1:] > ids[:-1]))


def _sqlite_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "INTEGER"
    if pa.types.is_floating(t):
        return "REAL"
    return "TEXT"


def _sqlite_values(col: pa.Array) -> list[Any]:
    if pa.types.is_date(col.type):
        return [None if v is None else v.isoformat() for v in col.to_pylist()]
    return col.to_pylist()


def drop_table(engine: Engine, table_name: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table_name}")
