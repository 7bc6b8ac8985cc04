"""One SQL definition, two columnar engines: DuckDB (default, in process) and Apache Spark (scale-out).

Batch steps are written once as SQL templates in the common subset of both dialects; the few
functions that differ are rendered by a `Dialect`: date arithmetic, half-even rounding and a
stable hash. Dates and parameters are rendered as literals so that no engine-specific parameter
binding is needed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Dialect:
    name: str

    def datediff(self, start: str, end: str) -> str:
        """Whole days from `start` to `end` (end − start)."""
        if self.name == "spark":
            return f"datediff({end}, {start})"
        return f"date_diff('day', {start}, {end})"

    def add_days(self, d: str, n: str | int) -> str:
        if self.name == "spark":
            return f"date_add({d}, {n})"
        return f"({d} + CAST({n} AS INTEGER))"

    def round_half_even(self, x: str) -> str:
        """Round a DECIMAL to a whole number, half to even, as BIGINT."""
        if self.name == "spark":
            return f"CAST(bround({x}, 0) AS BIGINT)"
        return f"CAST(round_even({x}, 0) AS BIGINT)"

    def hash01(self, text_expr: str) -> str:
        """A stable number in [0, 1) from a string: the first 32 bits of its MD5, the same in Python."""
        if self.name == "spark":
            return f"(CAST(conv(substr(md5({text_expr}), 1, 8), 16, 10) AS DOUBLE) / 4294967296.0)"
        return f"(CAST(('0x' || substr(md5({text_expr}), 1, 8)) AS UBIGINT) / 4294967296.0)"

    @staticmethod
    def date_literal(d: date) -> str:
        return f"DATE '{d.isoformat()}'"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
ENGINES = ("duckdb", "spark")


def dialect(engine: str) -> Dialect:
    if engine == "spark":
        return SPARK
    if engine == "duckdb":
        return DUCKDB
    raise ValueError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")


def run_duckdb(sql: str, tables: Mapping[str, pa.Table], con: Any = None) -> pa.Table:
    import duckdb

    own = con is None
    con = con or duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(sql).to_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)
        if own:
            con.close()


_spark_lock = threading.Lock()
_spark: Any = None


def spark_session() -> Any:
    """A local-mode Spark session (shared within the process). Production points SPARK_MASTER elsewhere."""
    global _spark
    with _spark_lock:
        if _spark is None:
            import os

            from pyspark.sql import SparkSession

            master = os.environ.get("ARREARS_SPARK_MASTER", "local[2]")
            _spark = (
                SparkSession.builder.master(master)
                .appName("arrears-batch")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", os.environ.get("ARREARS_SPARK_PARTITIONS", "4"))
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.sql.ansi.enabled", "false")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .getOrCreate()
            )
            _spark.sparkContext.setLogLevel("ERROR")
        return _spark


def run_spark(sql: str, tables: Mapping[str, pa.Table]) -> pa.Table:
    spark = spark_session()
    for name, table in tables.items():
        spark.createDataFrame(table).createOrReplaceTempView(name)
    return spark.sql(sql).toArrow()


def run(engine: str, sql: str, tables: Mapping[str, pa.Table]) -> pa.Table:
    return run_spark(sql, tables) if engine == "spark" else run_duckdb(sql, tables)
