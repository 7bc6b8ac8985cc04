"""Affordability (R16): the documented formula, its worked example, and the plan it proposes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.plans.affordability import AffordabilityError, Means, Policy, assess, propose

AS_OF = date(2026, 11, 28)


def test_worked_example() -> None:
    """Income 8,000.00, expenses 3,500.00, other debts 500.00, two dependants at 800.00, owed 10,000.00."""
    means = Means(income=800_000, expenses=350_000, other_debt_payments=50_000, dependants=2)
    a = assess(means, 1_000_000)
    assert a.disposable == 240_000  # 8000 − 3500 − 500 − 2 × 800
    assert a.capacity == 120_000  # half of it
    assert a.ability == "high" and a.months_to_clear == 9
    p = propose(a, 1_000_000, AS_OF)
    assert p.kind == "instalment" and p.count == 9 and p.frequency == "monthly" and p.discount == 0
    assert [s.amount for s in p.schedule] == [111_111] * 8 + [111_112]
    assert p.first_due == AS_OF + timedelta(days=14)
    assert sum(s.amount for s in p.schedule) == 1_000_000


def test_hardship_gets_a_deferral_not_a_plan() -> None:
    a = assess(Means(income=300_000, expenses=280_000, dependants=1), 500_000)
    assert a.disposable < 0 and a.capacity == 0 and a.ability == "low" and a.months_to_clear is None
    p = propose(a, 500_000, AS_OF)
    assert p.kind == "deferral" and p.first_due == AS_OF + timedelta(days=60) and p.total == 500_000
    assert "hardship" in p.reasons[0][1] and "困难" in p.reasons[0][0]


def test_enough_capacity_pays_in_one_and_too_little_needs_a_settlement() -> None:
    rich = assess(Means(income=5_000_000, expenses=1_000_000), 1_000_000)
    one = propose(rich, 1_000_000, AS_OF)
    assert one.kind == "instalment" and one.count == 1 and one.schedule[0].amount == 1_000_000
    poor = assess(Means(income=500_000, expenses=460_000), 10_000_000)  # capacity 200.00 for 100,000.00
    assert poor.capacity == 20_000 and poor.ability == "low"
    s = propose(poor, 10_000_000, AS_OF, Policy())
    assert s.kind == "settlement" and s.count == 36 and s.total == 20_000 * 36
    assert s.discount == 10_000_000 - 720_000 and sum(x.amount for x in s.schedule) == s.total


def test_policy_and_input_validation() -> None:
    with pytest.raises(AffordabilityError):
        Means(income=-1, expenses=0)
    with pytest.raises(AffordabilityError):
        Means(income=1, expenses=0, dependants=31)
    with pytest.raises(AffordabilityError):
        Policy(capacity_share=Decimal("1.5"))
    with pytest.raises(AffordabilityError):
        propose(assess(Means(income=1, expenses=0), 0), 0, AS_OF)
    # capacity share and allowance are parameters of the formula
    a = assess(
        Means(income=1_000_000, expenses=0, dependants=1),
        1,
        Policy(capacity_share=Decimal("0.25"), allowance_per_dependant=0),
    )
    assert a.capacity == 250_000


@given(
    income=st.integers(0, 10**8),
    expenses=st.integers(0, 10**8),
    debts=st.integers(0, 10**7),
    dependants=st.integers(0, 10),
    owed=st.integers(1, 10**9),
)
def test_a_proposal_is_always_feasible(
    income: int, expenses: int, debts: int, dependants: int, owed: int
) -> None:
    a = assess(Means(income, expenses, debts, dependants), owed)
    assert a.capacity >= 0
    p = propose(a, owed, AS_OF)
    assert sum(s.amount for s in p.schedule) == p.total <= owed
    if p.kind != "deferral":
        assert (
            max(s.amount for s in p.schedule) <= max(a.capacity, 1) + p.count
        )  # within capacity (remainder aside)
    more = assess(Means(income + 100_000, expenses, debts, dependants), owed)
    assert more.capacity >= a.capacity  # more income never lowers capacity
