"""Validated input and output of the plans API. Amounts travel as decimal strings in major units
("1234.50"); they are integer minor units inside."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from arrears.core.errors import ValidationFailed
from arrears.core.money import MoneyError, format_major, to_minor
from arrears.documents.models import Document
from arrears.plans import schedule
from arrears.plans.models import Plan

MAX_ID = 2**62
Amount = Annotated[str, Field(pattern=r"^\d{1,15}(\.\d{1,4})?$", examples=["1200.00"])]


def minor(value: str, currency: str, field_name: str) -> int:
    """A decimal string in major units → minor units, or a 422 naming the field."""
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        raise ValidationFailed(
            f"{field_name}: {exc}", details=[{"field": field_name, "reason": str(exc)}]
        ) from None


def major(value: int, currency: str) -> str:
    try:
        return format_major(value, currency)
    except MoneyError:
        return str(value)


# --- plans ------------------------------------------------------------------------------------------


class PlanIn(BaseModel):
    kind: Literal["instalment", "deferral", "settlement", "relief"]
    reason: str = Field(min_length=1, max_length=2000)
    total: Amount | None = Field(
        None, description="settlement: the discounted total; instalment: the amount owed"
    )
    count: int = Field(1, ge=1, le=schedule.MAX_INSTALMENTS)
    frequency: Literal["weekly", "biweekly", "monthly"] = "monthly"
    first_due: date | None = None
    deferred_to: date | None = None
    waive: dict[Literal["penalty", "interest"], Amount] | None = None
    grace_days: int = Field(5, ge=0, le=60)
    affordability_id: int | None = Field(None, ge=1, le=MAX_ID)
    language: Literal["zh", "en"] | None = None


class DecisionIn(BaseModel):
    note: str | None = Field(None, max_length=2000)
    language: Literal["zh", "en"] | None = None


class RejectIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class LetterIn(BaseModel):
    language: Literal["zh", "en"] = "zh"


class InstalmentOut(BaseModel):
    seq: int
    due_date: date
    amount: str
    paid: str | None = None
    state: str | None = None


class ProgressOut(BaseModel):
    status: str
    paid: str
    remaining: str
    due_to_date: str
    shortfall: str
    next_due: date | None
    next_amount: str


class ConcessionOut(BaseModel):
    discount_pct: str
    instalments: int
    waiver: str
    deferral_days: int


class ExceededOut(BaseModel):
    limit: str
    requested: str
    allowed: str
    zh: str
    en: str


class PlanOut(BaseModel):
    id: int
    case_id: int
    kind: str
    status: str
    currency: str
    owed_at_start: str
    total: str
    discount: str
    count: int
    frequency: str | None
    first_due: date | None
    grace_days: int
    waive: dict[str, str] | None
    reason: str
    concession: ConcessionOut
    exceeded: list[ExceededOut]
    approver_role: str | None
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    activated_at: datetime | None
    closed_at: datetime | None
    broken_on: date | None
    waiver_tx_id: int | None
    schedule: list[InstalmentOut]
    progress: ProgressOut | None
    letter_document_id: int | None = None
    notes: list[str] = Field(default_factory=list)


def _pct(bps: int) -> str:
    return f"{Decimal(bps) / 100:.2f}"


def _limit_value(limit: str, value: int, currency: str) -> str:
    if limit == "max_discount_bps":
        return _pct(value) + "%"
    if limit == "max_waiver_minor":
        return major(value, currency)
    return str(value)


def plan_out(
    plan: Plan,
    prog: schedule.Progress | None,
    *,
    letter: Document | None = None,
    notes: list[str] | None = None,
) -> PlanOut:
    cur = plan.currency
    c = plan.concession
    rows = {r.seq: r for r in prog.instalments} if prog else {}
    return PlanOut(
        id=plan.id,
        case_id=plan.case_id,
        kind=plan.kind,
        status=plan.status,
        currency=cur,
        owed_at_start=major(plan.owed_at_start, cur),
        total=major(plan.total, cur),
        discount=major(max(plan.owed_at_start - plan.total, 0) if plan.kind == "settlement" else 0, cur),
        count=plan.instalment_count,
        frequency=plan.frequency,
        first_due=plan.first_due,
        grace_days=plan.grace_days,
        waive={k: major(v, cur) for k, v in plan.waive.items()} if plan.waive else None,
        reason=plan.reason,
        concession=ConcessionOut(
            discount_pct=_pct(c["discount_bps"]),
            instalments=c["instalments"],
            waiver=major(c["waiver"], cur),
            deferral_days=c["deferral_days"],
        ),
        exceeded=[
            ExceededOut(
                limit=e["limit"],
                requested=_limit_value(e["limit"], e["requested"], cur),
                allowed=_limit_value(e["limit"], e["allowed"], cur),
                zh=e["zh"],
                en=e["en"],
            )
            for e in plan.exceeded or []
        ],
        approver_role=plan.approver_role,
        created_by=plan.created_by_name,
        created_at=plan.created_at,
        decided_by=plan.decided_by_name,
        decided_at=plan.decided_at,
        decision_note=plan.decision_note,
        activated_at=plan.activated_at,
        closed_at=plan.closed_at,
        broken_on=plan.broken_on,
        waiver_tx_id=plan.waiver_tx_id,
        schedule=[
            InstalmentOut(
                seq=i.seq,
                due_date=i.due_date,
                amount=major(i.amount, cur),
                paid=major(rows[i.seq].paid, cur) if i.seq in rows else None,
                state=rows[i.seq].state if i.seq in rows else None,
            )
            for i in plan.instalments
        ],
        progress=ProgressOut(
            status=prog.status,
            paid=major(prog.paid, cur),
            remaining=major(prog.remaining, cur),
            due_to_date=major(prog.due_to_date, cur),
            shortfall=major(prog.shortfall, cur),
            next_due=prog.next_due,
            next_amount=major(prog.next_amount, cur),
        )
        if prog
        else None,
        letter_document_id=letter.id if letter else None,
        notes=notes or [],
    )


# --- affordability ----------------------------------------------------------------------------------


class AffordabilityIn(BaseModel):
    """A debtor's monthly means (R3, R16), decimal strings in the account's currency."""

    monthly_income: Amount
    monthly_expenses: Amount
    other_debt_payments: Amount = "0"
    dependants: int = Field(0, ge=0, le=30)
    notes: str | None = Field(None, max_length=2000)


class ProposalOut(BaseModel):
    kind: str
    total: str
    count: int
    frequency: str
    first_due: date
    discount: str
    instalment_amount: str
    schedule: list[InstalmentOut]
    reasons: list[dict[str, str]]
    within_authority: bool
    approver_role: str | None


class AffordabilityOut(BaseModel):
    id: int
    case_id: int
    currency: str
    owed: str
    disposable: str
    capacity: str
    ability: str
    months_to_clear: int | None
    formula: str
    proposal: ProposalOut | None


FORMULA = (
    "disposable = income − expenses − other debt payments − dependants × allowance; "
    "capacity = max(0, disposable × capacity share, rounded half-even)"
)


# --- statements -------------------------------------------------------------------------------------


class ComponentsOut(BaseModel):
    principal: str
    interest: str
    penalty: str
    fees: str


class StatementPlanOut(BaseModel):
    id: int
    kind: str
    status: str
    total: str
    paid: str
    remaining: str
    shortfall: str


class StatementOut(BaseModel):
    account_ref: str
    currency: str
    status: str
    as_of: date
    remaining: ComponentsOut
    remaining_total: str
    credit: str
    paid: ComponentsOut
    paid_to_credit: str
    total_paid: str
    waived: ComponentsOut
    payments: int
    last_payment_on: date | None
    next_due: date | None
    next_amount: str
    next_source: str | None
    plan: StatementPlanOut | None


def components(values: dict[str, int] | Any, currency: str) -> ComponentsOut:
    get = values.get if isinstance(values, dict) else lambda k, d=0: getattr(values, k, d)
    return ComponentsOut(
        **{k: major(int(get(k, 0)), currency) for k in ("principal", "interest", "penalty", "fees")}
    )
