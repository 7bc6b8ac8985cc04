"""Nightly batch bookkeeping: one row per run and date, so reruns are idempotent and visible."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arrears.core.db import Base, BigId, UTCDateTime


class BatchRun(Base):
    __tablename__ = "batch_runs"
    __table_args__ = (Index("ix_batch_runs_as_of", "as_of"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    engine: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class StrategyActivation(Base):
    """A strategy version made live after its cadence proof passed (R8: changes are recorded)."""

    __tablename__ = "strategy_activations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    packs: Mapped[str] = mapped_column(String(40))  # packs it was verified against, e.g. "cn,us"
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_by: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TreatmentSpell(Base):
    """An account's time in a segment, arm and path — entered on a date, left on a later one."""

    __tablename__ = "treatment_spells"
    __table_args__ = (Index("ix_treatment_spells_account_open", "account_id", "left_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    strategy: Mapped[str] = mapped_column(String(120))
    segment: Mapped[str] = mapped_column(String(80))
    arm: Mapped[str] = mapped_column(String(80))
    path: Mapped[str] = mapped_column(String(80))
    entered_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class PlannedContact(Base):
    """Today's planned action for an account, with the segment, arm, path and step that produced it
    and the compliance guard's pre-check."""

    __tablename__ = "planned_contacts"
    __table_args__ = (Index("ix_planned_contacts_as_of_account", "as_of", "account_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id"))
    as_of: Mapped[date] = mapped_column(Date)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    strategy: Mapped[str] = mapped_column(String(120))
    segment: Mapped[str] = mapped_column(String(80))
    arm: Mapped[str] = mapped_column(String(80))
    path: Mapped[str] = mapped_column(String(80))
    step_no: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # contact | agency | legal
    channel: Mapped[str | None] = mapped_column(String(16))
    template: Mapped[str | None] = mapped_column(String(80))
    tone: Mapped[str | None] = mapped_column(String(24))
    window_start: Mapped[str | None] = mapped_column(String(5))
    window_end: Mapped[str | None] = mapped_column(String(5))
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    rules: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
