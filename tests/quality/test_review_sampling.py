"""Sampling rules on plain values (R24): every fatal, low or uncertain interaction, plus a random share
per collector, higher for new staff; reproducible from the seed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.quality.sampling import (
    Candidate,
    SamplingPolicy,
    mandatory_reason,
    random_quota,
    select_for_review,
)


def cand(i: int, collector: int | None = 1, score: float = 95.0, **kw: object) -> Candidate:
    return Candidate(interaction_id=i, collector_id=collector, score=score, fatal=bool(kw.pop("fatal", False)),
                     pass_mark=80.0, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_mandatory_reasons_in_order() -> None:
    p = SamplingPolicy()
    assert mandatory_reason(cand(1, fatal=True, score=0), p) == "fatal"
    assert mandatory_reason(cand(2, score=79.9), p) == "low_score"
    assert mandatory_reason(cand(3, score=80.0), p) is None  # the pass mark itself passes
    assert mandatory_reason(cand(4, undecided=1), p) == "needs_review"
    assert mandatory_reason(cand(5, min_confidence=0.3), p) == "low_confidence"
    assert mandatory_reason(cand(6, score=85), SamplingPolicy(low_score=90)) == "low_score"


def test_quota() -> None:
    assert random_quota(0, 0.05, 1) == 0
    assert random_quota(10, 0.05, 1) == 1
    assert random_quota(100, 0.05, 1) == 5
    assert random_quota(101, 0.05, 1) == 6  # ceil
    assert random_quota(100, 0.0, 0) == 0
    assert random_quota(10, 0.2, 0) == 2


def test_new_staff_get_a_higher_share() -> None:
    veteran = [cand(i, collector=1) for i in range(1, 101)]
    newcomer = [cand(i, collector=2, new_staff=True) for i in range(101, 201)]
    picks = select_for_review(veteran + newcomer, SamplingPolicy(random_share=0.05, new_staff_share=0.2), "s")
    by = {p.interaction_id: p.reason for p in picks}
    assert sum(1 for i in by if i <= 100) == 5 and {by[i] for i in by if i <= 100} == {"random"}
    assert sum(1 for i in by if i > 100) == 20 and {by[i] for i in by if i > 100} == {"new_staff"}


def test_reproducible_and_order_independent() -> None:
    cs = [cand(i, collector=i % 3) for i in range(1, 60)]
    a = select_for_review(cs, SamplingPolicy(random_share=0.1), "seed-1")
    b = select_for_review(list(reversed(cs)), SamplingPolicy(random_share=0.1), "seed-1")
    c = select_for_review(cs, SamplingPolicy(random_share=0.1), "seed-2")
    assert a == b and a != c


def test_duplicates_and_bad_policy_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        select_for_review([cand(1), cand(1)], SamplingPolicy(), "s")
    with pytest.raises(ValueError, match="random_share"):
        SamplingPolicy(random_share=1.5)


candidates = st.lists(
    st.builds(
        Candidate,
        interaction_id=st.integers(1, 10_000),
        collector_id=st.one_of(st.none(), st.integers(1, 6)),
        score=st.floats(0, 100),
        fatal=st.booleans(),
        pass_mark=st.just(80.0),
        undecided=st.integers(0, 2),
        min_confidence=st.floats(0, 1),
        new_staff=st.booleans(),
    ),
    max_size=80,
    unique_by=lambda c: c.interaction_id,
)


@settings(max_examples=150, deadline=None)
@given(candidates, st.floats(0, 1), st.floats(0, 1), st.integers(0, 3), st.text(max_size=8))
def test_properties(cs: list[Candidate], share: float, new_share: float, minimum: int, seed: str) -> None:
    policy = SamplingPolicy(random_share=share, new_staff_share=new_share, min_random_per_collector=minimum)
    picks = select_for_review(cs, policy, seed)
    by = {p.interaction_id: p.reason for p in picks}
    assert len(by) == len(picks)
    for c in cs:  # every mandatory one is in, with its reason
        reason = mandatory_reason(c, policy)
        if reason is not None:
            assert by[c.interaction_id] == reason
    groups: dict[int | None, list[Candidate]] = {}
    for c in cs:
        groups.setdefault(c.collector_id, []).append(c)
    for items in groups.values():
        new = any(c.new_staff for c in items)
        rest = [c for c in items if mandatory_reason(c, policy) is None]
        randoms = [c for c in rest if c.interaction_id in by]
        quota = max(minimum, math.ceil((new_share if new else share) * len(items) - 1e-9))
        assert len(randoms) == min(len(rest), quota)
        assert all(by[c.interaction_id] == ("new_staff" if new else "random") for c in randoms)
