"""The clock is injected, never read ad hoc: tests and batches pin it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    if at.tzinfo is None:
        raise ValueError("a clock must be timezone-aware")
    return lambda: at


def ensure_aware(at: datetime) -> datetime:
    """UTC-aware timestamp; naive values are rejected rather than guessed."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()} — a timezone is required")
    return at.astimezone(UTC)


def today_utc(clock: Clock = utc_now) -> date:
    return clock().date()
