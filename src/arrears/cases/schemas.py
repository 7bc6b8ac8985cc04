"""Validated input and output of case work (API bodies and answers). Money is a decimal string in major
units (`"1234.50"`), times are ISO 8601 with an offset, dates are `YYYY-MM-DD`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from arrears.cases.outcomes import OUTCOMES, RECORDABLE_EVENTS
from arrears.compliance.rules import CHANNELS, PARTIES

MAX_ID = 2**62
Channel = Literal["call", "sms", "email", "letter", "visit", "voicemail"]
Party = Literal["debtor", "guarantor", "third_party", "employer", "attorney"]
Amount = Field(pattern=r"^\d{1,15}(\.\d{1,4})?$", description="decimal amount in major units, e.g. 1234.50")

assert set(Channel.__args__) == set(CHANNELS) and set(Party.__args__) == set(PARTIES)  # type: ignore[attr-defined]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("a time zone offset is required (e.g. 2026-11-28T10:00:00+08:00)")
    return value


class EventIn(BaseModel):
    kind: str = Field(description=f"one of {', '.join(RECORDABLE_EVENTS)}")
    scope: str | None = Field(
        default=None,
        max_length=120,
        description="consent: call, recontact or time_of_day[:HH:MM-HH:MM]; opt_out: a channel, or "
        "`contact_point` for the contact's own number or address; else empty",
    )
    note: str | None = Field(default=None, max_length=400)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in RECORDABLE_EVENTS:
            raise ValueError(f"{v!r} is not one of {', '.join(RECORDABLE_EVENTS)}")
        return v


class ContactIn(BaseModel):
    """A contact to log. Outbound contacts ask the compliance guard first; blocked ones answer 409."""

    channel: Channel
    outcome: str = Field(description=f"one of {', '.join(OUTCOMES)}")
    direction: Literal["outbound", "inbound"] = "outbound"
    party: Party | None = Field(
        default=None, description="who was contacted; read from the contact point if empty"
    )
    contact_point_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    at: datetime | None = Field(default=None, description="when; now if empty")
    notes: str | None = Field(default=None, max_length=4000)
    message: str | None = Field(
        default=None, max_length=4000, description="text sent (SMS, e-mail, letter); screened"
    )
    next_action: Literal["callback", "visit", "letter", "none"] | None = None
    callback_at: datetime | None = Field(default=None, description="when to call back (next action)")
    events: list[EventIn] = Field(default_factory=list, max_length=10)
    abuse: Literal["abuse", "threat"] | None = Field(
        default=None, description="the debtor abused or threatened staff (R18): flagged to the team lead"
    )
    staff_ids: list[int] = Field(default_factory=list, max_length=10, description="field visit staff (CN-V1)")
    ids_shown: bool | None = Field(default=None, description="field visit: staff showed identification")

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, v: str) -> str:
        if v not in OUTCOMES:
            raise ValueError(f"{v!r} is not one of {', '.join(OUTCOMES)}")
        return v

    @field_validator("at", "callback_at")
    @classmethod
    def _tz(cls, v: datetime | None) -> datetime | None:
        return _aware(v)

    @field_validator("staff_ids")
    @classmethod
    def _staff(cls, v: list[int]) -> list[int]:
        if any(i < 1 or i > MAX_ID for i in v):
            raise ValueError("staff ids are positive user ids")
        return v


class ReasonOut(BaseModel):
    rule: str
    zh: str
    en: str


class GuardOut(BaseModel):
    decision_id: int | None
    allowed: bool
    rules: list[str]
    reasons: list[ReasonOut]
    warnings: list[ReasonOut]


class ContactOut(BaseModel):
    id: int
    case_id: int
    at: datetime
    direction: str
    channel: str
    party: str
    outcome: str
    contact_point_id: int | None
    callback_at: datetime | None
    events: list[str]
    flag_id: int | None
    guard: GuardOut | None


class PromiseIn(BaseModel):
    amount: str = Amount
    due_date: date
    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="the contact it was made in")
    note: str | None = Field(default=None, max_length=400)


class PromiseOut(BaseModel):
    id: int
    case_id: int
    amount: str
    currency: str
    promised_on: date
    due_date: date
    grace_days: int
    status: str
    paid: str
    resolved_on: date | None


class PaymentIn(BaseModel):
    amount: str = Amount
    paid_on: date | None = Field(default=None, description="the day the money was received; today if empty")


class AllocationOut(BaseModel):
    principal: str
    interest: str
    penalty: str
    fees: str
    credit: str


class PaymentOut(BaseModel):
    transaction_id: int
    account_ref: str
    payment_ref: str
    amount: str
    currency: str
    paid_on: date
    posted_at: datetime
    allocation: AllocationOut
    statement_id: int | None = Field(
        default=None,
        description="the statement stored after this payment (R14); none when the creditor has no letterhead",
    )


class AssignIn(BaseModel):
    user_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="the collector to take the case; by the rules if empty"
    )
    reason: Literal["manual", "leave", "resignation", "rebalance"] = "manual"
    note: str | None = Field(default=None, max_length=400)
    override_cap: bool = Field(default=False, description="a manager may go above the workload cap")


class AssignOut(BaseModel):
    case_id: int
    assigned_to: int | None
    previous: int | None
    reason: str
    changed: bool
    spell_id: int | None


class NextContact(BaseModel):
    channel: str | None
    contact_point_id: int | None


class QueueItem(BaseModel):
    position: int
    case_id: int
    account_ref: str
    debtor_name: str
    bucket: str
    days_past_due: int
    currency: str
    balance: str
    priority: str
    tier: str
    why: str
    callback_at: datetime | None
    promise_due: date | None
    ability: str
    willingness: str
    flags: list[str]
    next_contact: NextContact
    warnings: list[ReasonOut]


class BlockedItem(BaseModel):
    case_id: int
    account_ref: str
    debtor_name: str
    rules: list[str]
    reasons: list[ReasonOut]


class QueueOut(BaseModel):
    as_of: date
    now: datetime
    items: list[QueueItem]
    blocked: list[BlockedItem]
    total: int


class ContactPointView(BaseModel):
    id: int
    kind: str
    label: str | None
    value: str
    status: str
    timezone: str | None
    party: str
    third_party_id: int | None
    relation: str | None


class DebtorView(BaseModel):
    id: int
    debtor_ref: str
    name: str
    national_id: str | None
    employer: str | None
    monthly_income: str | None
    language: str
    region: str | None
    timezone: str
    contact_points: list[ContactPointView]
    other_accounts: list[str]


class InstalmentView(BaseModel):
    seq: int
    due_date: date
    principal_due: str
    interest_due: str


class AccountView(BaseModel):
    ref: str
    creditor: str
    product: str
    currency: str
    status: str
    loan_amount: str | None
    contract_date: date | None
    term_months: int | None
    annual_rate: str | None
    daily_penalty_rate: str
    placement_date: date
    overdue_since: date | None
    days_past_due: int
    bucket: str
    agency_code: str | None
    instalments: list[InstalmentView]


class BalancesView(BaseModel):
    principal: str
    interest: str
    penalty: str
    fees: str
    credit: str
    total: str


class HistoryEntry(BaseModel):
    at: datetime
    kind: str  # contact | event | guard_block | promise | payment | assignment | flag | acknowledgement
    summary: str
    by: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class AssessmentView(BaseModel):
    ability: str
    willingness: str
    flags: list[str]
    reasons: list[dict[str, str]]
    computed_at: str | None


class CaseDetail(BaseModel):
    # the fields of the plain case answer, kept for existing clients
    id: int
    account_ref: str
    debtor_id: int
    status: str
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    assigned_to: int | None
    priority: str
    # the collector's view (R11)
    assigned_name: str | None
    score: str | None
    assessment: AssessmentView
    debtor: DebtorView
    account: AccountView
    balances: BalancesView
    promises: list[PromiseOut]
    open_flags: int
    history: list[HistoryEntry]
