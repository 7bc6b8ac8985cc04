"""Arrow in and out of the database in bulk (ADBC: SQLite natively, PostgreSQL over COPY).

The nightly batch reads a snapshot as Arrow and writes its results back through a staging table;
row-by-row ORM loops are kept for the reference baseline only.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy.engine import Engine, make_url


def _adbc_connect(engine: Engine) -> Any:
    url = make_url(engine.url)
    if url.get_backend_name() == "sqlite":
        import adbc_driver_sqlite.dbapi as sqlite_dbapi

        return sqlite_dbapi.connect(url.database or ":memory:")
    if url.get_backend_name() == "postgresql":
        import adbc_driver_postgresql.dbapi as pg_dbapi

        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return pg_dbapi.connect(uri)
    raise NotImplementedError(f"no bulk Arrow driver for {url.get_backend_name()}")


def supports_adbc(engine: Engine) -> bool:
    return engine.dialect.name in ("sqlite", "postgresql") and engine.url.database not in (
        None,
        "",
        ":memory:",
    )


def read_arrow(engine: Engine, sql: str) -> pa.Table:
    """Run a query and return its result as an Arrow table."""
    if supports_adbc(engine):
        with _adbc_connect(engine) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
    with engine.connect() as conn:
        result = conn.exec_driver_sql(sql)
        cols = list(result.keys())
        rows = result.fetchall()
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})


def write_staging(engine: Engine, table_name: str, data: pa.Table) -> None:
    """Create (replace) a staging table with the Arrow data; the caller merges it in one transaction."""
    if supports_adbc(engine):
        with _adbc_connect(engine) as conn:
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {table_name}")
                cur.adbc_ingest(table_name, data, mode="create")
            conn.commit()
        return
    import sqlalchemy as sa

    meta = sa.MetaData()
    cols = []
    for field in data.schema:
        t: Any = (
            sa.BigInteger
            if pa.types.is_integer(field.type)
            else sa.Date
            if pa.types.is_date(field.type)
            else sa.Text
        )
        cols.append(sa.Column(field.name, t))
    tbl = sa.Table(table_name, meta, *cols)
    with engine.begin() as conn:
        tbl.drop(conn, checkfirst=True)
        tbl.create(conn)
        if data.num_rows:
            conn.execute(tbl.insert(), data.to_pylist())


def drop_table(engine: Engine, table_name: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table_name}")
