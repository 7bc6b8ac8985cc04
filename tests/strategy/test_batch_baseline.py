"""The columnar nightly batch and the row-by-row batch the benchmark times it against (ORM, scalar
ageing, scalar strategy rules, scalar guard) leave the same portfolio state, day after day — so the
benchmark compares two implementations of one batch, and the fast path is checked against the
reference rules on a generated portfolio with schedules, both packs and missing contact points."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from arrears.core.migrate import upgrade
from arrears.simulation.batch_baseline import baseline_day
from arrears.simulation.batch_portfolio import DAY1, DAY2, context, load, portfolio
from arrears.strategy.batch import run_batch

QUERIES = {
    "accounts": (
        "SELECT id, penalty, days_past_due, bucket, status, accrued_through, aged_as_of FROM accounts "
        "JOIN account_standing ON account_id = id ORDER BY id"
    ),
    "bucket spells": "SELECT account_id, bucket, entered_on, left_on FROM bucket_history ORDER BY account_id, id",
    "treatment spells": (
        "SELECT account_id, strategy, segment, arm, path, entered_on, left_on FROM treatment_spells "
        "ORDER BY account_id, id"
    ),
    "planned contacts": (
        "SELECT as_of, account_id, strategy, segment, arm, path, step_no, action, channel, template, tone, "
        "window_start, window_end, allowed, rules, ROUND(priority, 4) FROM planned_contacts ORDER BY as_of, account_id"
    ),
    "cases": "SELECT account_id, status, ROUND(score, 6), score_source, ROUND(priority, 4) FROM cases ORDER BY id",
    "penalty postings": (
        "SELECT account_id, SUM(amount) FROM ledger_entries WHERE book = 'penalty' GROUP BY account_id ORDER BY account_id"
    ),
}


def _state(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in QUERIES.items()}
    finally:
        con.close()


def test_columnar_batch_leaves_the_state_of_the_row_by_row_batch(tmp_path) -> None:
    p = portfolio(400, seed=9)
    states = []
    for name in ("columnar", "rows"):
        db = tmp_path / f"{name}.db"
        ctx = context(f"sqlite:///{db}", tmp_path / "k.key")
        upgrade(ctx.engine)
        load(db, p, ctx.keys)
        con = sqlite3.connect(db)  # some debtors without a phone, some points without a zone
        con.execute("DELETE FROM contact_points WHERE debtor_id % 9 = 0 AND kind = 'phone'")
        con.execute("UPDATE contact_points SET timezone = NULL WHERE debtor_id % 7 = 0")
        con.commit()
        con.close()
        for day in (DAY1, DAY2):
            if name == "columnar":
                run_batch(ctx, day)
            else:
                baseline_day(ctx, day)
        ctx.dispose()
        states.append(_state(db))
    columnar, rows = states
    assert len(columnar["planned contacts"]) > 100 and len(columnar["treatment spells"]) > 400
    assert {r[14] for r in columnar["planned contacts"]} >= {None, "NO-CONTACT-POINT"}
    for name in QUERIES:
        assert columnar[name] == rows[name], name
