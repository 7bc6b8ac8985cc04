"""Queue order on plain values: due today, broken promises, expected recovery; blocked cases apart."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from arrears.cases.queue import QueueFacts, order

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def test_tiers_in_order() -> None:
    facts = [
        QueueFacts(1, priority=900.0),
        QueueFacts(2, priority=10.0, broken_at=NOW - timedelta(days=1)),
        QueueFacts(3, priority=5.0, promise_due=TODAY),
        QueueFacts(4, priority=1.0, callback_at=NOW + timedelta(hours=3), callback_day=TODAY),
        QueueFacts(5, priority=2000.0, blocked_rules=("CN-H1",)),
        QueueFacts(6, priority=50.0),
        QueueFacts(7, priority=3.0, broken_at=NOW),
        QueueFacts(
            8, priority=1.0, callback_at=NOW + timedelta(days=1), callback_day=TODAY + timedelta(days=1)
        ),
        QueueFacts(
            9, priority=1.0, callback_at=NOW - timedelta(days=2), callback_day=TODAY - timedelta(days=2)
        ),
        QueueFacts(10, priority=1.0, promise_due=TODAY + timedelta(days=1)),
    ]
    ranked, blocked = order(facts, TODAY)
    assert [r.case_id for r in ranked] == [9, 4, 3, 7, 2, 1, 6, 8, 10]
    assert [r.why for r in ranked[:5]] == [
        "callback_due", "callback_due", "promise_due", "broken_promise", "broken_promise",
    ]  # fmt: skip
    assert [b.case_id for b in blocked] == [5]


def test_blocked_cases_never_appear_in_the_order() -> None:
    ranked, blocked = order([QueueFacts(1, 10.0, promise_due=TODAY, blocked_rules=("CN-T1",))], TODAY)
    assert ranked == [] and blocked[0].blocked_rules == ("CN-T1",)


@given(st.lists(st.tuples(st.integers(1, 10**6), st.floats(0, 1e9), st.booleans()), unique_by=lambda t: t[0]))
def test_expected_recovery_is_by_priority_then_id(rows: list[tuple[int, float, bool]]) -> None:
    facts = [QueueFacts(i, p, blocked_rules=("X",) if b else ()) for i, p, b in rows]
    ranked, blocked = order(facts, TODAY)
    assert {r.case_id for r in ranked} | {b.case_id for b in blocked} == {i for i, _, _ in rows}
    keys = [(-next(p for i, p, _ in rows if i == r.case_id), r.case_id) for r in ranked]
    assert keys == sorted(keys)
