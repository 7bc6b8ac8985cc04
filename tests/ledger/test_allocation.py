"""Payment allocation: worked examples from hand-computed cases, and properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.ledger.allocation import DEFAULT_WATERFALL, WaterfallError, allocate_payment, validate_waterfall


def test_default_waterfall_pays_fees_then_penalty_then_interest_then_principal() -> None:
    # Owed: fees 50.00, penalty 30.00, interest 120.00, principal 1000.00; pays 180.00.
    # 50.00 → fees, 30.00 → penalty, 100.00 → interest (20.00 interest and all principal remain).
    a = allocate_payment(18000, {"fees": 5000, "penalty": 3000, "interest": 12000, "principal": 100000})
    assert a.parts == {"principal": 0, "interest": 10000, "penalty": 3000, "fees": 5000}
    assert a.credit == 0


def test_overpayment_becomes_credit_never_lost() -> None:
    # Owed 100.00 in total; pays 150.00 → everything cleared and 50.00 credit.
    a = allocate_payment(15000, {"fees": 0, "penalty": 1000, "interest": 0, "principal": 9000})
    assert a.parts == {"principal": 9000, "interest": 0, "penalty": 1000, "fees": 0}
    assert a.credit == 5000


def test_creditor_waterfall_principal_first() -> None:
    order = ("principal", "interest", "penalty", "fees")
    a = allocate_payment(60000, {"fees": 5000, "penalty": 3000, "interest": 12000, "principal": 50000}, order)
    assert a.parts == {"principal": 50000, "interest": 10000, "penalty": 0, "fees": 0}


@pytest.mark.parametrize("bad", [["fees", "penalty"], ["fees", "fees", "interest", "principal"], ["x"]])
def test_waterfall_must_name_each_component_once(bad: list[str]) -> None:
    with pytest.raises(WaterfallError):
        validate_waterfall(bad)


def test_payment_must_be_positive() -> None:
    with pytest.raises(WaterfallError):
        allocate_payment(0, {"principal": 1})


balances = st.fixed_dictionaries({c: st.integers(0, 10**9) for c in DEFAULT_WATERFALL})
orders = st.permutations(list(DEFAULT_WATERFALL))


@given(amount=st.integers(1, 10**10), owed=balances, order=orders)
def test_allocation_sums_to_payment_and_never_overpays_a_component(amount, owed, order) -> None:
    a = allocate_payment(amount, owed, order)
    assert a.total == amount
    for c, v in a.parts.items():
        assert 0 <= v <= owed[c]
    assert a.credit >= 0
    # Credit only once everything is paid.
    if a.credit:
        assert all(a.parts[c] == owed[c] for c in owed)


@given(amount=st.integers(1, 10**10), owed=balances, order=orders)
def test_allocation_follows_order(amount, owed, order) -> None:
    a = allocate_payment(amount, owed, order)
    # A later component receives money only when every earlier one is fully paid.
    for i, c in enumerate(order):
        if a.parts[c] > 0:
            assert all(a.parts[e] == owed[e] for e in order[:i])
