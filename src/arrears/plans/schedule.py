"""Instalment schedules and their evaluation against payments — pure functions on plain values (R13).

Money is integer minor units. A schedule splits a total into `count` equal instalments and puts the
remainder on the last one, so the instalments always sum to the total exactly.

Evaluation (R13, R14): payments fill instalments in order (cumulatively). An instalment is missed
when, `grace_days` after its due date, the payments made by then do not cover every instalment up to
and including it; a plan with a missed instalment is broken. A plan whose payments reach its total is
completed — that is checked first, so a late plan that is then paid in full is completed, not broken.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

FREQUENCIES: tuple[str, ...] = ("weekly", "biweekly", "monthly")
MAX_INSTALMENTS = 360


class ScheduleError(ValueError):
    """A schedule that cannot be generated (bad total, count, frequency)."""


@dataclass(frozen=True, slots=True)
class ScheduledPayment:
    seq: int
    due_date: date
    amount: int


@dataclass(frozen=True, slots=True)
class Payment:
    paid_on: date
    amount: int


def add_months(anchor: date, months: int) -> date:
    """The same day of month `months` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def due_dates(first_due: date, count: int, frequency: str) -> list[date]:
    """Due dates from the first one; monthly dates keep the first date's day of month (clamped)."""
    if frequency == "weekly":
        return [first_due + timedelta(days=7 * i) for i in range(count)]
    if frequency == "biweekly":
        return [first_due + timedelta(days=14 * i) for i in range(count)]
    if frequency == "monthly":
        return [add_months(first_due, i) for i in range(count)]
    raise ScheduleError(f"frequency {frequency!r}: must be one of {', '.join(FREQUENCIES)}")


def split_total(total: int, count: int) -> list[int]:
    """Equal instalments of `total // count`; the remainder goes on the last one (R13, exact money)."""
    if not isinstance(total, int) or isinstance(total, bool):
        raise ScheduleError("total must be integer minor units")
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ScheduleError(f"count {count}: must be between 1 and {MAX_INSTALMENTS}")
    if total < count:
        raise ScheduleError(f"total {total} is too small for {count} instalments of at least 1 minor unit")
    base = total // count
    return [base] * (count - 1) + [total - base * (count - 1)]


def generate_schedule(total: int, count: int, frequency: str, first_due: date) -> list[ScheduledPayment]:
    """The instalment schedule of a plan: `count` instalments summing exactly to `total`."""
    amounts = split_total(total, count)
    dates = due_dates(first_due, count, frequency)
    return [ScheduledPayment(i + 1, d, a) for i, (d, a) in enumerate(zip(dates, amounts, strict=True))]


# --- evaluation --------------------------------------------------------------------------------------

STATUSES = ("on_track", "behind", "completed", "broken")


@dataclass(frozen=True, slots=True)
class InstalmentProgress:
    seq: int
    due_date: date
    amount: int
    paid: int
    state: str  # paid | partly_paid | open | overdue (past due, within grace) | missed


@dataclass(frozen=True)
class Progress:
    status: str  # on_track | behind | completed | broken
    total: int
    paid: int
    remaining: int
    due_to_date: int  # instalments due on or before as_of, summed
    shortfall: int  # what is past its due date and not paid
    next_due: date | None
    next_amount: int  # the unpaid part of the next instalment
    broken_on: date | None  # the first day after the grace of the first missed instalment
    instalments: list[InstalmentProgress] = field(default_factory=list)


def evaluate(
    schedule: Sequence[ScheduledPayment],
    payments: Sequence[Payment],
    as_of: date,
    grace_days: int,
) -> Progress:
    """Where a plan stands on `as_of`: payments after `as_of` are not counted."""
    if grace_days < 0:
        raise ScheduleError("grace_days must not be negative")
    counted = sorted((p for p in payments if p.paid_on <= as_of), key=lambda p: p.paid_on)
    total = sum(s.amount for s in schedule)
    paid = sum(p.amount for p in counted)

    def paid_by(day: date) -> int:
        return sum(p.amount for p in counted if p.paid_on <= day)

    cumulative = 0
    broken_on: date | None = None
    due_to_date = 0
    past_due = 0
    rows: list[InstalmentProgress] = []
    next_due: date | None = None
    next_amount = 0
    for s in sorted(schedule, key=lambda s: s.seq):
        before = cumulative
        cumulative += s.amount
        covered = min(max(paid - before, 0), s.amount)
        deadline = s.due_date + timedelta(days=grace_days)
        if s.due_date <= as_of:
            due_to_date += s.amount
        if s.due_date < as_of:
            past_due += s.amount
        missed = deadline < as_of and paid_by(deadline) < cumulative
        if missed and broken_on is None:
            broken_on = deadline + timedelta(days=1)
        if covered == s.amount:
            state = "paid"
        elif missed:
            state = "missed"
        elif s.due_date < as_of:
            state = "overdue"
        else:
            state = "partly_paid" if covered else "open"
        if covered < s.amount and next_due is None:
            next_due, next_amount = s.due_date, s.amount - covered
        rows.append(InstalmentProgress(s.seq, s.due_date, s.amount, covered, state))
    shortfall = max(past_due - paid, 0)
    if paid >= total:
        status = "completed"
    elif broken_on is not None:
        status = "broken"
    elif shortfall > 0:
        status = "behind"
    else:
        status = "on_track"
    return Progress(
        status=status,
        total=total,
        paid=paid,
        remaining=max(total - paid, 0),
        due_to_date=due_to_date,
        shortfall=shortfall,
        next_due=next_due,
        next_amount=next_amount,
        broken_on=broken_on if status == "broken" else None,
        instalments=rows,
    )
