"""The whole nightly batch on N accounts: first run over a fresh portfolio and an ordinary next-day
run, stage by stage (wall and CPU), against the row-by-row baseline of the same batch in the same run.

    python -m bench.bench_batch [--accounts 1000000] [--baseline-sample 1000] [--engine duckdb]
                                [--postgres URL] [--keep DIR]

Prints JSON. The portfolio is synthetic but complete: two creditors (`cn` and `us` packs), one debtor
per account with an encrypted mobile number (and an e-mail for one in three), an open case with
ability, willingness and flags, one account in ten on a 12-month instalment schedule. Day 1 is the
first batch over the freshly placed portfolio (every account enters a bucket and a treatment path);
day 2 is the ordinary nightly case (yesterday's batch already ran). The baseline runs the same batch
row by row through the ORM — accrue, age, keep bucket spells, features, scalar strategy rules, the
scalar guard for each planned contact, write the plan and the case — on a sample of the same
portfolio for the same two days, scaled to N.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.migrate import upgrade
from arrears.security.pii import KeyRing
from arrears.strategy.batch import run_batch

PLACED = date(2026, 11, 1)
DAY1 = date(2026, 11, 28)
DAY2 = date(2026, 11, 29)
NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
PG_DATABASE = "arrears_bench_batch"  # created and dropped by the run, apart from the test suite's
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
        "placement_date, overdue_since, status, principal, interest, penalty, fees, credit, accrued_through, "
        "days_past_due, bucket, created_at, updated_at) VALUES (?, ?, ?, ?, 'consumer_loan', ?, ?, ?, ?, "
        "'active', ?, ?, 0, ?, 0, ?, 0, 'M1', ?, ?)",
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
                placed,
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


# --------------------------------------------------------------------------------------------- baseline


def baseline_day(ctx: AppContext, as_of: date) -> None:
    """The same batch, one account at a time through the ORM (what a naive implementation does)."""
    from arrears.compliance.guard import ContactHistory, Guard, ProposedContact
    from arrears.compliance.guard import ContactPoint as GuardPoint
    from arrears.compliance.packs import load_pack
    from arrears.ledger import service as ledger
    from arrears.portfolio import ageing
    from arrears.portfolio.models import Account, BucketHistory, Case, ContactPoint, Creditor, Debtor
    from arrears.strategy import rules
    from arrears.strategy.batch import BatchRun
    from arrears.strategy.models import PlannedContact, TreatmentSpell
    from arrears.strategy.service import active_strategy

    now = ctx.clock()
    guards: dict[str, Guard] = {}
    with transaction(ctx.sessions) as s:
        strategy = active_strategy(s.connection())
        run = BatchRun(as_of=as_of, engine="baseline", status="running", started_at=now)
        s.add(run)
        s.flush()
        for acct in s.scalars(select(Account).where(Account.status == "active").order_by(Account.id)):
            ledger.accrue_through(s, acct, as_of, posted_at=now)
            dpd = ageing.days_past_due(
                as_of,
                total_balance=ledger.Balances.of(acct).owed,
                overdue_since=acct.overdue_since,
                principal_outstanding=acct.principal,
                schedule=ledger.schedule_of(s, acct),
            )
            bucket = ageing.bucket_for(dpd)
            spell = s.scalar(
                select(BucketHistory).where(
                    BucketHistory.account_id == acct.id, BucketHistory.left_on.is_(None)
                )
            )
            if spell is None or spell.bucket != bucket:
                if spell is not None:
                    spell.left_on = as_of
                s.add(BucketHistory(account_id=acct.id, bucket=bucket, entered_on=as_of))
            acct.days_past_due, acct.bucket, acct.aged_as_of = dpd, bucket, as_of
            case = s.scalar(select(Case).where(Case.account_id == acct.id, Case.status == "open"))
            creditor = s.get(Creditor, acct.creditor_id)
            assert creditor is not None
            balance = acct.principal + acct.interest + acct.penalty + acct.fees
            score = float(np.round(1.0 / (1.0 + np.exp(-(0.6 - 0.03 * dpd))), 6))  # the batch's prior
            feats = {
                "account_ref": acct.account_ref,
                "creditor": creditor.code,
                "product": acct.product,
                "bucket": bucket,
                "days_past_due": dpd,
                "balance_major": balance / 100,
                "score": score,
                "ability": case.ability if case else "unknown",
                "willingness": case.willingness if case else "unknown",
                "flags": case.flags if case else None,
            }
            seg = rules.select_segment(strategy, feats)
            arm = rules.assign_arm(strategy, seg, acct.account_ref)
            state = s.scalar(
                select(TreatmentSpell).where(
                    TreatmentSpell.account_id == acct.id, TreatmentSpell.left_on.is_(None)
                )
            )
            if state is None or state.segment != seg.id or state.arm != arm.id:
                if state is not None:
                    state.left_on = as_of
                state = TreatmentSpell(
                    account_id=acct.id,
                    strategy=strategy.key,
                    segment=seg.id,
                    arm=arm.id,
                    path=arm.path,
                    entered_on=as_of,
                )
                s.add(state)
            action = rules.todays_action(strategy.path(arm.path), (as_of - state.entered_on).days, feats)
            priority = float(np.round(score * float(balance), 4))
            if action is not None:
                allowed, why = True, None
                step = action.step
                if action.action == "contact" and step is not None:
                    debtor = s.get(Debtor, acct.debtor_id)
                    assert debtor is not None
                    kind = {"email": "email", "letter": "address", "visit": "address"}.get(
                        step.channel, "phone"
                    )
                    point = s.scalar(
                        select(ContactPoint)
                        .where(
                            ContactPoint.debtor_id == acct.debtor_id,
                            ContactPoint.kind == kind,
                            ContactPoint.third_party_id.is_(None),
                            ContactPoint.status == "active",
                        )
                        .order_by(ContactPoint.id)
                        .limit(1)
                    )
                    if point is None:
                        allowed, why = False, "NO-CONTACT-POINT"
                    else:
                        zone = point.timezone or debtor.timezone
                        hh, mm = step.window[0].split(":")
                        at = datetime.combine(as_of, dtime(int(hh), int(mm)), ZoneInfo(zone)).astimezone(UTC)
                        guard = guards.get(creditor.rule_pack) or guards.setdefault(
                            creditor.rule_pack, Guard(load_pack(creditor.rule_pack))
                        )
                        decision = guard.decide(
                            ProposedContact(
                                at=at,
                                account=acct.account_ref,
                                person=str(acct.debtor_id),
                                party="debtor",
                                channel=step.channel,
                                contact=GuardPoint(ctx.keys.decrypt(point.value_enc), kind, zone),
                            ),
                            ContactHistory(),
                        )
                        allowed, why = decision.allowed, ",".join(decision.rules) or None
                s.add(
                    PlannedContact(
                        batch_run_id=run.id,
                        as_of=as_of,
                        account_id=acct.id,
                        strategy=strategy.key,
                        segment=seg.id,
                        arm=arm.id,
                        path=arm.path,
                        step_no=action.step_no,
                        action=action.action,
                        channel=step.channel if step else None,
                        template=step.template if step else None,
                        tone=step.tone if step else None,
                        window_start=step.window[0] if step else None,
                        window_end=step.window[1] if step else None,
                        allowed=allowed,
                        rules=why,
                        priority=priority,
                    )
                )
            if case is not None:
                case.score, case.score_source, case.priority = score, "prior:dpd-logistic", priority
            s.flush()
        run.status = "succeeded"


# ------------------------------------------------------------------------------------------ PostgreSQL

COPIED = ("creditors", "debtors", "contact_points", "accounts", "cases", "instalments")


def postgres_copy(admin_url: str, sqlite_path: Path, name: str) -> str:
    """A fresh database `name` on the server of `admin_url`, migrated, holding the SQLite portfolio."""
    import psycopg
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    eng = create_engine(url)
    upgrade(eng)
    eng.dispose()
    src = sqlite3.connect(sqlite_path)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
        pg.execute("SET TIME ZONE 'UTC'")
        for table in COPIED:
            cur = src.execute(f"SELECT * FROM {table} ORDER BY id")
            cols = ", ".join(d[0] for d in cur.description)
            blobs = [i for i, d in enumerate(cur.description) if d[0].endswith("_enc")]
            with pg.cursor().copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                while rows := cur.fetchmany(50_000):
                    buf = io.StringIO()
                    out = csv.writer(buf, lineterminator="\n")  # None → unquoted empty → NULL
                    if blobs:
                        rows = [
                            tuple(
                                "\\x" + v.hex() if i in blobs and v is not None else v
                                for i, v in enumerate(r)
                            )
                            for r in rows
                        ]
                    out.writerows(rows)
                    copy.write(buf.getvalue())
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )
            pg.execute(f"ANALYZE {table}")
    src.close()
    return url


def postgres_drop(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# ------------------------------------------------------------------------------------------------ runs


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed_batch(ctx: AppContext, as_of: date, engine: str) -> dict[str, Any]:
    """`cpu_s` counts this process and its children (the SQLite snapshot reader runs in one)."""
    w, c, k = time.perf_counter(), time.process_time(), _children_cpu()
    summary = run_batch(ctx, as_of, engine=engine)
    parent, children = time.process_time() - c, _children_cpu() - k
    return {
        "wall_s": round(time.perf_counter() - w, 3),
        "cpu_s": round(parent + children, 3),
        "cpu_s_parent": round(parent, 3),
        "cpu_s_children": round(children, 3),
        "snapshot_reader": summary.snapshot_reader,
        "staging_writer": summary.staging_writer,
        "stages_wall_s": summary.seconds,
        "stages_cpu_s": getattr(summary, "cpu_seconds", {}),
        "written": getattr(summary, "written", {}),
        "accounts": summary.accounts,
        "accrued_accounts": summary.accrued_accounts,
        "bucket_changes": summary.bucket_changes,
        "planned": sum(summary.planned.values()),
        "blocked": summary.blocked,
    }


def context(url: str, key_file: Path) -> AppContext:
    return AppContext(database_url=url, key_file=key_file, clock=fixed_clock(NOW))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--baseline-sample", type=int, default=1_000)
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--postgres", default=None, help="also run the batch on this PostgreSQL database")
    ap.add_argument("--keep", default=None, help="keep the databases in this directory")
    args = ap.parse_args()
    n = args.accounts
    p = portfolio(n)
    result: dict[str, Any] = {
        "benchmark": "nightly_batch",
        "accounts": n,
        "engine": args.engine,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(args.keep) if args.keep else Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        key_file = tmp / "k.key"
        db = tmp / "batch.db"
        db.unlink(missing_ok=True)
        ctx = context(f"sqlite:///{db}", key_file)
        keys = ctx.keys
        upgrade(ctx.engine)
        t = time.perf_counter()
        load(db, p, keys)
        result["sqlite_load_s"] = round(time.perf_counter() - t, 1)
        pg_url = None
        if args.postgres:
            t = time.perf_counter()
            pg_url = postgres_copy(args.postgres, db, PG_DATABASE)
            result["postgres_load_s"] = round(time.perf_counter() - t, 1)
        result["first_run"] = timed_batch(ctx, DAY1, args.engine)
        result["next_day"] = timed_batch(ctx, DAY2, args.engine)
        ctx.dispose()
        if pg_url:
            try:
                pctx = context(pg_url, key_file)
                result["postgres"] = {
                    "first_run": timed_batch(pctx, DAY1, args.engine),
                    "next_day": timed_batch(pctx, DAY2, args.engine),
                }
                pctx.dispose()
            finally:
                postgres_drop(args.postgres, PG_DATABASE)

        sample = min(args.baseline_sample, n)
        small = tmp / "baseline.db"
        small.unlink(missing_ok=True)
        bctx = context(f"sqlite:///{small}", key_file)
        upgrade(bctx.engine)
        load(small, p, bctx.keys, upto=sample)
        base = {}
        for label, day in (("first_run", DAY1), ("next_day", DAY2)):
            w, c = time.perf_counter(), time.process_time()
            baseline_day(bctx, day)
            base[label] = (time.perf_counter() - w, time.process_time() - c)
        bctx.dispose()

    for label in ("first_run", "next_day"):
        bw, bc = base[label]
        scaled_w, scaled_c = bw / sample * n, bc / sample * n
        if "postgres" in result:
            pr = result["postgres"][label]
            pr["speedup_wall_vs_sqlite_baseline"] = round(scaled_w / pr["wall_s"], 1)
        r = result[label]
        r["baseline_sample"] = sample
        r["baseline_wall_s_sample"] = round(bw, 3)
        r["baseline_wall_s_extrapolated"] = round(scaled_w, 1)
        r["baseline_cpu_s_extrapolated"] = round(scaled_c, 1)
        r["speedup_wall"] = round(scaled_w / r["wall_s"], 1)
        r["speedup_cpu"] = round(scaled_c / r["cpu_s"], 1)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    result["target"] = {"wall_s_max": 10.0, "speedup_min": 50}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
