"""Ledger use cases — the one place that posts money. Every transaction balances before it is written.

Sign convention: entries are signed minor units, debit positive. Receivable books (principal,
interest, penalty, fees) rise with debits; the debtor's credit balance is a liability, so a credit
(negative) entry on `credit` raises it. The account's balance columns move in the same database
transaction as the entries, and replaying the entries reproduces them (tested).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict, LedgerImbalance, NotFound, ValidationFailed
from arrears.ledger.allocation import Allocation, allocate_payment
from arrears.ledger.models import BOOKS, COMPONENTS, CREDIT, LedgerEntry, LedgerTransaction
from arrears.portfolio import ageing
from arrears.portfolio.models import Account, BucketHistory, Case, Creditor, Instalment

Leg = tuple[int | None, str, int]  # (account id or None for a portfolio-level counter entry, book, amount)

REVERSIBLE = ("payment", "adjustment", "waiver", "write_off", "refund")


@dataclass(frozen=True)
class Balances:
    principal: int = 0
    interest: int = 0
    penalty: int = 0
    fees: int = 0
    credit: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.fees - self.credit

    @property
    def owed(self) -> int:
        return self.principal + self.interest + self.penalty + self.fees

    def as_dict(self) -> dict[str, int]:
        return {c: getattr(self, c) for c in (*COMPONENTS, CREDIT)}

    @classmethod
    def of(cls, account: Account) -> Balances:
        return cls(account.principal, account.interest, account.penalty, account.fees, account.credit)


def check_balanced(legs: Sequence[Leg]) -> None:
    """Double entry: the signed amounts of a transaction sum to zero, and every book is known."""
    for _acct, book, amount in legs:
        if book not in BOOKS:
            raise LedgerImbalance(f"unknown book {book!r}")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise LedgerImbalance(f"entry amount must be integer minor units, got {amount!r}")
    total = sum(a for _, _, a in legs)
    if total != 0:
        raise LedgerImbalance(f"transaction does not balance: entries sum to {total}")


def _new_balances(account: Account, legs: Iterable[Leg]) -> dict[str, int]:
    """The account's balances after the legs — computed and checked before anything is changed."""
    new = {c: getattr(account, c) for c in (*COMPONENTS, CREDIT)}
    for acct_id, book, amount in legs:
        if acct_id != account.id:
            continue
        if book in COMPONENTS:
            new[book] += amount
        elif book == CREDIT:
            new[CREDIT] -= amount
    for comp, value in new.items():
        if value < 0:
            raise ValidationFailed(f"account {account.account_ref}: {comp} would go negative")
    return new


def post(
    session: Session,
    *,
    account: Account | None,
    creditor_id: int,
    kind: str,
    legs: Sequence[Leg],
    currency: str,
    effective_date: date,
    posted_at: datetime,
    amount: int = 0,
    payment_ref: str | None = None,
    reason: str | None = None,
    reverses_id: int | None = None,
    posted_by: str | None = None,
) -> LedgerTransaction:
    """Write one balanced transaction and move the account's balances with it."""
    legs = [leg for leg in legs if leg[2] != 0]
    check_balanced(legs)
    if not legs:
        raise ValidationFailed("nothing to post: every entry is zero")
    new_balances = _new_balances(account, legs) if account is not None else {}
    tx = LedgerTransaction(
        creditor_id=creditor_id,
        account_id=account.id if account is not None else None,
        kind=kind,
        payment_ref=payment_ref,
        amount=amount,
        currency=currency,
        effective_date=effective_date,
        posted_at=posted_at,
        reason=reason,
        reverses_id=reverses_id,
        posted_by=posted_by,
    )
    tx.entries = [LedgerEntry(account_id=a, book=b, amount=v) for a, b, v in legs]
    session.add(tx)
    if account is not None:
        for comp, value in new_balances.items():
            setattr(account, comp, value)
        account.updated_at = posted_at
    session.flush()
    return tx


def opening_legs(account_id: int, balances: Mapping[str, int]) -> list[Leg]:
    """Balances brought in by a placement: debit each component, credit the placement book."""
    legs: list[Leg] = [(account_id, c, balances.get(c, 0)) for c in COMPONENTS]
    legs.append((account_id, "placement", -sum(balances.get(c, 0) for c in COMPONENTS)))
    return legs


def post_opening(
    session: Session,
    account: Account,
    balances: Mapping[str, int],
    *,
    effective_date: date,
    posted_at: datetime,
) -> LedgerTransaction | None:
    for c in COMPONENTS:
        if balances.get(c, 0) < 0:
            raise ValidationFailed(f"{c} must not be negative")
    if not any(balances.get(c, 0) for c in COMPONENTS):
        return None
    return post(
        session,
        account=account,
        creditor_id=account.creditor_id,
        kind="opening",
        legs=opening_legs(account.id, balances),
        currency=account.currency,
        effective_date=effective_date,
        posted_at=posted_at,
        reason="placement",
    )


def restate(
    session: Session,
    account: Account,
    target: Mapping[str, int],
    *,
    effective_date: date,
    posted_at: datetime,
    reason: str,
) -> LedgerTransaction | None:
    """Bring component balances to `target` with one adjustment (a re-imported placement with new figures)."""
    legs: list[Leg] = []
    for c in COMPONENTS:
        delta = target.get(c, 0) - getattr(account, c)
        if delta:
            legs += [(account.id, c, delta), (account.id, "adjustment", -delta)]
    if not legs:
        return None
    return post(
        session,
        account=account,
        creditor_id=account.creditor_id,
        kind="adjustment",
        legs=legs,
        currency=account.currency,
        effective_date=effective_date,
        posted_at=posted_at,
        reason=reason,
    )


# --- accrual ---------------------------------------------------------------------------------------


def schedule_of(session: Session, account: Account) -> list[ageing.ScheduledInstalment]:
    rows = session.execute(
        select(Instalment.due_date, Instalment.principal_due).where(Instalment.account_id == account.id)
    ).all()
    return [ageing.ScheduledInstalment(d, p) for d, p in rows]


def accrue_through(session: Session, account: Account, through: date, *, posted_at: datetime) -> int:
    """Bring the penalty up to date (days after the last accrual or the placement, up to `through`)."""
    if account.status != "active":
        return 0
    after = account.accrued_through or account.placement_date
    if through <= after:
        return 0
    amount = ageing.accrue_penalty(
        after,
        through,
        principal_outstanding=account.principal,
        daily_rate=account.daily_penalty_rate,
        schedule=schedule_of(session, account),
    )
    if amount:
        post(
            session,
            account=account,
            creditor_id=account.creditor_id,
            kind="accrual",
            legs=[(account.id, "penalty", amount), (account.id, "income_penalty", -amount)],
            currency=account.currency,
            effective_date=through,
            posted_at=posted_at,
            reason=f"penalty {after + timedelta(days=1)}..{through}",
        )
    account.accrued_through = through
    return amount


# --- payments --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentPosting:
    transaction: LedgerTransaction
    allocation: Allocation
    duplicate: bool


def _find_by_ref(session: Session, creditor_id: int, payment_ref: str) -> LedgerTransaction | None:
    return session.scalar(
        select(LedgerTransaction).where(
            LedgerTransaction.creditor_id == creditor_id, LedgerTransaction.payment_ref == payment_ref
        )
    )


def _allocation_of(tx: LedgerTransaction) -> Allocation:
    parts = dict.fromkeys(COMPONENTS, 0)
    credit = 0
    for e in tx.entries:
        if e.book in COMPONENTS:
            parts[e.book] -= e.amount
        elif e.book == CREDIT:
            credit -= e.amount
    return Allocation(parts=parts, credit=credit)


def post_payment(
    session: Session,
    account: Account,
    *,
    amount: int,
    payment_ref: str,
    paid_on: date,
    posted_at: datetime,
    posted_by: str | None = None,
) -> PaymentPosting:
    """Allocate a payment by the creditor's waterfall; idempotent on `payment_ref`."""
    if not payment_ref or not payment_ref.strip():
        raise ValidationFailed("payment_ref is required")
    if amount <= 0:
        raise ValidationFailed("payment amount must be positive")
    existing = _find_by_ref(session, account.creditor_id, payment_ref)
    if existing is not None:
        if existing.account_id != account.id or existing.amount != amount or existing.kind != "payment":
            raise Conflict(f"payment_ref {payment_ref} was already used for a different payment")
        return PaymentPosting(existing, _allocation_of(existing), duplicate=True)
    if account.status == "written_off":
        raise Conflict(f"account {account.account_ref} is written off; record recoveries as an adjustment")
    accrue_through(session, account, paid_on, posted_at=posted_at)
    creditor = session.get(Creditor, account.creditor_id)
    allocation = allocate_payment(
        amount, Balances.of(account).as_dict(), creditor.waterfall if creditor else None
    )
    legs: list[Leg] = [(account.id, "cash", amount)]
    legs += [(account.id, c, -allocation.parts[c]) for c in COMPONENTS]
    legs.append((account.id, CREDIT, -allocation.credit))
    try:
        with session.begin_nested():
            tx = post(
                session,
                account=account,
                creditor_id=account.creditor_id,
                kind="payment",
                legs=legs,
                currency=account.currency,
                effective_date=paid_on,
                posted_at=posted_at,
                amount=amount,
                payment_ref=payment_ref,
                posted_by=posted_by,
            )
    except IntegrityError:  # a concurrent post of the same ref won the race
        session.refresh(account)
        again = _find_by_ref(session, account.creditor_id, payment_ref)
        if again is None:
            raise
        return PaymentPosting(again, _allocation_of(again), duplicate=True)
    settle_status(session, account, on=paid_on, at=posted_at)
    return PaymentPosting(tx, allocation, duplicate=False)


def settle_status(session: Session, account: Account, *, on: date, at: datetime) -> None:
    """A cleared account is `paid`, DPD 0, bucket C and its case closes; a reopened one is active again."""
    owed = Balances.of(account).owed
    if account.status == "active" and owed == 0:
        account.status = "paid"
        account.days_past_due = 0
        _move_bucket(session, account, "C", on)
        for case in session.scalars(select(Case).where(Case.account_id == account.id, Case.status == "open")):
            case.status, case.closed_at, case.close_reason = "closed", at, "paid"
    elif account.status == "paid" and owed > 0:
        account.status = "active"
        if (
            session.scalar(select(Case.id).where(Case.account_id == account.id, Case.status == "open"))
            is None
        ):
            session.add(Case(account_id=account.id, status="open", opened_at=at))


def _move_bucket(session: Session, account: Account, bucket: str, on: date) -> None:
    if account.bucket == bucket:
        return
    for spell in session.scalars(
        select(BucketHistory).where(BucketHistory.account_id == account.id, BucketHistory.left_on.is_(None))
    ):
        spell.left_on = on
    session.add(BucketHistory(account_id=account.id, bucket=bucket, entered_on=on))
    account.bucket = bucket


def reverse(
    session: Session, transaction_id: int, *, reason: str, posted_at: datetime, posted_by: str | None = None
) -> LedgerTransaction:
    """Reverse a payment (or adjustment, waiver, write-off, refund): every entry negated, exactly."""
    if not reason or not reason.strip():
        raise ValidationFailed("a reversal needs a reason")
    original = session.get(LedgerTransaction, transaction_id)
    if original is None:
        raise NotFound(f"no ledger transaction {transaction_id}")
    if original.kind not in REVERSIBLE:
        raise Conflict(f"a {original.kind} transaction cannot be reversed")
    if session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.reverses_id == original.id)):
        raise Conflict(f"transaction {transaction_id} is already reversed")
    account = session.get(Account, original.account_id) if original.account_id else None
    legs: list[Leg] = [(e.account_id, e.book, -e.amount) for e in original.entries]
    if account is not None and original.kind == "write_off":
        account.status = "active"
    tx = post(
        session,
        account=account,
        creditor_id=original.creditor_id,
        kind="reversal",
        legs=legs,
        currency=original.currency,
        effective_date=posted_at.date(),
        posted_at=posted_at,
        amount=original.amount,
        reason=reason,
        reverses_id=original.id,
        posted_by=posted_by,
    )
    if account is not None:
        settle_status(session, account, on=posted_at.date(), at=posted_at)
    return tx


def _post_today(
    session: Session,
    account: Account,
    kind: str,
    legs: Sequence[Leg],
    *,
    amount: int,
    reason: str,
    posted_at: datetime,
    posted_by: str | None,
) -> LedgerTransaction:
    """A staff action on one account, effective on the day it is posted."""
    return post(
        session,
        account=account,
        creditor_id=account.creditor_id,
        kind=kind,
        legs=legs,
        currency=account.currency,
        effective_date=posted_at.date(),
        posted_at=posted_at,
        amount=amount,
        reason=reason,
        posted_by=posted_by,
    )


def adjust(
    session: Session,
    account: Account,
    component: str,
    amount: int,
    *,
    reason: str,
    posted_at: datetime,
    posted_by: str | None = None,
) -> LedgerTransaction:
    """Correct a component up or down with a reason (e.g. a fee charged in error)."""
    if component not in COMPONENTS:
        raise ValidationFailed(f"unknown component {component!r}")
    if not reason or not reason.strip():
        raise ValidationFailed("an adjustment needs a reason")
    tx = _post_today(
        session,
        account,
        "adjustment",
        [(account.id, component, amount), (account.id, "adjustment", -amount)],
        amount=amount,
        reason=reason,
        posted_at=posted_at,
        posted_by=posted_by,
    )
    settle_status(session, account, on=posted_at.date(), at=posted_at)
    return tx


def waive(
    session: Session,
    account: Account,
    parts: Mapping[str, int],
    *,
    reason: str,
    posted_at: datetime,
    posted_by: str | None = None,
) -> LedgerTransaction:
    """Relief (R13): waive penalty, interest, fees or principal, never more than is owed."""
    if not reason or not reason.strip():
        raise ValidationFailed("a waiver needs a reason")
    legs: list[Leg] = []
    for c, v in parts.items():
        if c not in COMPONENTS:
            raise ValidationFailed(f"unknown component {c!r}")
        if v < 0 or v > getattr(account, c):
            raise ValidationFailed(f"cannot waive {v} of {c}: {getattr(account, c)} is owed")
        legs += [(account.id, c, -v), (account.id, "waiver", v)]
    tx = _post_today(
        session,
        account,
        "waiver",
        legs,
        amount=sum(parts.values()),
        reason=reason,
        posted_at=posted_at,
        posted_by=posted_by,
    )
    settle_status(session, account, on=posted_at.date(), at=posted_at)
    return tx


def write_off(
    session: Session, account: Account, *, reason: str, posted_at: datetime, posted_by: str | None = None
) -> LedgerTransaction:
    """Bad debt (坏账): everything still owed moves to the write-off book; the case closes."""
    if not reason or not reason.strip():
        raise ValidationFailed("a write-off needs a reason")
    if account.status == "written_off":
        raise Conflict(f"account {account.account_ref} is already written off")
    legs: list[Leg] = []
    for c in COMPONENTS:
        v = getattr(account, c)
        legs += [(account.id, c, -v), (account.id, "write_off", v)]
    tx = _post_today(
        session,
        account,
        "write_off",
        legs,
        amount=Balances.of(account).owed,
        reason=reason,
        posted_at=posted_at,
        posted_by=posted_by,
    )
    account.status = "written_off"
    for case in session.scalars(select(Case).where(Case.account_id == account.id, Case.status == "open")):
        case.status, case.closed_at, case.close_reason = "closed", posted_at, "written_off"
    return tx


def refund(
    session: Session,
    account: Account,
    amount: int,
    *,
    reason: str,
    posted_at: datetime,
    posted_by: str | None = None,
) -> LedgerTransaction:
    """Pay a credit balance back to the debtor."""
    if amount <= 0 or amount > account.credit:
        raise ValidationFailed(f"refund must be between 0 and the credit balance {account.credit}")
    return _post_today(
        session,
        account,
        "refund",
        [(account.id, CREDIT, amount), (account.id, "cash", -amount)],
        amount=amount,
        reason=reason,
        posted_at=posted_at,
        posted_by=posted_by,
    )


def replay_balances(session: Session, account_id: int) -> Balances:
    """Recompute an account's balances from its entries alone (the ledger is the truth)."""
    sums = dict.fromkeys((*COMPONENTS, CREDIT), 0)
    for book, amount in session.execute(
        select(LedgerEntry.book, LedgerEntry.amount).where(LedgerEntry.account_id == account_id)
    ):
        if book in COMPONENTS:
            sums[book] += amount
        elif book == CREDIT:
            sums[CREDIT] -= amount
    return Balances(**sums)
