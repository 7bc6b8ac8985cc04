"""A synthetic portfolio for ageing and accrual as Arrow tables, and its load into a migrated SQLite
database (R2, R4).

One creditor, one debtor per account, principal, interest, fees, an overdue date and a daily penalty
rate per account; one account in ten on a 12-month instalment schedule. Drawn from a seeded numpy
generator, so the same arguments give the same tables. The ageing benchmark and the tests of the
columnar ageing and of the batch's crash safety share it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

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
        "placement_date, overdue_since, status, principal, interest, fees, credit, created_at, updated_at) "
        "VALUES (?, 1, ?, ?, 'consumer_loan', 'CNY', ?, ?, ?, "
        "'active', ?, ?, ?, 0, ?, ?)",
        (
            (i, i, f"A{i}", r, p.isoformat(), o.isoformat(), pr, it, fe, now, now)
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
    con.execute(  # each account's standing row: not yet aged, accrued through its placement date
        "INSERT INTO account_standing (account_id, days_past_due, bucket, penalty, accrued_through) "
        "SELECT id, 0, 'M1', 0, placement_date FROM accounts ORDER BY id"
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
