"""A synthetic portfolio for the nightly batch, written straight into a migrated SQLite database (R1, R4).

Two creditors (`cn` and `us` packs), one debtor per account with an encrypted mobile number (and an
e-mail for one in three), an open case with ability, willingness and flags (R6), one account in ten on
a 12-month instalment schedule (R2). `DAY1` is the first batch over the freshly placed portfolio,
`DAY2` the ordinary next day. Column arrays come from a seeded numpy generator, so the same arguments
give the same portfolio. The benchmark of the batch and the tests of its columnar path share it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.security.pii import KeyRing

PLACED = date(2026, 11, 1)
DAY1 = date(2026, 11, 28)
DAY2 = date(2026, 11, 29)
NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
ABILITY = np.array(["unknown", "low", "medium", "high"])
WILLINGNESS = np.array(["unknown", "low", "medium", "high"])


def portfolio(n: int, seed: int = 11) -> dict[str, Any]:
    """Column arrays of a synthetic portfolio of n accounts (ids 1..n, debtor i owns account i)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    us = rng.random(n) < 0.1
    principal = rng.lognormal(np.log(2_000_000), 0.8, n).astype(np.int64)
    dpd = np.minimum(rng.gamma(1.3, 45, n).astype(np.int64), 720)
    placed = np.datetime64(PLACED.isoformat())
    overdue = (placed - dpd.astype("timedelta64[D]")).astype("datetime64[D]")
    rates = np.array(["0.0005", "0.00033", "0.001", "0"])[rng.integers(0, 4, n)]
    flags = np.where(
        rng.random(n) < 0.02, np.where(rng.random(n) < 0.5, "deliberate_evasion", "fraud_suspected"), ""
    )
    sched = ids[::10]
    k = len(sched)
    first_due = placed - rng.integers(30, 200, k).astype("timedelta64[D]")
    seq = np.tile(np.arange(1, 13, dtype=np.int32), k)
    return {
        "n": n,
        "ids": ids,
        "us": us,
        "principal": principal,
        "interest": (principal * 0.02).astype(np.int64),
        "fees": rng.integers(0, 5000, n),
        "overdue": overdue,
        "rates": rates,
        "ability": ABILITY[rng.integers(0, 4, n)],
        "willingness": WILLINGNESS[rng.choice(4, n, p=[0.55, 0.15, 0.15, 0.15])],
        "flags": flags,
        "email": rng.random(n) < 1 / 3,
        "sched_acc": np.repeat(sched, 12),
        "sched_seq": seq,
        "sched_due": (np.repeat(first_due, 12) + ((seq - 1) * 30).astype("timedelta64[D]")).astype(
            "datetime64[D]"
        ),
        "sched_amt": np.repeat(principal[::10] // 10, 12),
    }


def load(path: Path, p: dict[str, Any], keys: KeyRing, upto: int | None = None) -> None:
    """Write the portfolio (its first `upto` accounts) straight into a migrated SQLite database."""
    n = p["n"] if upto is None else min(upto, p["n"])
    now = NOW.replace(tzinfo=None).isoformat(" ")
    placed = PLACED.isoformat()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        "INSERT INTO creditors (id, code, name, default_currency, rule_pack, timezone, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (1, "BANK-CN", "Bank CN", "CNY", "cn", "Asia/Shanghai", now),
            (2, "BANK-US", "Bank US", "USD", "us", "America/New_York", now),
        ],
    )
    us = p["us"][:n].tolist()
    tz = ["America/New_York" if u else "Asia/Shanghai" for u in us]
    con.executemany(
        "INSERT INTO debtors (id, creditor_id, debtor_ref, name, language, timezone, created_at, updated_at) "
        "VALUES (?, ?, ?, 'x', 'zh', ?, ?, ?)",
        ((i, 2 if u else 1, f"D{i}", z, now, now) for i, u, z in zip(range(1, n + 1), us, tz, strict=True)),
    )

    def points() -> Iterator[tuple[Any, ...]]:
        for i, u, z, e in zip(range(1, n + 1), us, tz, p["email"][:n].tolist(), strict=True):
            phone = f"+1212{5000000 + i:07d}"[:12] if u else f"+86138{i:08d}"
            yield (i, "phone", "mobile", keys.encrypt(phone), keys.blind_index("phone", phone), z, now)
            if e:
                mail = f"d{i}@example.com"
                yield (i, "email", "home", keys.encrypt(mail), keys.blind_index("email", mail), z, now)

    con.executemany(
        "INSERT INTO contact_points (debtor_id, kind, label, value_enc, value_bidx, timezone, status, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
        points(),
    )
    con.executemany(
        "INSERT INTO accounts (id, creditor_id, debtor_id, account_ref, product, currency, daily_penalty_rate, "
        "placement_date, overdue_since, status, principal, interest, fees, credit, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'consumer_loan', ?, ?, ?, ?, "
        "'active', ?, ?, ?, 0, ?, ?)",
        (
            (
                i,
                2 if u else 1,
                i,
                f"A{i}",
                "USD" if u else "CNY",
                r,
                placed,
                str(o),
                pr,
                it,
                fe,
                now,
                now,
            )
            for i, u, r, o, pr, it, fe in zip(
                range(1, n + 1),
                us,
                p["rates"][:n].tolist(),
                p["overdue"][:n].tolist(),
                p["principal"][:n].tolist(),
                p["interest"][:n].tolist(),
                p["fees"][:n].tolist(),
                strict=True,
            )
        ),
    )
    con.execute(  # each account's standing row: not yet aged, accrued through its placement date
        "INSERT INTO account_standing (account_id, days_past_due, bucket, penalty, accrued_through) "
        "SELECT id, 0, 'M1', 0, placement_date FROM accounts ORDER BY id"
    )
    con.executemany(
        "INSERT INTO cases (account_id, status, opened_at, priority, ability, willingness, flags) "
        "VALUES (?, 'open', ?, 0, ?, ?, ?)",
        (
            (i, now, a, w, f or None)
            for i, a, w, f in zip(
                range(1, n + 1),
                p["ability"][:n].tolist(),
                p["willingness"][:n].tolist(),
                p["flags"][:n].tolist(),
                strict=True,
            )
        ),
    )
    keep = p["sched_acc"] <= n
    con.executemany(
        "INSERT INTO instalments (account_id, seq, due_date, principal_due, interest_due) VALUES (?, ?, ?, ?, 0)",
        zip(
            p["sched_acc"][keep].tolist(),
            p["sched_seq"][keep].tolist(),
            [str(d) for d in p["sched_due"][keep].tolist()],
            p["sched_amt"][keep].tolist(),
            strict=True,
        ),
    )
    con.commit()
    con.close()


def context(url: str, key_file: Path) -> AppContext:
    """An application context on `url` whose clock stands at `NOW`, the evening of `DAY1`."""
    return AppContext(database_url=url, key_file=key_file, clock=fixed_clock(NOW))
