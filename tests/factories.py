"""Builders for small real portfolios in tests (through the models and the ledger service)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.ledger import service as ledger
from arrears.portfolio.ageing import bucket_for
from arrears.portfolio.models import Account, Case, Creditor, Debtor, Instalment


def creditor(
    session: Session, ctx: AppContext, code: str = "BANK1", waterfall: Sequence[str] | None = None
) -> Creditor:
    now = ctx.clock()
    found = session.query(Creditor).filter_by(code=code).one_or_none()
    if found:
        return found
    c = Creditor(
        code=code,
        name=f"{code} 银行",
        default_currency="CNY",
        waterfall=list(waterfall) if waterfall else None,
        created_at=now,
    )
    session.add(c)
    session.flush()
    return c


def account(
    session: Session,
    ctx: AppContext,
    ref: str,
    *,
    balances: Mapping[str, int] | None = None,
    dpd: int = 10,
    placement_date: date = date(2026, 11, 1),
    daily_penalty_rate: str = "0.0005",
    currency: str = "CNY",
    creditor_code: str = "BANK1",
    schedule: Sequence[tuple[date, int]] = (),
    waterfall: Sequence[str] | None = None,
) -> Account:
    """An active, placed account with its opening balances posted and an open case."""
    now = ctx.clock()
    cred = creditor(session, ctx, creditor_code, waterfall)
    debtor = Debtor(creditor_id=cred.id, debtor_ref=f"D-{ref}", name="张三", created_at=now, updated_at=now)
    session.add(debtor)
    session.flush()
    acct = Account(
        creditor_id=cred.id,
        debtor_id=debtor.id,
        account_ref=ref,
        currency=currency,
        daily_penalty_rate=Decimal(daily_penalty_rate),
        placement_date=placement_date,
        overdue_since=placement_date - timedelta(days=dpd),
        accrued_through=placement_date,
        days_past_due=dpd,
        bucket=bucket_for(dpd),
        status="active",
        principal=0,
        interest=0,
        penalty=0,
        fees=0,
        credit=0,
        created_at=now,
        updated_at=now,
    )
    session.add(acct)
    session.flush()
    for seq, (due, principal_due) in enumerate(schedule, start=1):
        session.add(Instalment(account_id=acct.id, seq=seq, due_date=due, principal_due=principal_due))
    ledger.post_opening(
        session, acct, balances or {"principal": 1_000_000}, effective_date=placement_date, posted_at=now
    )
    session.add(Case(account_id=acct.id, status="open", opened_at=now))
    session.flush()
    return acct
