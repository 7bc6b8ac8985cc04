"""Ageing rules — days past due, buckets, daily penalty accrual. Pure functions on plain values (R4).

Conventions (the foundation issue's contract):
- `overdue_since` is the due date that was missed: DPD is 0 on it and 1 the next day.
- With an instalment schedule, DPD runs from the oldest unpaid instalment's due date. Principal is
  repaid oldest-instalment first, so the unpaid instalments are the latest ones: instalment k is
  paid when the outstanding principal is covered by the instalments after it.
- Penalty accrues for each day after the placement date (or after the last accrual) up to and
  including the as-of date, on the principal overdue that day (without a schedule: all of it),
  rounded half-even to the minor unit each day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arrears.core.money import round_half_even


@dataclass(frozen=True)
class Bucket:
    label: str
    min_dpd: int
    max_dpd: int | None  # inclusive; None = open-ended


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("C", 0, 0),
    Bucket("M1", 1, 30),
    Bucket("M2", 31, 60),
    Bucket("M3", 61, 90),
    Bucket("M4", 91, 120),
    Bucket("M5", 121, 150),
    Bucket("M6", 151, 180),
    Bucket("M7+", 181, None),
)


class BucketConfigError(ValueError):
    pass


def validate_buckets(buckets: Sequence[Bucket]) -> tuple[Bucket, ...]:
    """Buckets must start at 0, be contiguous, and end open-ended: every DPD falls in exactly one."""
    if not buckets:
        raise BucketConfigError("at least one bucket is required")
    expected = 0
    for i, b in enumerate(buckets):
        if b.min_dpd != expected:
            raise BucketConfigError(f"bucket {b.label} starts at {b.min_dpd}, expected {expected}")
        last = i == len(buckets) - 1
        if b.max_dpd is None:
            if not last:
                raise BucketConfigError(f"only the last bucket may be open-ended, not {b.label}")
        else:
            if b.max_dpd < b.min_dpd:
                raise BucketConfigError(f"bucket {b.label} ends before it starts")
            if last:
                raise BucketConfigError(f"the last bucket ({b.label}) must be open-ended")
            expected = b.max_dpd + 1
    return tuple(buckets)


def parse_buckets(spec: str) -> tuple[Bucket, ...]:
    """`C:0,M1:1-30,M2:31-60,M3+:61-` → buckets (the configurable form used by settings and the CLI)."""
    out = []
    for part in spec.split(","):
        label, _, rng = part.strip().partition(":")
        lo, dash, hi = rng.partition("-")
        try:
            low = int(lo)
            high = None if dash and not hi else int(hi) if dash else low
        except ValueError as exc:
            raise BucketConfigError(f"cannot read bucket {part!r}") from exc
        out.append(Bucket(label.strip(), low, high))
    return validate_buckets(out)


def bucket_for(dpd: int, buckets: Sequence[Bucket] = DEFAULT_BUCKETS) -> str:
    for b in buckets:
        if dpd >= b.min_dpd and (b.max_dpd is None or dpd <= b.max_dpd):
            return b.label
    raise BucketConfigError(f"no bucket for {dpd} days past due")


@dataclass(frozen=True)
class ScheduledInstalment:
    due_date: date
    principal_due: int


def overdue_since_from_dpd(placement_date: date, dpd: int) -> date:
    """From 逾期天数 and 委案日期: the missed due date is placement date − DPD."""
    return placement_date - timedelta(days=dpd)


def oldest_unpaid_due_date(
    principal_outstanding: int, schedule: Sequence[ScheduledInstalment]
) -> date | None:
    """Due date of the oldest (partly) unpaid instalment, or None when the principal is repaid."""
    if principal_outstanding <= 0 or not schedule:
        return None
    ordered = sorted(schedule, key=lambda i: i.due_date)
    later = 0  # principal of instalments after k
    oldest = ordered[-1].due_date
    for inst in reversed(ordered):
        if principal_outstanding > later:
            oldest = inst.due_date
        else:
            break
        later += inst.principal_due
    return oldest


def days_past_due(
    as_of: date,
    *,
    total_balance: int,
    overdue_since: date | None = None,
    principal_outstanding: int = 0,
    schedule: Sequence[ScheduledInstalment] = (),
) -> int:
    """DPD as of a date; a cleared account is 0."""
    if total_balance <= 0:
        return 0
    start: date | None
    if schedule:
        start = oldest_unpaid_due_date(principal_outstanding, schedule)
        if start is None:  # principal repaid, charges left: the whole debt is due since the last instalment
            start = max(i.due_date for i in schedule)
    else:
        start = overdue_since
    if start is None:
        return 0
    return max(0, (as_of - start).days)


def overdue_principal(day: date, principal_outstanding: int, schedule: Sequence[ScheduledInstalment]) -> int:
    """Principal overdue on `day`: all of it without a schedule; else what is not covered by
    instalments not yet overdue (an instalment is overdue from the day after its due date)."""
    if not schedule:
        return max(0, principal_outstanding)
    not_yet_overdue = sum(i.principal_due for i in schedule if i.due_date >= day)
    return max(0, principal_outstanding - not_yet_overdue)


def daily_penalty(principal: int, daily_rate: Decimal) -> int:
    return round_half_even(Decimal(principal) * daily_rate)


def accrue_penalty(
    after: date,
    through: date,
    *,
    principal_outstanding: int,
    daily_rate: Decimal,
    schedule: Sequence[ScheduledInstalment] = (),
) -> int:
    """Penalty for each day in (after, through], each day rounded half-even on that day's overdue principal."""
    if through <= after or daily_rate <= 0 or principal_outstanding <= 0:
        return 0
    if not schedule:
        return (through - after).days * daily_penalty(principal_outstanding, daily_rate)
    # Piecewise constant: overdue principal changes the day after each due date.
    starts = sorted(
        {after + timedelta(days=1)}
        | {
            i.due_date + timedelta(days=1)
            for i in schedule
            if after + timedelta(days=1) < i.due_date + timedelta(days=1) <= through
        }
    )
    total = 0
    for k, seg_start in enumerate(starts):
        seg_end = starts[k + 1] - timedelta(days=1) if k + 1 < len(starts) else through
        days = (seg_end - seg_start).days + 1
        total += days * daily_penalty(
            overdue_principal(seg_start, principal_outstanding, schedule), daily_rate
        )
    return total
