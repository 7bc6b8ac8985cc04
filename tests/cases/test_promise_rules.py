"""Promise evaluation on plain values: kept, partly kept, broken after the grace, one payment counted once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.cases.promises import Payment, PromiseTerms, evaluate

D = date(2026, 12, 1)


def one(p: PromiseTerms, payments: list[Payment], as_of: date) -> tuple[str, int, date | None]:
    r = evaluate([p], payments, as_of)[0]
    return r.status, r.paid, r.resolved_on


def test_kept_on_the_day_the_amount_is_reached_even_before_the_due_date() -> None:
    p = PromiseTerms(1, 50_000, D, D + timedelta(days=5), grace_days=2)
    pays = [Payment(D + timedelta(days=1), 20_000), Payment(D + timedelta(days=3), 30_000)]
    assert one(p, pays, D + timedelta(days=3)) == ("kept", 50_000, D + timedelta(days=3))
    assert one(p, pays, D + timedelta(days=2)) == ("open", 20_000, None)


def test_a_payment_within_the_grace_keeps_it_and_one_day_later_does_not() -> None:
    p = PromiseTerms(1, 10_000, D, D + timedelta(days=5), grace_days=2)
    in_grace = [Payment(D + timedelta(days=7), 10_000)]
    too_late = [Payment(D + timedelta(days=8), 10_000)]
    assert one(p, in_grace, D + timedelta(days=9))[0] == "kept"
    assert one(p, too_late, D + timedelta(days=9)) == ("broken", 0, D + timedelta(days=8))


def test_open_until_the_grace_has_passed_then_partly_kept_or_broken() -> None:
    p = PromiseTerms(1, 10_000, D, D + timedelta(days=5), grace_days=2)
    partial = [Payment(D + timedelta(days=5), 4_000)]
    assert one(p, partial, D + timedelta(days=7))[0] == "open"
    assert one(p, partial, D + timedelta(days=8)) == ("partly_kept", 4_000, D + timedelta(days=8))
    assert one(p, [], D + timedelta(days=7))[0] == "open"
    assert one(p, [], D + timedelta(days=8))[0] == "broken"


def test_payments_before_the_promise_or_after_as_of_do_not_count() -> None:
    p = PromiseTerms(1, 10_000, D, D + timedelta(days=5))
    assert one(p, [Payment(D - timedelta(days=1), 10_000)], D + timedelta(days=6))[0] == "broken"
    assert one(p, [Payment(D + timedelta(days=4), 10_000)], D + timedelta(days=3))[0] == "open"


def test_one_payment_is_never_counted_for_two_promises() -> None:
    a = PromiseTerms(1, 10_000, D, D + timedelta(days=3))
    b = PromiseTerms(2, 10_000, D, D + timedelta(days=10))
    results = evaluate([a, b], [Payment(D + timedelta(days=2), 15_000)], D + timedelta(days=11))
    assert [(r.status, r.paid) for r in results] == [("kept", 10_000), ("partly_kept", 5_000)]


def test_invalid_terms_are_refused() -> None:
    with pytest.raises(ValueError, match="amount"):
        evaluate([PromiseTerms(1, 0, D, D)], [], D)
    with pytest.raises(ValueError, match="due date"):
        evaluate([PromiseTerms(1, 1, D, D - timedelta(days=1))], [], D)


promise_st = st.builds(
    lambda i, amount, start, length, grace: PromiseTerms(
        i, amount, D + timedelta(days=start), D + timedelta(days=start + length), grace
    ),
    st.integers(1, 10**6),
    st.integers(1, 100_000),
    st.integers(0, 20),
    st.integers(0, 20),
    st.integers(0, 5),
)
payment_st = st.builds(
    lambda d, a: Payment(D + timedelta(days=d), a), st.integers(-5, 50), st.integers(1, 80_000)
)


@given(
    st.lists(promise_st, max_size=5, unique_by=lambda p: p.id),
    st.lists(payment_st, max_size=8),
    st.integers(0, 60),
)
def test_properties(promises: list[PromiseTerms], payments: list[Payment], day: int) -> None:
    as_of = D + timedelta(days=day)
    results = evaluate(promises, payments, as_of)
    counted = sum(p.amount for p in payments if p.on <= as_of)
    assert sum(r.paid for r in results) <= counted  # nothing counted twice
    for p, r in zip(promises, results, strict=True):
        assert 0 <= r.paid <= p.amount
        assert (r.status == "kept") == (r.paid >= p.amount)
        if r.status in ("broken", "partly_kept"):
            assert as_of > p.deadline and (r.status == "broken") == (r.paid == 0)
        if r.status == "open":
            assert as_of <= p.deadline
