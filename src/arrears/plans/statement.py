"""The debtor's progress statement (R14): what was paid and what remains per component, from the ledger,
and the next due date (from an active plan, else the contract's schedule, else the arrears due now).

Figures come from ledger entries alone: `remaining` is the ledger's replayed balance, `paid` the
components settled by payments (less reversed payments), `waived` the relief granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from arrears.ledger import service as ledger
from arrears.ledger.models import COMPONENTS, CREDIT, LedgerEntry, LedgerTransaction
from arrears.plans import schedule
from arrears.plans.models import Plan
from arrears.portfolio.models import Account, Instalment

BOOKS = (*COMPONENTS, CREDIT)


@dataclass(frozen=True)
class PlanLine:
    plan_id: int
    kind: str
    status: str
    total: int
    paid: int
    remaining: int
    shortfall: int


@dataclass(frozen=True)
class Statement:
    account_ref: str
    currency: str
    status: str
    as_of: date
    remaining: ledger.Balances  # per component, replayed from the ledger
    paid: dict[str, int]  # per component (and `credit`: overpayment kept as a credit balance)
    waived: dict[str, int]
    total_paid: int  # cash received, net of reversed payments
    payments: int
    last_payment_on: date | None
    next_due: date | None
    next_amount: int
    next_source: str | None  # plan | contract | overdue
    plan: PlanLine | None
    progress: schedule.Progress | None


def _sums_by_kind(
    session: Session, account_id: int, kind: str
) -> tuple[dict[str, int], int, int, date | None]:
    """Per-book amounts settled by transactions of `kind`, net of their reversals (positive = settled)."""
    original = aliased(LedgerTransaction)
    tx = LedgerTransaction
    rows = session.execute(
        select(tx.id, tx.kind, tx.amount, tx.effective_date, LedgerEntry.book, LedgerEntry.amount)
        .join(LedgerEntry, LedgerEntry.transaction_id == tx.id)
        .outerjoin(original, original.id == tx.reverses_id)
        .where(
            LedgerEntry.account_id == account_id,
            (tx.kind == kind) | ((tx.kind == "reversal") & (original.kind == kind)),
        )
    ).all()
    sums = dict.fromkeys(BOOKS, 0)
    cash: dict[int, int] = {}
    last: date | None = None
    for tx_id, tx_kind, tx_amount, eff, book, amount in rows:
        if book in sums:
            sums[book] -= amount  # a payment credits the receivable books; its reversal debits them back
        cash[tx_id] = -tx_amount if tx_kind == "reversal" else tx_amount
        if tx_kind == kind and (last is None or eff > last):
            last = eff
    count = sum(1 if v > 0 else -1 for v in cash.values())
    return sums, sum(cash.values()), max(count, 0), last


def build_statement(session: Session, account: Account, as_of: date) -> Statement:
    remaining = ledger.replay_balances(session, account.id)
    paid, total_paid, count, last = _sums_by_kind(session, account.id, "payment")
    waived, _, _, _ = _sums_by_kind(session, account.id, "waiver")
    waived.pop(CREDIT, None)
    plan = session.scalar(
        select(Plan)
        .where(
            Plan.account_id == account.id,
            Plan.kind != "relief",
            Plan.status.in_(("active", "completed", "broken")),
        )
        .order_by(Plan.status != "active", Plan.id.desc())
        .limit(1)
    )
    from arrears.plans.service import progress as plan_progress

    prog = plan_progress(session, plan, as_of) if plan is not None else None
    line = None
    next_due, next_amount, source = None, 0, None
    if plan is not None and prog is not None:
        line = PlanLine(
            plan.id, plan.kind, plan.status, plan.total, prog.paid, prog.remaining, prog.shortfall
        )
        if plan.status == "active" and prog.next_due is not None:
            next_due, next_amount, source = prog.next_due, prog.next_amount, "plan"
    owed = remaining.total
    if source is None and owed > 0:
        upcoming = session.execute(
            select(Instalment.due_date, Instalment.principal_due, Instalment.interest_due)
            .where(Instalment.account_id == account.id, Instalment.due_date >= as_of)
            .order_by(Instalment.due_date)
            .limit(1)
        ).first()
        if upcoming is not None and account.days_past_due == 0:
            next_due, next_amount, source = (
                upcoming[0],
                min(int(upcoming[1]) + int(upcoming[2]), owed),
                "contract",
            )
        else:
            next_due, next_amount, source = as_of, owed, "overdue"
    return Statement(
        account_ref=account.account_ref,
        currency=account.currency,
        status=account.status,
        as_of=as_of,
        remaining=remaining,
        paid=paid,
        waived=waived,
        total_paid=total_paid,
        payments=count,
        last_payment_on=last,
        next_due=next_due,
        next_amount=next_amount,
        next_source=source,
        plan=line,
        progress=prog,
    )
