"""Ageing and accrual for a whole portfolio at once — one SQL definition for DuckDB and Spark.

The same rules as `ageing.py` (the scalar reference, which tests compare against row for row):
DPD from `overdue_since` or the oldest unpaid instalment; daily penalty on overdue principal,
rounded half-even each day, for the days in (accrued_through, as_of]. Exact decimal arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arrears.core.sqlengines import DUCKDB, Dialect, dialect, run_duckdb, run_spark
from arrears.portfolio.ageing import DEFAULT_BUCKETS, Bucket, validate_buckets

ACCOUNT_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("status", pa.string()),
        ("principal", pa.int64()),
        ("interest", pa.int64()),
        ("penalty", pa.int64()),
        ("fees", pa.int64()),
        ("overdue_since", pa.date32()),
        ("placement_date", pa.date32()),
        ("accrued_through", pa.date32()),
        ("daily_penalty_rate", pa.string()),
        ("bucket", pa.string()),
    ]
)
SCHEDULE_SCHEMA = pa.schema(
    [
        ("account_id", pa.int64()),
        ("seq", pa.int32()),
        ("due_date", pa.date32()),
        ("principal_due", pa.int64()),
    ]
)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Select and cast the columns a step needs (SQLite snapshots arrive with dates as text)."""
    cols = []
    for field in schema:
        col = table[field.name]
        if (
            col.null_count == len(col) and col.type != field.type
        ):  # all-null columns arrive untyped from SQLite
            col = pa.nulls(len(col), field.type)
        elif pa.types.is_date(field.type) and (
            pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        ):
            col = pc.cast(pc.strptime(col, format="%Y-%m-%d", unit="s"), pa.date32())
        elif pa.types.is_string(field.type) and not pa.types.is_string(col.type):
            col = (
                pc.cast(col, pa.string())
                if not pa.types.is_null(col.type)
                else pa.nulls(len(col), pa.string())
            )
        elif pa.types.is_null(col.type):
            col = pa.nulls(len(col), field.type)
        else:
            col = pc.cast(col, field.type)
        cols.append(col)
    return pa.table(cols, schema=schema)


def _bucket_case(buckets: Sequence[Bucket]) -> str:
    arms = []
    for b in buckets:
        cond = f"dpd >= {b.min_dpd}" + (f" AND dpd <= {b.max_dpd}" if b.max_dpd is not None else "")
        arms.append(f"WHEN {cond} THEN '{b.label}'")
    return "CASE " + " ".join(arms) + " END"


def ageing_sql(as_of: date, buckets: Sequence[Bucket] = DEFAULT_BUCKETS, d: Dialect = DUCKDB) -> str:
    """The ageing step as one SQL statement over the views `accts` and `sched`."""
    buckets = validate_buckets(buckets)
    as_of_sql = d.date_literal(as_of)
    next_day = d.add_days(as_of_sql, 1)
    after_plus_1 = d.add_days("a.after_day", 1)
    due_plus_1 = d.add_days("s.due_date", 1)

    def per_day(principal: str, rate: str) -> str:
        return d.round_half_even(f"CAST({principal} AS DECIMAL(20,0)) * {rate}")

    return f"""
WITH a AS (
    SELECT id, principal, interest, penalty, fees, overdue_since,
           CAST(daily_penalty_rate AS DECIMAL(14,8)) AS rate,
           COALESCE(accrued_through, placement_date) AS after_day
    FROM accts WHERE status = 'active'
),
s AS (
    SELECT sc.account_id, sc.due_date, sc.principal_due,
           COALESCE(SUM(sc.principal_due) OVER (
               PARTITION BY sc.account_id ORDER BY sc.due_date DESC, sc.seq DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS later
    FROM sched sc JOIN a ON a.id = sc.account_id
),
sched_dpd AS (
    SELECT s.account_id,
           MIN(CASE WHEN a.principal > s.later THEN s.due_date END) AS oldest_unpaid,
           MAX(s.due_date) AS last_due
    FROM s JOIN a ON a.id = s.account_id GROUP BY s.account_id
),
flat AS (
    SELECT a.id, CAST({d.datediff("a.after_day", as_of_sql)} AS BIGINT) * {per_day("a.principal", "a.rate")} AS accrued
    FROM a LEFT JOIN sched_dpd sd ON sd.account_id = a.id
    WHERE sd.account_id IS NULL AND {as_of_sql} > a.after_day AND a.rate > 0 AND a.principal > 0
),
bounds AS (
    SELECT a.id, {after_plus_1} AS b FROM a JOIN sched_dpd sd ON sd.account_id = a.id
    WHERE {as_of_sql} > a.after_day AND a.rate > 0 AND a.principal > 0
    UNION
    SELECT a.id, {due_plus_1} AS b FROM a JOIN s ON s.account_id = a.id
    WHERE {as_of_sql} > a.after_day AND a.rate > 0 AND a.principal > 0
      AND {due_plus_1} > {after_plus_1} AND {due_plus_1} <= {as_of_sql}
),
segs AS (
    SELECT id, b, {d.datediff("b", f"COALESCE(LEAD(b) OVER (PARTITION BY id ORDER BY b), {next_day})")} AS days
    FROM bounds
),
seg_od AS (
    SELECT g.id, g.days, a.rate,
           GREATEST(0, a.principal - COALESCE(SUM(CASE WHEN s.due_date >= g.b THEN s.principal_due END), 0)) AS od
    FROM segs g JOIN a ON a.id = g.id LEFT JOIN s ON s.account_id = g.id
    GROUP BY g.id, g.b, g.days, a.rate, a.principal
),
scheduled AS (
    SELECT id, SUM(CAST(days AS BIGINT) * {per_day("od", "rate")}) AS accrued FROM seg_od GROUP BY id
),
aged AS (
    SELECT a.id,
           COALESCE(f.accrued, sa.accrued, 0) AS accrued,
           a.principal + a.interest + a.penalty + a.fees AS owed,
           CASE
             WHEN a.principal + a.interest + a.penalty + a.fees <= 0 THEN 0
             WHEN sd.account_id IS NOT NULL
               THEN GREATEST(0, {d.datediff("COALESCE(sd.oldest_unpaid, sd.last_due)", as_of_sql)})
             WHEN a.overdue_since IS NULL THEN 0
             ELSE GREATEST(0, {d.datediff("a.overdue_since", as_of_sql)})
           END AS dpd,
           GREATEST(a.after_day, {as_of_sql}) AS accrued_through
    FROM a
    LEFT JOIN sched_dpd sd ON sd.account_id = a.id
    LEFT JOIN flat f ON f.id = a.id
    LEFT JOIN scheduled sa ON sa.id = a.id
)
SELECT id, CAST(accrued AS BIGINT) AS accrued, CAST(dpd AS INTEGER) AS days_past_due,
       {_bucket_case(buckets)} AS bucket,
       CASE WHEN owed <= 0 THEN 'paid' ELSE 'active' END AS status,
       accrued_through
FROM aged
ORDER BY id
"""


def age_portfolio(
    accounts: pa.Table,
    schedule: pa.Table | None,
    as_of: date,
    buckets: Sequence[Bucket] = DEFAULT_BUCKETS,
    engine: str = "duckdb",
    con: Any = None,
) -> pa.Table:
    """Ageing + accrual for every active account: id, accrued, days_past_due, bucket, status, accrued_through."""
    tables = {
        "accts": conform(accounts, ACCOUNT_SCHEMA),
        "sched": conform(schedule, SCHEDULE_SCHEMA)
        if schedule is not None
        else SCHEDULE_SCHEMA.empty_table(),
    }
    sql = ageing_sql(as_of, buckets, dialect(engine))
    if engine == "spark":
        return run_spark(sql, tables)
    return run_duckdb(sql, tables, con)
