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
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
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
from arrears.strategy.batch import run_batch

AS_OF = date(2026, 11, 28)
PLACED = date(2026, 11, 1)
NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)


def synthetic(n: int, seed: int = 7) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    principal = rng.lognormal(np.log(2_000_000), 0.8, n).astype(np.int64)
    dpd = np.minimum(rng.gamma(1.3, 45, n).astype(np.int64), 720)
    placed = np.datetime64(PLACED.isoformat())
    overdue = (placed - dpd.astype("timedelta64[D]")).astype("datetime64[D]")
    rates = np.array(["0.0005", "0.00033", "0.001", "0"])[rng.integers(0, 4, n)]
    accounts = pa.table(
        {
            "id": ids,
            "creditor_id": np.ones(n, dtype=np.int64),
            "status": np.full(n, "active"),
            "principal": principal,
            "interest": (principal * 0.02).astype(np.int64),
            "penalty": np.zeros(n, dtype=np.int64),
            "fees": rng.integers(0, 5000, n),
            "overdue_since": pa.array(overdue, pa.date32()),
            "placement_date": pa.array(np.full(n, placed), pa.date32()),
            "accrued_through": pa.array(np.full(n, placed), pa.date32()),
            "daily_penalty_rate": rates,
            "bucket": np.full(n, "M1"),
        }
    )
    # One account in ten has a 12-month instalment schedule.
    sched_ids = ids[::10]
    k = len(sched_ids)
    first_due = placed - rng.integers(30, 200, k).astype("timedelta64[D]")
    seq = np.tile(np.arange(1, 13, dtype=np.int32), k)
    acc = np.repeat(sched_ids, 12)
    due = np.repeat(first_due, 12) + ((seq - 1) * 30).astype("timedelta64[D]")
    per = np.repeat(principal[::10] // 10, 12)
    schedule = pa.table(
        {
            "account_id": acc,
            "seq": seq,
            "due_date": pa.array(due.astype("datetime64[D]"), pa.date32()),
            "principal_due": per,
        }
    )
    return accounts, schedule


def load_sqlite(path: Path, accounts: pa.Table, schedule: pa.Table) -> None:
    con = sqlite3.connect(path)
    now = NOW.replace(tzinfo=None).isoformat(" ")
    con.execute(
        "INSERT INTO creditors (id, code, name, default_currency, rule_pack, timezone, created_at) "
        "VALUES (1, 'BENCH', 'Bench', 'CNY', 'cn', 'Asia/Shanghai', ?)",
        (now,),
    )
    n = accounts.num_rows
    con.executemany(
        "INSERT INTO debtors (id, creditor_id, debtor_ref, name, language, timezone, created_at, updated_at) "
        "VALUES (?, 1, ?, 'x', 'zh', 'Asia/Shanghai', ?, ?)",
        ((i, f"D{i}", now, now) for i in range(1, n + 1)),
    )
    cols = accounts.to_pydict()
    con.executemany(
        "INSERT INTO accounts (id, creditor_id, debtor_id, account_ref, product, currency, daily_penalty_rate, "
        "placement_date, overdue_since, status, principal, interest, penalty, fees, credit, accrued_through, "
        "days_past_due, bucket, created_at, updated_at) VALUES (?, 1, ?, ?, 'consumer_loan', 'CNY', ?, ?, ?, "
        "'active', ?, ?, 0, ?, 0, ?, 0, 'M1', ?, ?)",
        (
            (i, i, f"A{i}", r, p.isoformat(), o.isoformat(), pr, it, fe, p.isoformat(), now, now)
            for i, r, p, o, pr, it, fe in zip(
                cols["id"],
                cols["daily_penalty_rate"],
                cols["placement_date"],
                cols["overdue_since"],
                cols["principal"],
                cols["interest"],
                cols["fees"],
                strict=True,
            )
        ),
    )
    s = schedule.to_pydict()
    con.executemany(
        "INSERT INTO instalments (account_id, seq, due_date, principal_due, interest_due) "
        "VALUES (?, ?, ?, ?, 0)",
        zip(
            s["account_id"], s["seq"], [d.isoformat() for d in s["due_date"]], s["principal_due"], strict=True
        ),
    )
    con.commit()
    con.close()


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
