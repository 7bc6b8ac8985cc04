"""Instalment schedules (R13): exact money, dates by frequency, evaluation to completed or broken."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.plans.schedule import (
    FREQUENCIES,
    Payment,
    ScheduleError,
    add_months,
    evaluate,
    generate_schedule,
    split_total,
)


@given(
    total=st.integers(min_value=1, max_value=10**13),
    count=st.integers(min_value=1, max_value=360),
    frequency=st.sampled_from(FREQUENCIES),
    first=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
)
def test_instalments_sum_exactly_with_the_remainder_on_the_last(
    total: int, count: int, frequency: str, first: date
) -> None:
    if total < count:
        with pytest.raises(ScheduleError):
            generate_schedule(total, count, frequency, first)
        return
    lines = generate_schedule(total, count, frequency, first)
    amounts = [line.amount for line in lines]
    assert sum(amounts) == total
    assert len(lines) == count and [line.seq for line in lines] == list(range(1, count + 1))
    assert len(set(amounts[:-1])) <= 1  # equal instalments …
    assert 0 <= amounts[-1] - amounts[0] < count  # … and the remainder, less than one unit each, on the last
    assert lines[0].due_date == first
    assert all(a.due_date < b.due_date for a, b in itertools.pairwise(lines))


def test_split_examples() -> None:
    assert split_total(1_000_000, 9) == [111_111] * 8 + [111_112]
    assert split_total(100, 3) == [33, 33, 34]
    assert split_total(5, 5) == [1] * 5
    with pytest.raises(ScheduleError):
        split_total(4, 5)
    with pytest.raises(ScheduleError):
        split_total(100, 0)


def test_monthly_dates_keep_the_day_and_clamp_to_month_end() -> None:
    lines = generate_schedule(400, 4, "monthly", date(2027, 1, 31))
    assert [x.due_date for x in lines] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)  # leap year
    assert add_months(date(2026, 11, 15), 2) == date(2027, 1, 15)
    weekly = generate_schedule(300, 3, "weekly", date(2027, 1, 1))
    assert [x.due_date for x in weekly] == [date(2027, 1, 1), date(2027, 1, 8), date(2027, 1, 15)]
    with pytest.raises(ScheduleError):
        generate_schedule(300, 3, "daily", date(2027, 1, 1))


PLAN = generate_schedule(3000, 3, "monthly", date(2027, 1, 10))  # 1000 on 10 Jan, 10 Feb, 10 Mar


def test_on_track_then_behind_within_grace_then_broken_after_it() -> None:
    paid = [Payment(date(2027, 1, 9), 1000)]
    assert evaluate(PLAN, paid, date(2027, 2, 1), grace_days=5).status == "on_track"
    behind = evaluate(PLAN, paid, date(2027, 2, 14), grace_days=5)  # due 10 Feb, grace to 15 Feb
    assert behind.status == "behind" and behind.shortfall == 1000
    assert evaluate(PLAN, paid, date(2027, 2, 15), grace_days=5).status == "behind"
    broken = evaluate(PLAN, paid, date(2027, 2, 16), grace_days=5)
    assert broken.status == "broken" and broken.broken_on == date(2027, 2, 16)
    assert [r.state for r in broken.instalments] == ["paid", "missed", "open"]


def test_a_payment_inside_the_grace_keeps_the_plan_and_partial_payments_fill_in_order() -> None:
    paid = [Payment(date(2027, 1, 9), 1000), Payment(date(2027, 2, 14), 600), Payment(date(2027, 2, 15), 400)]
    p = evaluate(PLAN, paid, date(2027, 3, 1), grace_days=5)
    assert p.status == "on_track" and p.paid == 2000 and p.remaining == 1000
    assert p.next_due == date(2027, 3, 10) and p.next_amount == 1000
    partial = evaluate(PLAN, [Payment(date(2027, 1, 9), 1300)], date(2027, 2, 1), grace_days=5)
    assert [r.paid for r in partial.instalments] == [1000, 300, 0]
    assert partial.next_due == date(2027, 2, 10) and partial.next_amount == 700


def test_completed_when_paid_in_full_even_after_a_late_instalment() -> None:
    late = [Payment(date(2027, 1, 9), 1000), Payment(date(2027, 3, 1), 2000)]
    p = evaluate(PLAN, late, date(2027, 3, 2), grace_days=5)
    assert p.status == "completed" and p.remaining == 0 and p.next_due is None
    early = evaluate(PLAN, [Payment(date(2027, 1, 2), 3000)], date(2027, 1, 3), grace_days=0)
    assert early.status == "completed"


def test_payments_after_as_of_do_not_count_and_grace_zero_breaks_the_next_day() -> None:
    paid = [Payment(date(2027, 1, 11), 1000)]
    assert evaluate(PLAN, paid, date(2027, 1, 10), grace_days=0).paid == 0
    assert evaluate(PLAN, paid, date(2027, 1, 10), grace_days=0).status == "on_track"  # due today
    assert evaluate(PLAN, paid, date(2027, 1, 11), grace_days=0).status == "broken"  # paid a day late
    with pytest.raises(ScheduleError):
        evaluate(PLAN, paid, date(2027, 1, 11), grace_days=-1)


@given(
    amounts=st.lists(st.integers(min_value=1, max_value=2000), max_size=6),
    offsets=st.lists(st.integers(min_value=0, max_value=120), min_size=6, max_size=6),
    as_of_offset=st.integers(min_value=0, max_value=150),
)
def test_evaluation_invariants(amounts: list[int], offsets: list[int], as_of_offset: int) -> None:
    start = date(2027, 1, 1)
    payments = [Payment(start + timedelta(days=o), a) for a, o in zip(amounts, offsets, strict=False)]
    as_of = start + timedelta(days=as_of_offset)
    p = evaluate(PLAN, payments, as_of, grace_days=3)
    counted = sum(x.amount for x in payments if x.paid_on <= as_of)
    assert p.paid == counted
    assert p.remaining == max(3000 - counted, 0)
    assert sum(r.paid for r in p.instalments) == min(counted, 3000)
    assert (p.status == "completed") == (counted >= 3000)
    if p.status == "broken":
        assert p.broken_on is not None and p.broken_on <= as_of
