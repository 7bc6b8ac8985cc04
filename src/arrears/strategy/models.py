"""Nightly batch bookkeeping: one row per run and date, so reruns are idempotent and visible."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, String
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
