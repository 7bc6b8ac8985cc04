"""Ageing and accrual for a whole portfolio at once — columnar (DuckDB SQL over Arrow tables).

The same rules as `ageing.py` (the scalar reference, which tests compare against row for row):
DPD from `overdue_since` or the oldest unpaid instalment; daily penalty on overdue principal,
rounded half-even each day, for the days in (accrued_through, as_of]. Exact decimal arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pyarrow as pa

from arrears.portfolio.ageing import DEFAULT_BUCKETS, Bucket, validate_buckets

# Input columns of the account snapshot (Arrow): id, status, principal, interest, penalty, fees,
# overdue_since (date), placement_date (date), accrued_through (date|null), daily_penalty_rate (string).
ACCOUNT_COLUMNS = (
    "id",
    "status",
    "principal",
    "interest",
    "penalty",
    "fees",
    "overdue_since",
    "placement_date",
    "accrued_through",
    "daily_penalty_rate",
    "bucket",
)
SCHEDULE_COLUMNS = ("account_id", "seq", "due_date", "principal_due")

_HALF_EVEN = """
    (floor({x}) + CASE
        WHEN {x} - floor({x}) > 0.5 THEN 1
        WHEN {x} - floor({x}) < 0.5 THEN 0
        WHEN CAST(floor({x}) AS HUGEINT) % 2 = 0 THEN 0 ELSE 1 END)
"""


def _bucket_case(buckets: Sequence[Bucket]) -> str:
    arms = []
    for b in buckets:
        cond = f"dpd >= {b.min_dpd}" + (f" AND dpd <= {b.max_dpd}" if b.max_dpd is not None else "")
        arms.append(f"WHEN {cond} THEN '{b.label}'")
    return "CASE " + " ".join(arms) + " END"


def ageing_sql(buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> str:
    """The ageing step as one SQL statement over `accts`, `sched` and the parameter `$as_of`."""
    buckets = validate_buckets(buckets)
    penalty_day = _HALF_EVEN.format(x="CAST(od AS DECIMAL(38,0)) * rate")
    return f"""
WITH a AS (
    SELECT id, principal, interest, penalty, fees, CAST(overdue_since AS DATE) AS overdue_since,
           CAST(daily_penalty_rate AS DECIMAL(18,8)) AS rate,
           CAST(COALESCE(accrued_through, placement_date) AS DATE) AS after_day
    FROM accts WHERE status = 'active'
),
s AS (
    SELECT sc.account_id, CAST(sc.due_date AS DATE) AS due_date, sc.principal_due,
           COALESCE(SUM(sc.principal_due) OVER (
               PARTITION BY sc.account_id ORDER BY sc.due_date DESC, sc.seq DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS later
    FROM sched sc JOIN a ON a.id = sc.account_id
),
sched_dpd AS (
    SELECT s.account_id,
           MIN(s.due_date) FILTER (WHERE a.principal > s.later) AS oldest_unpaid,
           MAX(s.due_date) AS last_due
    FROM s JOIN a ON a.id = s.account_id GROUP BY s.account_id
),
-- accrual without a schedule: every day the same penalty on all of the principal
flat AS (
    SELECT a.id, CAST(date_diff('day', a.after_day, $as_of) AS BIGINT)
           * CAST({_HALF_EVEN.format(x="CAST(a.principal AS DECIMAL(38,0)) * a.rate")} AS BIGINT) AS accrued
    FROM a LEFT JOIN sched_dpd d ON d.account_id = a.id
    WHERE d.account_id IS NULL AND $as_of > a.after_day AND a.rate > 0 AND a.principal > 0
),
-- accrual with a schedule: piecewise constant, overdue principal changes the day after each due date
bounds AS (
    SELECT a.id, a.after_day + 1 AS b FROM a JOIN sched_dpd d ON d.account_id = a.id
    WHERE $as_of > a.after_day AND a.rate > 0 AND a.principal > 0
    UNION
    SELECT a.id, s.due_date + 1 FROM a JOIN s ON s.account_id = a.id
    WHERE $as_of > a.after_day AND a.rate > 0 AND a.principal > 0
      AND s.due_date + 1 > a.after_day + 1 AND s.due_date + 1 <= $as_of
),
segs AS (
    SELECT id, b, date_diff('day', b, COALESCE(LEAD(b) OVER (PARTITION BY id ORDER BY b), $as_of + 1)) AS days
    FROM bounds
),
seg_od AS (
    SELECT g.id, g.days, a.rate,
           GREATEST(0, a.principal - COALESCE(SUM(s.principal_due) FILTER (WHERE s.due_date >= g.b), 0)) AS od
    FROM segs g JOIN a ON a.id = g.id LEFT JOIN s ON s.account_id = g.id
    GROUP BY g.id, g.b, g.days, a.rate, a.principal
),
scheduled AS (
    SELECT id, SUM(CAST(days AS BIGINT) * CAST({penalty_day} AS BIGINT)) AS accrued FROM seg_od GROUP BY id
),
aged AS (
    SELECT a.id,
           COALESCE(f.accrued, sa.accrued, 0) AS accrued,
           a.principal + a.interest + a.penalty + a.fees AS owed,
           CASE
             WHEN a.principal + a.interest + a.penalty + a.fees <= 0 THEN 0
             WHEN d.account_id IS NOT NULL
               THEN GREATEST(0, date_diff('day', COALESCE(d.oldest_unpaid, d.last_due), $as_of))
             WHEN a.overdue_since IS NULL THEN 0
             ELSE GREATEST(0, date_diff('day', a.overdue_since, $as_of))
           END AS dpd,
           GREATEST(a.after_day, $as_of) AS accrued_through
    FROM a
    LEFT JOIN sched_dpd d ON d.account_id = a.id
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
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Ageing + accrual for every active account: id, accrued, days_past_due, bucket, status, accrued_through."""
    own = con is None
    con = con or duckdb.connect()
    try:
        if schedule is None:
            schedule = pa.table(
                {
                    "account_id": pa.array([], pa.int64()),
                    "seq": pa.array([], pa.int32()),
                    "due_date": pa.array([], pa.date32()),
                    "principal_due": pa.array([], pa.int64()),
                }
            )
        con.register("accts", accounts)
        con.register("sched", schedule)
        return con.sql(ageing_sql(buckets), params={"as_of": as_of}).to_arrow_table()
    finally:
        con.unregister("accts")
        con.unregister("sched")
        if own:
            con.close()
