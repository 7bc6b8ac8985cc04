"""Ability × willingness on plain values, with the hardship / evasion / fraud distinction (R6, R7, R16)."""

from __future__ import annotations

from arrears.cases.assessment import Behaviour, Means, assess


def codes(a: object) -> set[str]:
    return {r.code for r in a.reasons}  # type: ignore[attr-defined]


def test_ability_from_affordability_then_income_then_payments() -> None:
    a = assess(Means(balance=600_000, monthly_income=2_000_000, monthly_expenses=1_900_000), Behaviour())
    assert a.ability == "high" and a.figures["months_to_clear"] == 6.0  # 6000.00 at 1000.00 a month
    assert assess(Means(balance=600_000, affordability_surplus=10_000), Behaviour()).ability == "low"
    assert assess(Means(balance=600_000, affordability_surplus=0), Behaviour()).ability == "low"
    by_income = assess(Means(balance=1_000_000, monthly_income=500_000), Behaviour())  # 30% → 1500/month
    assert by_income.ability == "medium" and "ability.income" in codes(by_income)
    assert assess(Means(balance=1_000_000), Behaviour(payments=1, paid_total=100)).ability == "medium"
    unknown = assess(Means(balance=1_000_000), Behaviour())
    assert unknown.ability == "unknown" and unknown.willingness == "unknown"


def test_hardship_lowers_ability_unless_affordability_says_otherwise() -> None:
    base = Means(balance=1_000_000, monthly_income=500_000)
    assert assess(base, Behaviour(hardship=1)).ability == "low"
    measured = Means(balance=600_000, affordability_surplus=200_000)
    assert assess(measured, Behaviour(hardship=1)).ability == "high"
    assert "hardship" in assess(Means(balance=1), Behaviour(hardship=1)).flags


def test_willingness_from_behaviour() -> None:
    m = Means(balance=100_000)
    assert assess(m, Behaviour(promises_made=2, kept=2, payments=2, paid_total=5)).willingness == "high"
    assert assess(m, Behaviour(promises_made=2, broken=2)).willingness == "low"
    assert assess(m, Behaviour(refusals=1, reached=1, attempts=1)).willingness == "low"
    assert assess(m, Behaviour(reached=1, attempts=1)).willingness == "medium"
    avoid = assess(m, Behaviour(attempts=10, reached=0))
    assert avoid.willingness == "medium" and "willingness.avoidance" in codes(avoid)
    disputed = assess(m, Behaviour(disputes_open=1, reached=1, attempts=1))
    assert disputed.willingness == "medium" and "dispute_open" in disputed.flags  # a dispute is a right


def test_fraud_suspected_when_every_number_is_wrong_and_nothing_ever_happened() -> None:
    a = assess(Means(balance=100_000), Behaviour(attempts=4, phone_numbers=2, wrong_numbers=2))
    assert "fraud_suspected" in a.flags
    reached_once = Behaviour(attempts=4, reached=1, phone_numbers=2, wrong_numbers=2)
    assert "fraud_suspected" not in assess(Means(balance=100_000), reached_once).flags
    paid = Behaviour(attempts=4, phone_numbers=2, wrong_numbers=2, payments=1, paid_total=10)
    assert "fraud_suspected" not in assess(Means(balance=100_000), paid).flags


def test_deliberate_evasion_versus_hardship() -> None:
    evasive = Behaviour(attempts=6, reached=2, promises_made=2, broken=2)
    a = assess(Means(balance=2_000_000, monthly_income=3_000_000), evasive)
    assert "deliberate_evasion" in a.flags
    gone_dark = Behaviour(attempts=5, reached=1, promises_made=1, broken=1, phone_numbers=1, wrong_numbers=1,
                          wrong_after_reached=True)  # fmt: skip
    assert "deliberate_evasion" in assess(Means(balance=100_000), gone_dark).flags
    # R16: the same broken promises with a declared hardship and low ability read as cannot-pay
    hardship = Behaviour(attempts=6, reached=2, promises_made=2, broken=2, hardship=1)
    h = assess(Means(balance=2_000_000, affordability_surplus=5_000), hardship)
    assert "deliberate_evasion" not in h.flags and "hardship" in h.flags
    assert "flag.hardship_not_evasion" in codes(h)
    # anything paid is not evasion
    assert (
        "deliberate_evasion"
        not in assess(Means(balance=1), Behaviour(broken=3, payments=1, paid_total=1)).flags
    )


def test_reasons_speak_both_languages_and_serialise() -> None:
    a = assess(
        Means(balance=600_000, currency="USD", monthly_income=200_000), Behaviour(kept=1, promises_made=1)
    )
    d = a.to_dict()
    assert d["ability"] == a.ability and all(r["zh"] and r["en"] for r in d["reasons"])
    assert any("600.00" in r["en"] or "month" in r["en"] for r in d["reasons"])
    assert a.flags_text is None
