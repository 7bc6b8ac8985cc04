"""Ageing + accrual of N accounts: the columnar path vs a row-by-row ORM baseline, in the same run.

    python -m bench.bench_ageing [--accounts 1000000] [--baseline-sample 2000]

Prints JSON. Three figures:
- `columnar_compute_s`: DuckDB ageing + accrual over an in-memory Arrow snapshot of N accounts;
- `end_to_end_s`: `run_batch` against an embedded SQLite database of N accounts (snapshot read,
  compute, staging, one-transaction write-back with the ledger postings and bucket history);
- `baseline_s_extrapolated`: the row-by-row ORM path (load account, scalar rules, post the accrual,
  update DPD/bucket) timed on a sample and scaled to N.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.migrate import upgrade
from arrears.ledger import service as ledger
from arrears.portfolio import ageing
from arrears.portfolio.ageing_columnar import age_portfolio
from arrears.portfolio.models import Account
from arrears.simulation.ageing_portfolio import AS_OF, NOW, load_sqlite, synthetic
from arrears.strategy.batch import run_batch


def baseline(ctx: AppContext, sample: int) -> float:
    """Row by row through the ORM: what a naive implementation does for each account."""
    t = time.perf_counter()
    with transaction(ctx.sessions) as s:
        for acct in s.query(Account).filter(Account.status == "active").order_by(Account.id).limit(sample):
            ledger.accrue_through(s, acct, AS_OF, posted_at=NOW)
            sched = ledger.schedule_of(s, acct)
            dpd = ageing.days_past_due(
                AS_OF,
                total_balance=ledger.Balances.of(acct).owed,
                overdue_since=acct.overdue_since,
                principal_outstanding=acct.principal,
                schedule=sched,
            )
            acct.days_past_due, acct.bucket, acct.aged_as_of = dpd, ageing.bucket_for(dpd), AS_OF
            s.flush()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--baseline-sample", type=int, default=2_000)
    args = ap.parse_args()
    n = args.accounts
    accounts, schedule = synthetic(n)

    t = time.perf_counter()
    out = age_portfolio(accounts, schedule, AS_OF)
    columnar = time.perf_counter() - t
    assert out.num_rows == n

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        ctx = AppContext(database_url=f"sqlite:///{db}", key_file=Path(tmp) / "k.key", clock=fixed_clock(NOW))
        upgrade(ctx.engine)
        t = time.perf_counter()
        load_sqlite(db, accounts, schedule)
        load_s = time.perf_counter() - t
        summary = run_batch(ctx, AS_OF - timedelta(days=0))
        ctx.dispose()

        small = Path(tmp) / "baseline.db"
        bctx = AppContext(
            database_url=f"sqlite:///{small}", key_file=Path(tmp) / "k.key", clock=fixed_clock(NOW)
        )
        upgrade(bctx.engine)
        sample = min(args.baseline_sample, n)
        load_sqlite(
            small,
            accounts.slice(0, sample),
            schedule.filter(pa.compute.less_equal(schedule["account_id"], sample)),
        )
        base = baseline(bctx, sample)
        bctx.dispose()

    base_full = base / sample * n
    result = {
        "benchmark": "ageing_accrual",
        "accounts": n,
        "scheduled_accounts": n // 10,
        "columnar_compute_s": round(columnar, 3),
        "end_to_end_s": summary.seconds.get("total"),
        "end_to_end_breakdown_s": summary.seconds,
        "sqlite_load_s": round(load_s, 1),
        "baseline_sample": sample,
        "baseline_s_sample": round(base, 3),
        "baseline_s_extrapolated": round(base_full, 1),
        "speedup_compute_vs_baseline": round(base_full / columnar, 1),
        "speedup_end_to_end_vs_baseline": round(base_full / summary.seconds["total"], 1),
        "target": {"columnar_s_max": 3.0, "speedup_min": 100},
        "penalty_check": str(Decimal(int(np.asarray(out["accrued"]).sum())) / 100),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
