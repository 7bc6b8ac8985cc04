"""Legal route tables: escalations of a case to the legal department or a law firm, the stages they
pass through and the costs they incur (R15, R19)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arrears.core.db import Base, BigId, UTCDateTime

# requested → approved → handed_over → closed; requested → rejected.
ESCALATION_STATUSES = ("requested", "approved", "rejected", "handed_over", "closed")
OPEN_ESCALATION = ("requested", "approved", "handed_over")
HANDLERS = ("legal_department", "law_firm")


class Escalation(Base):
    """A request to take a case the legal route, its approval and the hand-over with its case file."""

    __tablename__ = "legal_escalations"
    __table_args__ = (Index("ix_legal_escalations_case_status", "case_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    grounds: Mapped[list[str]] = mapped_column(JSON)  # deliberate_evasion, malicious_refusal, …
    reason: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    owed_at_request: Mapped[int] = mapped_column(BigInteger)
    requested_by: Mapped[int | None] = mapped_column(BigInteger)
    requested_by_name: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_by_name: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    handler_kind: Mapped[str | None] = mapped_column(String(20))
    handler_name: Mapped[str | None] = mapped_column(String(200))
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_over_by_name: Mapped[str | None] = mapped_column(String(80))
    casefile_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    stage: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LegalStageEvent(Base):
    """One step of the legal stage (pre-litigation … enforcement, closed), with court references."""

    __tablename__ = "legal_stage_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("legal_escalations.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    on_date: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))  # court case number, enforcement number
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))
    recovered: Mapped[int | None] = mapped_column(BigInteger)  # minor units awarded or recovered, if known
    recorded_by_name: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, str] | None] = mapped_column(JSON)


class LegalCost(Base):
    """A cost of the legal route (court fee, lawyer's fee, enforcement fee …), integer minor units."""

    __tablename__ = "legal_costs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("legal_escalations.id"), index=True)
    stage: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    incurred_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_name: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
