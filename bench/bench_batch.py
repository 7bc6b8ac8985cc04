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
from datetime import date
from pathlib import Path
from typing import Any

from arrears.core.context import AppContext
from arrears.core.migrate import upgrade
from arrears.simulation.batch_baseline import baseline_day
from arrears.simulation.batch_portfolio import DAY1, DAY2, context, load, portfolio
from arrears.strategy.batch import run_batch
from bench.machine import calibration

PG_DATABASE = "arrears_bench_batch"  # created and dropped by the run, apart from the test suite's


# ------------------------------------------------------------------------------------------ PostgreSQL

COPIED = ("creditors", "debtors", "contact_points", "accounts", "account_standing", "cases", "instalments")


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
            key = (
                "account_id" if table == "account_standing" else "id"
            )  # one row per account, no id of its own
            cur = src.execute(f"SELECT * FROM {table} ORDER BY {key}")
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
            if key == "id":
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
        # the machine's speed at the time: absolute seconds from days of different calibration differ
        "calibration_loop_5M_s": calibration(),
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
    result["calibration_loop_5M_s_after"] = calibration()
    result["target"] = {"wall_s_max": 10.0, "speedup_min": 50}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
