"""Plan tables: repayment plans and concessions with their schedules, authority limits per creditor,
and affordability assessments (R13, R16)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arrears.core.db import Base, BigId, UTCDateTime

PLAN_KINDS = ("instalment", "deferral", "settlement", "relief")
# pending_approval → active → completed | broken; pending_approval → rejected. Relief completes on grant.
PLAN_STATUSES = ("pending_approval", "active", "completed", "broken", "rejected")
OPEN_STATUSES = ("pending_approval", "active")


class Plan(Base):
    """A repayment arrangement or concession on a case (R13), made by one user and — above the maker's
    authority — approved by another (maker-checker)."""

    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_case_status", "case_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    owed_at_start: Mapped[int] = mapped_column(BigInteger)  # what was owed when the plan was made
    total: Mapped[int] = mapped_column(BigInteger)  # what the debtor pays under the plan (0 for relief)
    instalment_count: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[str | None] = mapped_column(String(16))
    first_due: Mapped[date | None] = mapped_column(Date)
    grace_days: Mapped[int] = mapped_column(Integer, default=5)
    start_date: Mapped[date] = mapped_column(Date)  # payments from this date count toward the plan
    waive: Mapped[dict[str, int] | None] = mapped_column(JSON)  # relief: component → amount
    reason: Mapped[str] = mapped_column(Text)
    # Authority (R13): the concession measured, the limits it went beyond, who may approve it.
    concession: Mapped[dict[str, Any]] = mapped_column(JSON)
    exceeded: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    approver_role: Mapped[str | None] = mapped_column(String(32))
    affordability_id: Mapped[int | None] = mapped_column(ForeignKey("affordability_assessments.id"))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_by_name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_by_name: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    broken_on: Mapped[date | None] = mapped_column(Date)
    # The ledger waiver that granted relief or cleared a paid settlement's remainder.
    waiver_tx_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))

    instalments: Mapped[list[PlanInstalment]] = relationship(
        order_by="PlanInstalment.seq", cascade="all, delete-orphan"
    )


class PlanInstalment(Base):
    __tablename__ = "plan_instalments"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)


class AuthorityLimit(Base):
    """A creditor's concession limits for one role (R13); creditors without rows use the shipped file."""

    __tablename__ = "authority_limits"
    __table_args__ = (UniqueConstraint("creditor_id", "role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"))
    role: Mapped[str] = mapped_column(String(32))
    max_discount_bps: Mapped[int] = mapped_column(Integer)
    max_instalments: Mapped[int] = mapped_column(Integer)
    max_waiver_minor: Mapped[int] = mapped_column(BigInteger)
    max_deferral_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(80))


class AffordabilityAssessment(Base):
    """A debtor's means as assessed on a case, the capacity they give and the plan proposed (R16)."""

    __tablename__ = "affordability_assessments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    income: Mapped[int] = mapped_column(BigInteger)
    expenses: Mapped[int] = mapped_column(BigInteger)
    other_debt_payments: Mapped[int] = mapped_column(BigInteger)
    dependants: Mapped[int] = mapped_column(Integer)
    disposable: Mapped[int] = mapped_column(BigInteger)
    capacity: Mapped[int] = mapped_column(BigInteger)
    ability: Mapped[str] = mapped_column(String(8))
    owed: Mapped[int] = mapped_column(BigInteger)
    proposal: Mapped[dict[str, Any]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    assessed_by: Mapped[str] = mapped_column(String(80))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
