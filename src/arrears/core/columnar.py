"""Arrow in and out of the database in bulk: PostgreSQL over ADBC (binary COPY), SQLite through the
same SQLite library SQLAlchemy uses.

The nightly batch reads a snapshot as Arrow and writes its results back through a staging table;
row-by-row ORM loops are kept for the reference baseline only. SQLite deliberately does not use the
ADBC driver: it links its own copy of the SQLite library, and two copies in one process break each
other's POSIX file locks — SQLite's documented "multiple copies" hazard, which corrupted a WAL
database here (tests/test_demo.py runs the batch repeatedly in one process to guard against it).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy.engine import Engine, make_url

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
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql)
        cols = [d[0] for d in cursor.description]
        batches = []
        while rows := cursor.fetchmany(BATCH_ROWS):
            columns = list(zip(*rows, strict=True))
            batches.append(pa.table({c: pa.array(columns[i]) for i, c in enumerate(cols)}))
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
