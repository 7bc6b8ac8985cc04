"""The nightly batch: one definition, run columnar on a snapshot, written back in bulk (R4, R9).

Steps today: ageing and penalty accrual. The whole write-back is one database transaction, so a
batch killed halfway leaves nothing partial; running it again for the same date changes nothing
(accrual is bounded by each account's `accrued_through`, buckets only move when they change).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from arrears.core.columnar import drop_table, read_arrow, write_staging
from arrears.core.context import AppContext
from arrears.core.errors import Conflict
from arrears.core.sqlengines import ENGINES
from arrears.portfolio.ageing import DEFAULT_BUCKETS, Bucket
from arrears.portfolio.ageing_columnar import age_portfolio
from arrears.strategy.models import BatchRun


SNAPSHOT_ACCOUNTS = """
SELECT id, creditor_id, status, principal, interest, penalty, fees,
       overdue_since, placement_date, accrued_through,
       CAST(daily_penalty_rate AS TEXT) AS daily_penalty_rate, bucket
FROM accounts WHERE status = 'active'
"""
SNAPSHOT_SCHEDULE = """
SELECT i.account_id, i.seq, i.due_date, i.principal_due
FROM instalments i JOIN accounts a ON a.id = i.account_id WHERE a.status = 'active'
"""
STAGING = "batch_ageing_staging"


@dataclass
class BatchSummary:
    as_of: date
    engine: str
    accounts: int = 0
    accrued_accounts: int = 0
    accrued_total: dict[str, int] = field(default_factory=dict)  # per currency, minor units
    bucket_changes: int = 0
    paid: int = 0
    buckets: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    run_id: int | None = None

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


Progress = Callable[[str], None]


def _latest_run(conn: Connection) -> date | None:
    value = conn.execute(
        select(func.max(BatchRun.as_of)).where(BatchRun.status == "succeeded")
    ).scalar_one_or_none()
    if isinstance(value, str):  # SQLite aggregates return text
        return date.fromisoformat(value)
    return value


def run_batch(
    ctx: AppContext,
    as_of: date,
    *,
    engine: str = "duckdb",
    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS,
    on_step: Progress | None = None,
) -> BatchSummary:
    """Run the nightly batch for `as_of`. Idempotent per date; refuses to go back in time."""
    if engine not in ENGINES:
        raise Conflict(f"unknown batch engine {engine!r}; available: {', '.join(ENGINES)}")
    step = on_step or (lambda _s: None)
    summary = BatchSummary(as_of=as_of, engine=engine)
    started = ctx.clock()
    with ctx.engine.connect() as conn:
        latest = _latest_run(conn)
    if latest is not None and as_of < latest:
        raise Conflict(f"the batch already ran for {latest.isoformat()}; it cannot run for an earlier date")

    t0 = time.perf_counter()
    step("snapshot")
    accounts = read_arrow(ctx.engine, SNAPSHOT_ACCOUNTS)
    schedule = read_arrow(ctx.engine, SNAPSHOT_SCHEDULE)
    summary.seconds["snapshot"] = round(time.perf_counter() - t0, 3)

    t1 = time.perf_counter()
    step("ageing")
    aged = age_portfolio(accounts, schedule, as_of, buckets, engine=engine)
    summary.seconds["ageing"] = round(time.perf_counter() - t1, 3)
    summary.accounts = aged.num_rows

    t2 = time.perf_counter()
    step("write-back")
    old = pa.table(
        {
            "id": pc.cast(accounts["id"], pa.int64()),
            "creditor_id": pc.cast(accounts["creditor_id"], pa.int64()),
            "old_bucket": pc.cast(accounts["bucket"], pa.string()),
        }
    )
    staged = _join_old(aged, old)
    write_staging(ctx.engine, STAGING, staged)
    ctx.engine.dispose()  # pooled SQLite connections may hold a schema snapshot from before the staging table
    try:
        with ctx.engine.begin() as conn:
            _write_back(conn, ctx, as_of, started, summary)
    finally:
        drop_table(ctx.engine, STAGING)
    summary.seconds["write_back"] = round(time.perf_counter() - t2, 3)
    summary.seconds["total"] = round(time.perf_counter() - t0, 3)
    return summary


def _join_old(aged: pa.Table, old: pa.Table) -> pa.Table:
    joined = aged.join(old, keys="id", join_type="inner").sort_by("id")
    changed = pc.not_equal(joined["bucket"], joined["old_bucket"])
    return joined.append_column("bucket_changed", pc.cast(pc.fill_null(changed, True), pa.int8()))


def _write_back(
    conn: Connection, ctx: AppContext, as_of: date, started: datetime, summary: BatchSummary
) -> None:
    now = ctx.clock()
    run_id = conn.execute(
        BatchRun.__table__.insert()
        .values(as_of=as_of, engine=summary.engine, status="running", started_at=started)
        .returning(BatchRun.__table__.c.id)
    ).scalar_one()
    summary.run_id = run_id
    p = {"as_of": as_of, "now": now}
    # Accrual: one balanced ledger transaction per creditor and date (R4).
    per_creditor = conn.execute(
        text(
            f"SELECT s.creditor_id, a.currency, SUM(s.accrued), COUNT(*) FROM {STAGING} s "
            "JOIN accounts a ON a.id = s.id WHERE s.accrued > 0 GROUP BY s.creditor_id, a.currency"
        )
    ).all()
    from arrears.ledger.models import LedgerTransaction

    for creditor_id, currency, total, count in per_creditor:
        tx_id = conn.execute(
            LedgerTransaction.__table__.insert()
            .values(
                creditor_id=creditor_id,
                account_id=None,
                kind="accrual",
                amount=int(total),
                currency=currency,
                effective_date=as_of,
                posted_at=now,
                reason=f"nightly penalty accrual through {as_of.isoformat()}",
            )
            .returning(LedgerTransaction.__table__.c.id)
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, book, amount) "
                f"SELECT :tx, s.id, 'penalty', s.accrued FROM {STAGING} s JOIN accounts a ON a.id = s.id "
                "WHERE s.accrued > 0 AND s.creditor_id = :c AND a.currency = :cur"
            ),
            {"tx": tx_id, "c": creditor_id, "cur": currency},
        )
        conn.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, book, amount) "
                "VALUES (:tx, NULL, 'income_penalty', :amt)"
            ),
            {"tx": tx_id, "amt": -int(total)},
        )
        summary.accrued_accounts += int(count)
        summary.accrued_total[currency] = summary.accrued_total.get(currency, 0) + int(total)
    # Bucket spells: close the open one and open the new one where the bucket moved (or none is open).
    conn.execute(
        text(
            "UPDATE bucket_history SET left_on = :as_of WHERE left_on IS NULL AND account_id IN "
            f"(SELECT id FROM {STAGING} WHERE bucket_changed = 1)"
        ),
        p,
    )
    result = conn.execute(
        text(
            "INSERT INTO bucket_history (account_id, bucket, entered_on) "
            f"SELECT s.id, s.bucket, :as_of FROM {STAGING} s WHERE s.bucket_changed = 1 OR NOT EXISTS "
            "(SELECT 1 FROM bucket_history h WHERE h.account_id = s.id AND h.left_on IS NULL)"
        ),
        p,
    )
    summary.bucket_changes = result.rowcount or 0
    conn.execute(
        text(
            "UPDATE accounts SET days_past_due = s.days_past_due, bucket = s.bucket, status = s.status, "
            "penalty = accounts.penalty + s.accrued, aged_as_of = :as_of, updated_at = :now, "
            "accrued_through = CASE WHEN accounts.accrued_through IS NOT NULL AND accounts.accrued_through > :as_of "
            "THEN accounts.accrued_through ELSE :as_of END "
            f"FROM {STAGING} s WHERE s.id = accounts.id"
        ),
        p,
    )
    paid = conn.execute(
        text(
            "UPDATE cases SET status = 'closed', closed_at = :now, close_reason = 'paid' WHERE status = 'open' "
            f"AND account_id IN (SELECT id FROM {STAGING} WHERE status = 'paid')"
        ),
        p,
    )
    summary.paid = paid.rowcount or 0
    summary.buckets = {
        b: int(n)
        for b, n in conn.execute(
            text(
                "SELECT bucket, COUNT(*) FROM accounts WHERE status = 'active' GROUP BY bucket ORDER BY bucket"
            )
        ).all()
    }
    conn.execute(
        BatchRun.__table__.update()
        .where(BatchRun.__table__.c.id == run_id)
        .values(status="succeeded", finished_at=ctx.clock(), summary=summary.to_dict())
    )
