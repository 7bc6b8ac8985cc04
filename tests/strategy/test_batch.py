"""The nightly batch on SQLite and PostgreSQL: ageing, accrual, bucket history, idempotency, atomicity."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from tests import factories

from arrears.core.db import transaction
from arrears.core.errors import Conflict
from arrears.ledger import service as ledger
from arrears.ledger.models import LedgerEntry, LedgerTransaction
from arrears.portfolio.models import Account, BucketHistory
from arrears.strategy import batch as batch_module
from arrears.strategy.batch import run_batch


def _portfolio(ctx) -> dict[str, int]:
    with transaction(ctx.sessions) as s:
        a = factories.account(s, ctx, "B-1", balances={"principal": 1_000_000}, dpd=25)  # M1 → M2 on 11-07
        b = factories.account(
            s, ctx, "B-2", balances={"principal": 500_000, "fees": 1_000}, dpd=0, daily_penalty_rate="0"
        )
        c = factories.account(
            s,
            ctx,
            "B-3",
            balances={"principal": 600_000},
            dpd=0,
            schedule=[
                (date(2026, 10, 15), 200_000),
                (date(2026, 11, 15), 200_000),
                (date(2026, 12, 15), 200_000),
            ],
            daily_penalty_rate="0.00033",
        )
        return {"a": a.id, "b": b.id, "c": c.id}


def _state(ctx) -> list[tuple]:
    with transaction(ctx.sessions) as s:
        accts = s.execute(
            select(
                Account.account_ref,
                Account.penalty,
                Account.days_past_due,
                Account.bucket,
                Account.status,
                Account.accrued_through,
            ).order_by(Account.id)
        ).all()
        spells = s.execute(
            select(
                BucketHistory.account_id,
                BucketHistory.bucket,
                BucketHistory.entered_on,
                BucketHistory.left_on,
            ).order_by(BucketHistory.id)
        ).all()
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
    return [tuple(r) for r in accts] + [tuple(r) for r in spells] + [("entries", entries)]


def test_batch_ages_accrues_and_keeps_bucket_history(ctx) -> None:
    ids = _portfolio(ctx)
    summary = run_batch(ctx, date(2026, 11, 28))
    assert summary.accounts == 3
    with transaction(ctx.sessions) as s:
        a, b, c = (s.get(Account, ids[k]) for k in "abc")
        # A: overdue since 10-07, 52 days on 11-28 → M2; 27 days × 5.00 = 135.00 penalty.
        assert (a.days_past_due, a.bucket, a.penalty) == (52, "M2", 13_500)
        # B: due on placement day, DPD 27, no penalty rate.
        assert (b.days_past_due, b.bucket, b.penalty) == (27, "M1", 0)
        # C: schedule, nothing paid: oldest unpaid 10-15 → 44 days; accrual on overdue principal only:
        # 11-02..11-15 on 2,000.00 (0.66/day ×14 = 9.24) + 11-16..11-28 on 4,000.00 (1.32 × 13 = 17.16).
        assert (c.days_past_due, c.bucket, c.penalty) == (44, "M2", 924 + 1716)
        assert a.accrued_through == date(2026, 11, 28)
        # Replaying the ledger still reproduces every balance after the bulk accrual.
        for acct in (a, b, c):
            assert ledger.replay_balances(s, acct.id) == ledger.Balances.of(acct)
        sums = s.execute(
            select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.transaction_id
            )
        ).all()
        assert all(total == 0 for _, total in sums)
        spells = s.scalars(select(BucketHistory).where(BucketHistory.account_id == a.id)).all()
        assert [(sp.bucket, sp.entered_on, sp.left_on) for sp in spells] == [("M2", date(2026, 11, 28), None)]
        assert (
            s.scalar(
                select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "accrual")
            )
            == 1
        )


def test_rerun_for_the_same_date_changes_nothing(ctx) -> None:
    _portfolio(ctx)
    run_batch(ctx, date(2026, 11, 20))
    once = _state(ctx)
    again = run_batch(ctx, date(2026, 11, 20))
    assert again.accrued_accounts == 0 and again.bucket_changes == 0
    assert _state(ctx) == once


def test_bucket_moves_close_the_old_spell(ctx) -> None:
    ids = _portfolio(ctx)
    run_batch(ctx, date(2026, 11, 5))  # A: 29 days, M1
    run_batch(ctx, date(2026, 11, 7))  # A: 31 days, M2
    with transaction(ctx.sessions) as s:
        spells = s.execute(
            select(BucketHistory.bucket, BucketHistory.entered_on, BucketHistory.left_on)
            .where(BucketHistory.account_id == ids["a"])
            .order_by(BucketHistory.id)
        ).all()
    assert [tuple(x) for x in spells] == [
        ("M1", date(2026, 11, 5), date(2026, 11, 7)),
        ("M2", date(2026, 11, 7), None),
    ]


def test_daily_runs_accrue_the_same_as_one_run(ctx, tmp_path) -> None:
    ids = _portfolio(ctx)
    for day in (2, 9, 15, 22, 28):
        run_batch(ctx, date(2026, 11, day))
    with transaction(ctx.sessions) as s:
        assert s.get(Account, ids["a"]).penalty == 13_500
        assert s.get(Account, ids["c"]).penalty == 924 + 1716


def test_batch_refuses_an_earlier_date(ctx) -> None:
    _portfolio(ctx)
    run_batch(ctx, date(2026, 11, 28))
    with pytest.raises(Conflict):
        run_batch(ctx, date(2026, 11, 27))


def test_a_batch_that_fails_halfway_leaves_no_partial_state(ctx, monkeypatch) -> None:
    _portfolio(ctx)
    before = _state(ctx)
    original = batch_module._write_back

    def explode(conn, *args, **kwargs):
        original(conn, *args, **kwargs)  # everything written …
        raise RuntimeError("killed")  # … then the process dies before commit

    monkeypatch.setattr(batch_module, "_write_back", explode)
    with pytest.raises(RuntimeError):
        run_batch(ctx, date(2026, 11, 28))
    assert _state(ctx) == before
    monkeypatch.setattr(batch_module, "_write_back", original)
    run_batch(ctx, date(2026, 11, 28))
    after_clean = _state(ctx)
    assert after_clean != before


@pytest.mark.spark
@pytest.mark.xdist_group("spark")  # one JVM: every Spark test runs in the same worker
def test_spark_batch_leaves_the_same_state_as_duckdb(sqlite_ctx, tmp_path) -> None:
    from tests.conftest import FIXED_NOW

    from arrears.core.clock import fixed_clock
    from arrears.core.context import AppContext
    from arrears.core.migrate import upgrade

    other = AppContext(
        database_url=f"sqlite:///{tmp_path / 'spark.db'}",
        key_file=tmp_path / "k2.key",
        clock=fixed_clock(FIXED_NOW),
    )
    upgrade(other.engine)
    _portfolio(sqlite_ctx)
    _portfolio(other)
    run_batch(sqlite_ctx, date(2026, 11, 28), engine="duckdb")
    run_batch(other, date(2026, 11, 28), engine="spark")
    assert _state(other) == _state(sqlite_ctx)
    other.dispose()
