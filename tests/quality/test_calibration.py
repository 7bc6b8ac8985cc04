"""Agreement measures checked against examples worked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.quality.calibration import (
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_counts,
    machine_human_agreement,
    percent_agreement,
    score_spread,
)


def test_cohen_kappa_two_by_two_by_hand() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 35/50 = 0.7; p_e = (25/50)(30/50) + (25/50)(20/50) = 0.3 + 0.2 = 0.5; kappa = 0.2/0.5 = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert percent_agreement(a, b) == pytest.approx(0.7)
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_quadratic_weights_by_hand() -> None:
    # Grades 0..2, pairs (0,0) (1,2) (2,2) (2,1). Weights (i-j)^2/4.
    # Observed disagreement (0 + 1/4 + 0 + 1/4) / 4 = 0.125.
    # Marginals a = b = (1/4, 1/4, 1/2); expected disagreement = 1.375 / 4 = 0.34375.
    # kappa_w = 1 - 0.125 / 0.34375 = 7/11.
    a, b = [0, 1, 2, 2], [0, 2, 2, 1]
    assert cohen_kappa(a, b, weights="quadratic") == pytest.approx(7 / 11)
    # Linear weights |i-j|/2: observed (0 + .5 + 0 + .5)/4 = .25; expected, over the off-diagonal cells,
    # 2 × (.25*.25*.5 + .25*.5*1 + .25*.5*.5) = .4375; kappa = 1 - .25/.4375 = 3/7.
    assert cohen_kappa(a, b, weights="linear") == pytest.approx(3 / 7)


def test_cohen_kappa_perfect_and_chance() -> None:
    assert cohen_kappa([True, False, True], [True, False, True]) == pytest.approx(1.0)
    # Opposite on every item with balanced marginals: p_o = 0, p_e = 0.5 → -1.
    assert cohen_kappa([True, False], [False, True]) == pytest.approx(-1.0)
    # All ratings one category: chance agreement is total; identical raters count as full agreement.
    assert cohen_kappa(["pass"] * 4, ["pass"] * 4) == 1.0


def test_cohen_kappa_matches_scikit_learn_on_an_ordinal_example() -> None:
    from sklearn.metrics import cohen_kappa_score

    a = [1, 2, 3, 3, 2, 1, 4, 4, 2, 3, 1, 4]
    b = [1, 2, 3, 2, 2, 1, 4, 3, 3, 3, 2, 4]
    for w in (None, "linear", "quadratic"):
        assert cohen_kappa(a, b, weights=w) == pytest.approx(cohen_kappa_score(a, b, weights=w))


def test_cohen_kappa_rejects_mismatched_input() -> None:
    with pytest.raises(ValueError, match="different numbers"):
        cohen_kappa([1, 2], [1])
    with pytest.raises(ValueError, match="not among the labels"):
        cohen_kappa([1, 2], [1, 3], labels=[1, 2])
    with pytest.raises(ValueError, match="no items"):
        cohen_kappa([], [])


# Fleiss' published example: 10 subjects, 14 raters, 5 categories; P-bar = 0.378, P-e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_published_example() -> None:
    counts = [{c: n for c, n in enumerate(row) if n} for row in FLEISS_TABLE]
    assert fleiss_kappa_counts(counts, 14) == pytest.approx(0.2099, abs=5e-4)
    ratings = [[c for c, n in enumerate(row) for _ in range(n)] for row in FLEISS_TABLE]
    assert fleiss_kappa(ratings) == pytest.approx(fleiss_kappa_counts(counts, 14))


def test_fleiss_kappa_small_example_by_hand() -> None:
    # 3 items, 3 raters: (A,A,A), (A,A,B), (B,B,B).
    # P_i = (9-3)/6 = 1, (5-3)/6 = 1/3, 1 → P-bar = 7/9. p_A = 5/9, p_B = 4/9 → P-e = 41/81.
    # kappa = (7/9 - 41/81) / (1 - 41/81) = (22/81) / (40/81) = 0.55.
    assert fleiss_kappa([["A", "A", "A"], ["A", "A", "B"], ["B", "B", "B"]]) == pytest.approx(0.55)


def test_fleiss_kappa_needs_equal_raters() -> None:
    with pytest.raises(ValueError, match="item 1 has 2 ratings"):
        fleiss_kappa([["A", "B", "A"], ["A", "B"]])


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=30))
def test_two_rater_fleiss_and_cohen_agree_on_identical_raters(ratings: list[str]) -> None:
    assert cohen_kappa(ratings, ratings) == pytest.approx(1.0)
    assert fleiss_kappa([[r, r] for r in ratings]) == pytest.approx(1.0)


@given(
    st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.sampled_from([0, 1, 2])), min_size=1, max_size=40),
)
def test_kappa_is_at_most_one_and_symmetric(pairs: list[tuple[int, int]]) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    k = cohen_kappa(a, b, labels=[0, 1, 2])
    assert k <= 1.0 + 1e-12
    assert k == pytest.approx(cohen_kappa(b, a, labels=[0, 1, 2]))


def test_score_spread_by_hand() -> None:
    scores = {
        "wang": {"c1": 80, "c2": 60, "c3": 90},
        "li": {"c1": 70, "c2": 60},
        "zhao": {"c1": 90, "c2": 90},
    }
    s = score_spread(scores)
    # c3 has one score only and is left out. c1: 80,70,90 → range 20, mean 80, std sqrt(200/3);
    # c2: 60,60,90 → range 30, mean 70, std sqrt(600/3).
    assert s.interactions == 2
    assert s.mean_range == pytest.approx(25)
    assert s.max_range == pytest.approx(30)
    assert s.mean_std == pytest.approx(((200 / 3) ** 0.5 + (600 / 3) ** 0.5) / 2)
    # Bias: wang (0 − 10)/2 = −5, li (−10 − 10)/2 = −10, zhao (10 + 20)/2 = 15.
    assert s.rater_bias == pytest.approx({"li": -10.0, "wang": -5.0, "zhao": 15.0})
    assert s.widest == ("c2", "c1")


def test_score_spread_needs_shared_interactions() -> None:
    with pytest.raises(ValueError, match="two or more"):
        score_spread({"a": {"x": 1.0}, "b": {"y": 2.0}})


def test_machine_human_agreement_counts_false_alarms_and_misses() -> None:
    machine = {
        "c1": {"identity_verified": True, "tone": False},
        "c2": {"identity_verified": False, "tone": True},
        "c3": {"identity_verified": True, "tone": True},
        "c4": {"identity_verified": False, "tone": None},
    }
    human = {
        "c1": {"identity_verified": True, "tone": True},
        "c2": {"identity_verified": False, "tone": True},
        "c3": {"identity_verified": False, "tone": True},
        "c4": {"identity_verified": False, "tone": False},
    }
    out = machine_human_agreement(machine, human)
    iv = out["identity_verified"]
    assert (iv.n, iv.machine_pass_human_fail, iv.machine_fail_human_pass) == (4, 1, 0)
    assert iv.agreement == pytest.approx(0.75)
    # Machine (T,F,T,F) vs human (T,F,F,F): p_o = .75; p_e = .5*.25 + .5*.75 = .5; kappa = .5.
    assert iv.kappa == pytest.approx(0.5)
    tone = out["tone"]  # c4 undecided by the machine: left out
    assert (tone.n, tone.machine_fail_human_pass) == (3, 1)
