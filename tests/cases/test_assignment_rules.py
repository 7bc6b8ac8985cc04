"""Assignment rules on plain values: routing, eligibility, caps, stickiness, re-balancing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from arrears.cases.assignment import (
    CaseFacts,
    Collector,
    Loads,
    Rule,
    assign_all,
    choose,
    eligible,
    matching_rule,
    rebalance_plan,
)

EAST, WEST = 1, 2


def people() -> list[Collector]:
    return [
        Collector(10, team_id=EAST, languages=frozenset({"zh"}), cap=3),
        Collector(11, team_id=EAST, languages=frozenset({"zh", "en"}), skills=frozenset({"legal"}), cap=3),
        Collector(12, team_id=WEST, cap=3),
        Collector(13, agency_code="AG1", cap=3),
    ]


def test_first_matching_rule_by_position_decides() -> None:
    rules = [
        Rule(1, position=50, bucket="M4+", skill="legal"),
        Rule(2, position=10, creditor="BANK2", team_id=WEST),
        Rule(3, position=90),
    ]
    assert matching_rule(CaseFacts(1, bucket="M4+", creditor="BANK2"), rules).id == 2  # type: ignore[union-attr]
    assert matching_rule(CaseFacts(1, bucket="M4+", creditor="BANK1"), rules).id == 1  # type: ignore[union-attr]
    assert matching_rule(CaseFacts(1, bucket="M1"), rules).id == 3  # type: ignore[union-attr]
    assert matching_rule(CaseFacts(1), [Rule(9, bucket="M1", active=False)]) is None


def test_routing_by_team_skill_language_and_agency() -> None:
    pool, loads = people(), Loads()
    legal = [Rule(1, bucket="M4+", skill="legal")]
    assert choose(CaseFacts(1, bucket="M4+", language="zh"), pool, legal, loads).user_id == 11
    west = [Rule(1, creditor="BANK2", team_id=WEST)]
    assert choose(CaseFacts(1, creditor="BANK2"), pool, west, loads).user_id == 12
    assert choose(CaseFacts(1, language="en"), pool, [], loads).user_id == 11  # 10 speaks only zh; 12 any
    placed = choose(CaseFacts(1, agency_code="AG1"), pool, [], loads)
    assert placed.user_id == 13  # an account placed with an agency goes to that agency's staff
    assert choose(CaseFacts(1, agency_code="AG9"), pool, [], loads).user_id == 12  # no AG9 staff: in-house
    assert choose(CaseFacts(1), [pool[3]], [], loads).user_id is None  # agency staff never take unplaced work


def test_least_loaded_relative_to_cap_then_lowest_id() -> None:
    pool = [Collector(1, cap=10), Collector(2, cap=4), Collector(3, cap=10)]
    assert choose(CaseFacts(1), pool, [], Loads({1: 5, 2: 1, 3: 5})).user_id == 2  # 1/4 < 5/10
    assert choose(CaseFacts(1), pool, [], Loads({1: 5, 2: 2, 3: 5})).user_id == 2  # tie at 0.5: lower load
    assert choose(CaseFacts(1), pool, [], Loads({1: 5, 2: 4, 3: 5})).user_id == 1  # 2 at cap; then lower id
    assert (
        choose(CaseFacts(1), pool, [], Loads({1: 10, 2: 4, 3: 10})).why == "no eligible collector under cap"
    )


def test_stickiness_keeps_the_holder_while_available() -> None:
    pool = [Collector(1, cap=1), Collector(2, cap=10), Collector(3, cap=10, available=False)]
    assert choose(CaseFacts(1, current=1), pool, [], Loads({1: 5})).reason == "kept"  # even above cap
    moved = choose(CaseFacts(1, current=3), pool, [], Loads({1: 1, 3: 1}))  # holder on leave; 1 at cap
    assert (moved.user_id, moved.reason) == (2, "rules")
    assert choose(CaseFacts(1, current=1), pool, [], Loads({1: 1}), sticky=False).user_id == 2
    assert choose(CaseFacts(1, current=1), pool, [], Loads(), exclude=frozenset({1})).user_id == 2


def test_eligibility_reasons() -> None:
    c = Collector(
        1,
        team_id=EAST,
        regions=frozenset({"Beijing"}),
        creditors=frozenset({"B1"}),
        buckets=frozenset({"M1"}),
    )
    assert eligible(c, CaseFacts(1, region="Shanghai", creditor="B1", bucket="M1"), None, 0) == "region"
    assert eligible(c, CaseFacts(1, region="Beijing", creditor="B2", bucket="M1"), None, 0) == "creditor"
    assert eligible(c, CaseFacts(1, region="Beijing", creditor="B1", bucket="M2"), None, 0) == "bucket"
    assert (
        eligible(c, CaseFacts(1, region="Beijing", creditor="B1", bucket="M1"), Rule(1, team_id=WEST), 0)
        == "other team"
    )
    assert (
        eligible(c, CaseFacts(1, region="Beijing", creditor="B1", bucket="M1"), None, 200)
        == "at workload cap"
    )
    assert eligible(c, CaseFacts(1, region="Beijing", creditor="B1", bucket="M1"), None, 0) is None


def test_assign_all_respects_caps_and_places_high_priority_first() -> None:
    pool = [Collector(1, cap=2), Collector(2, cap=1)]
    cases = [CaseFacts(i, priority=float(i)) for i in range(1, 6)]
    choices = {c.case_id: c.user_id for c in assign_all(cases, pool, [], Loads())}
    assert sum(1 for u in choices.values() if u == 1) == 2 and sum(1 for u in choices.values() if u == 2) == 1
    assert [cid for cid, u in choices.items() if u is None] == [2, 1]  # lowest priorities are left


def test_rebalance_moves_lowest_priority_from_the_overloaded() -> None:
    pool = [Collector(1, cap=10), Collector(2, cap=10), Collector(3, cap=10)]
    cases = [CaseFacts(i, priority=float(i), current=1) for i in range(1, 7)] + [CaseFacts(7, current=2)]
    moves = rebalance_plan(cases, pool, [])
    assert sorted(m.case_id for m in moves) == [1, 2, 3]  # 7 cases over 3 → level 3; the cheapest three move
    after = {c.case_id: c.current for c in cases} | {m.case_id: m.user_id for m in moves}
    assert sorted(list(after.values()).count(u) for u in (1, 2, 3)) == [2, 2, 3]


caps = st.integers(1, 6)


@given(
    st.lists(st.tuples(caps, st.booleans(), st.sampled_from(["zh", "en", None])), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["zh", "en"]), st.floats(0, 100)), max_size=25),
)
def test_rebalance_properties(
    staff: list[tuple[int, bool, str | None]], held: list[tuple[int, str, float]]
) -> None:
    pool = [
        Collector(i + 1, cap=cap, available=avail, languages=frozenset({lang}) if lang else frozenset())
        for i, (cap, avail, lang) in enumerate(staff)
    ]
    cases = [
        CaseFacts(n + 1, language=lang, priority=prio, current=(holder % len(pool)) + 1)
        for n, (holder, lang, prio) in enumerate(held)
    ]
    moves = rebalance_plan(cases, pool, [])
    by_id = {c.user_id: c for c in pool}
    facts = {c.case_id: c for c in cases}
    assert len({m.case_id for m in moves}) == len(moves)  # a case moves at most once
    loads = Loads()
    for c in cases:
        loads.move(None, c.current)
    for m in moves:
        taker = by_id[m.user_id]  # type: ignore[index]
        assert taker.available and m.user_id != facts[m.case_id].current
        assert not taker.languages or facts[m.case_id].language in taker.languages
        loads.move(facts[m.case_id].current, m.user_id)
    for c in pool:  # nobody is pushed above their cap by a move
        moved_in = sum(1 for m in moves if m.user_id == c.user_id)
        if moved_in:
            assert loads.of(c.user_id) <= c.cap
