"""Ledger service on SQLite and PostgreSQL: postings balance, payments are idempotent, reversals restore."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from tests import factories

from arrears.core.db import transaction
from arrears.core.errors import Conflict, LedgerImbalance, ValidationFailed
from arrears.ledger import service as ledger
from arrears.ledger.models import LedgerEntry, LedgerTransaction
from arrears.portfolio.models import Account, BucketHistory, Case

OPENING = {"principal": 1_000_000, "interest": 50_000, "penalty": 20_000, "fees": 10_000}


def test_opening_and_payment_worked_example(ctx) -> None:
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-1", balances=OPENING)
        assert (acct.principal, acct.interest, acct.penalty, acct.fees) == (1_000_000, 50_000, 20_000, 10_000)
        # Paid on the placement date: no accrual. 500.00 → fees 100.00, penalty 200.00, interest 200.00.
        posting = ledger.post_payment(
            s, acct, amount=50_000, payment_ref="P-1", paid_on=date(2026, 11, 1), posted_at=ctx.clock()
        )
        assert not posting.duplicate
        assert posting.allocation.parts == {
            "principal": 0,
            "interest": 20_000,
            "penalty": 20_000,
            "fees": 10_000,
        }
        assert (acct.principal, acct.interest, acct.penalty, acct.fees) == (1_000_000, 30_000, 0, 0)


def test_payment_accrues_penalty_up_to_the_payment_date_first(ctx) -> None:
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-2", balances={"principal": 1_000_000})
        # 10,000.00 × 0.05% = 5.00 a day; paid on 11-05 → 4 days (11-02..11-05) = 20.00 penalty first.
        p = ledger.post_payment(
            s, acct, amount=10_000, payment_ref="P-2", paid_on=date(2026, 11, 5), posted_at=ctx.clock()
        )
        assert p.allocation.parts["penalty"] == 2_000
        assert p.allocation.parts["principal"] == 8_000
        assert acct.principal == 992_000 and acct.penalty == 0
        assert acct.accrued_through == date(2026, 11, 5)


def test_same_payment_ref_twice_is_one_posting(ctx) -> None:
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-3")
        first = ledger.post_payment(
            s, acct, amount=1_000, payment_ref="R", paid_on=date(2026, 11, 1), posted_at=ctx.clock()
        )
        again = ledger.post_payment(
            s, acct, amount=1_000, payment_ref="R", paid_on=date(2026, 11, 1), posted_at=ctx.clock()
        )
        assert again.duplicate and again.transaction.id == first.transaction.id
        assert again.allocation == first.allocation
        assert acct.principal == 999_000
        with pytest.raises(Conflict):
            ledger.post_payment(
                s, acct, amount=2_000, payment_ref="R", paid_on=date(2026, 11, 1), posted_at=ctx.clock()
            )
        n = s.scalar(
            select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == "payment")
        )
        assert n == 1


def test_overpayment_clears_the_account_and_keeps_credit(ctx) -> None:
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-4", balances={"principal": 10_000, "fees": 500})
        ledger.post_payment(
            s, acct, amount=12_000, payment_ref="OVER", paid_on=date(2026, 11, 1), posted_at=ctx.clock()
        )
        assert acct.credit == 1_500 and ledger.Balances.of(acct).owed == 0
        assert acct.status == "paid" and acct.bucket == "C" and acct.days_past_due == 0
        case = s.scalar(select(Case).where(Case.account_id == acct.id))
        assert case.status == "closed" and case.close_reason == "paid"
        spells = s.scalars(select(BucketHistory).where(BucketHistory.account_id == acct.id)).all()
        assert [sp.bucket for sp in spells if sp.left_on is None] == ["C"]
        # Refund the credit: back to zero, still balanced.
        ledger.refund(s, acct, 1_500, reason="refund overpayment", posted_at=ctx.clock())
        assert acct.credit == 0


def test_reversal_restores_every_component_and_reopens(ctx) -> None:
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-5", balances=OPENING)
        before = ledger.Balances.of(acct)
        p = ledger.post_payment(
            s, acct, amount=1_200_000, payment_ref="BIG", paid_on=date(2026, 11, 1), posted_at=ctx.clock()
        )
        assert acct.status == "paid" and acct.credit == 120_000
        ledger.reverse(s, p.transaction.id, reason="bounced", posted_at=ctx.clock())
        assert ledger.Balances.of(acct) == before
        assert acct.status == "active"
        assert (
            s.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.account_id == acct.id, Case.status == "open")
            )
            == 1
        )
        with pytest.raises(Conflict):
            ledger.reverse(s, p.transaction.id, reason="again", posted_at=ctx.clock())


def test_waiver_adjustment_and_write_off(ctx) -> None:
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-6", balances=OPENING)
        with pytest.raises(ValidationFailed):
            ledger.waive(s, acct, {"penalty": 20_001}, reason="too much", posted_at=ctx.clock())
        with pytest.raises(ValidationFailed):
            ledger.waive(s, acct, {"penalty": 1}, reason=" ", posted_at=ctx.clock())
        ledger.waive(
            s,
            acct,
            {"penalty": 20_000, "interest": 10_000},
            reason="hardship relief (R13)",
            posted_at=ctx.clock(),
        )
        assert (acct.penalty, acct.interest) == (0, 40_000)
        ledger.adjust(s, acct, "fees", -10_000, reason="fee charged in error", posted_at=ctx.clock())
        assert acct.fees == 0
        with pytest.raises(ValidationFailed):
            ledger.adjust(s, acct, "fees", -1, reason="below zero", posted_at=ctx.clock())
        wo = ledger.write_off(s, acct, reason="uncollectable", posted_at=ctx.clock())
        assert acct.status == "written_off" and ledger.Balances.of(acct).owed == 0
        assert wo.amount == 1_040_000
        ledger.reverse(s, wo.id, reason="written off by mistake", posted_at=ctx.clock())
        assert acct.status == "active" and acct.principal == 1_000_000


def test_unbalanced_transaction_is_refused_in_code(ctx) -> None:
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-7")
        with pytest.raises(LedgerImbalance):
            ledger.post(
                s,
                account=acct,
                creditor_id=acct.creditor_id,
                kind="adjustment",
                legs=[(acct.id, "fees", 100), (acct.id, "adjustment", -99)],
                currency="CNY",
                effective_date=date(2026, 11, 1),
                posted_at=ctx.clock(),
            )


def test_database_refuses_edits_to_ledger_entries(ctx) -> None:
    with transaction(ctx.sessions) as s:
        factories.account(s, ctx, "L-8")
    with pytest.raises(DBAPIError), ctx.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET amount = amount + 1"))


@pytest.mark.postgres
def test_postgres_refuses_an_unbalanced_transaction_at_commit(ctx) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no deferred constraint triggers")
    with transaction(ctx.sessions) as s:
        acct = factories.account(s, ctx, "L-9")
        acct_id, creditor_id = acct.id, acct.creditor_id
    with pytest.raises(DBAPIError, match="does not balance"), transaction(ctx.sessions) as s:
        tx = LedgerTransaction(
            creditor_id=creditor_id,
            account_id=acct_id,
            kind="adjustment",
            currency="CNY",
            effective_date=date(2026, 11, 1),
            posted_at=ctx.clock(),
            amount=1,
        )
        tx.entries = [LedgerEntry(account_id=acct_id, book="fees", amount=1)]
        s.add(tx)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 2_000_000)),
        st.tuples(st.just("reverse"), st.integers(0, 20)),
        st.tuples(st.just("waive"), st.sampled_from(["penalty", "interest", "fees"])),
        st.tuples(st.just("adjust"), st.integers(-5_000, 5_000)),
    ),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_replaying_the_ledger_reproduces_every_balance(sqlite_ctx, ops) -> None:
    """Any sequence of payments, reversals, waivers and adjustments: balances == replay of entries,
    no component negative, every transaction balanced."""
    ctx = sqlite_ctx
    with transaction(ctx.sessions) as s:
        s.execute(text("DELETE FROM cases"))
        ref = f"H-{s.scalar(select(func.count()).select_from(Account))}"
        acct = factories.account(s, ctx, ref, balances=OPENING)
        payments: list[int] = []
        for i, (op, arg) in enumerate(ops):
            try:
                if op == "pay":
                    p = ledger.post_payment(
                        s,
                        acct,
                        amount=arg,
                        payment_ref=f"{ref}-{i}",
                        paid_on=date(2026, 11, 1 + i),
                        posted_at=ctx.clock(),
                    )
                    payments.append(p.transaction.id)
                elif op == "reverse" and payments:
                    ledger.reverse(s, payments.pop(arg % len(payments)), reason="test", posted_at=ctx.clock())
                elif op == "waive":
                    ledger.waive(s, acct, {arg: getattr(acct, arg)}, reason="relief", posted_at=ctx.clock())
                elif op == "adjust":
                    ledger.adjust(s, acct, "fees", arg, reason="fix", posted_at=ctx.clock())
            except (ValidationFailed, Conflict):
                pass  # refused operations must leave no trace; the invariants below check that
            s.flush()
            assert ledger.replay_balances(s, acct.id) == ledger.Balances.of(acct)
            for comp in ("principal", "interest", "penalty", "fees", "credit"):
                assert getattr(acct, comp) >= 0
        sums = s.execute(
            select(LedgerEntry.transaction_id, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.transaction_id
            )
        ).all()
        assert all(total == 0 for _, total in sums)
