"""Calibration (R24, R26): two inspectors score the same interactions blind; agreement between them and
between the machine and each of them is measured once the session closes. Figures worked by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arrears.quality import review
from arrears.quality.models import QcItemResult
from arrears.quality.scorecards import load_scorecard
from tests.conftest import FIXED_NOW
from tests.quality.review_world import GOOD_ZH, THREAT_ZH, QcWorld, build_qc_world, line

T0 = FIXED_NOW
ITEMS = ("identification", "empathy", "solution_offered", "tone")
# Inspector A and B on interactions 1 and 2, items in ITEMS order (True = passed).
A = {1: (True, True, False, True), 2: (True, False, False, True)}
B = {1: (True, False, False, True), 2: (True, False, True, True)}


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def _cohen(xs: list[bool], ys: list[bool]) -> float:
    """Cohen's kappa, written out: (p_o − p_e) ÷ (1 − p_e)."""
    n = len(xs)
    p_o = sum(x == y for x, y in zip(xs, ys, strict=True)) / n
    p_e = (sum(xs) / n) * (sum(ys) / n) + (1 - sum(xs) / n) * (1 - sum(ys) / n)
    return (p_o - p_e) / (1 - p_e)


def test_blind_double_scoring(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    ids = qw.import_lines(
        [line("cal-1", w.cases["A1"], T0, GOOD_ZH), line("cal-2", w.cases["A2"], T0, THREAT_ZH)]
    )
    with transaction(ctx.sessions) as s:
        with pytest.raises(Forbidden):  # a plain inspector does not open sessions
            review.open_calibration(
                s, qw.p("qc"), name="x", interaction_ids=ids, inspectors=["qc", "qc2"], now=T0
            )
        with pytest.raises(ValidationFailed, match="not a QC inspector"):
            review.open_calibration(
                s, qw.p("qc_lead"), name="x", interaction_ids=ids, inspectors=["qc", "c_east"], now=T0
            )
        cal = review.open_calibration(
            s, qw.p("qc_lead"), name="十一月校准", interaction_ids=ids, inspectors=["qc", "qc2"], now=T0
        )
        cal_id = cal.id
        assert cal.due_at == T0 + timedelta(days=7)
    with transaction(ctx.sessions) as s:
        task = review.calibration_task(s, qw.p("qc"), cal_id, keys=ctx.keys, now=T0)
        # Blind: the transcript and the items, no machine decision, nobody else's scores.
        first = task["interactions"][0]
        assert first["turns"] and all(set(i) == {"item", "title", "fatal_item"} for i in first["items"])
        assert "score" not in first and first["my_decisions"] is None
        with pytest.raises(NotFound):
            review.calibration_task(s, qw.p("qc_lead"), cal_id, keys=ctx.keys, now=T0)  # not in this session
    for who, table in (("qc", A), ("qc2", B)):
        with transaction(ctx.sessions) as s:
            for n, iid in enumerate(ids, 1):
                review.submit_calibration(
                    s, qw.p(who), cal_id, iid, decisions=dict(zip(ITEMS, table[n], strict=True)), now=T0
                )
    with transaction(ctx.sessions) as s:
        with pytest.raises(Conflict, match="final"):
            review.submit_calibration(s, qw.p("qc"), cal_id, ids[0], decisions={"tone": False}, now=T0)
        with pytest.raises(Conflict, match="still open"):
            review.calibration_report(s, qw.p("manager"), cal_id)
        # Still open and overdue: an alert for the session.
        assert [a.kind for a in review.overdue_items(s, qw.p("qc"), as_of=T0 + timedelta(days=8))] == [
            "calibration_overdue"
        ]
        review.close_calibration(s, qw.p("qc_lead"), cal_id, now=T0 + timedelta(days=1))
        with pytest.raises(Conflict):
            review.submit_calibration(s, qw.p("qc2"), cal_id, ids[0], decisions={"tone": True}, now=T0)
    with ctx.sessions() as s:
        report = review.calibration_report(s, qw.p("compliance"), cal_id)
        machine = {
            (r.interaction_id, r.item): r.passed
            for r in s.scalars(select(QcItemResult).where(QcItemResult.interaction_id.in_(ids)))
        }
    # Between inspectors: 8 units; agree on 6 → p_o = 0.75; A passes 5/8, B 5/8 → p_e = 34/64;
    # kappa = (0.75 − 0.53125) ÷ 0.46875 = 7/15. Fleiss with two raters and equal margins: the same.
    assert report.units == 8 and report.percent_agreement == 0.75
    assert report.pairwise == [
        {"a": "qc", "b": "qc2", "units": 8, "agreement": 0.75, "kappa": round(7 / 15, 3)}
    ]
    assert report.fleiss_kappa == pytest.approx(7 / 15, abs=1e-3)
    # Scores from the scorecard's weights: passed weight ÷ decided weight over the four items.
    weights = {i.id: i.weight for i in load_scorecard("default-zh").items}

    def score(row: tuple[bool, ...]) -> float:
        return round(
            100
            * sum(weights[i] for i, p in zip(ITEMS, row, strict=True) if p)
            / sum(weights[i] for i in ITEMS),
            1,
        )

    assert report.scores == {
        "qc": {str(ids[0]): score(A[1]), str(ids[1]): score(A[2])},
        "qc2": {str(ids[0]): score(B[1]), str(ids[1]): score(B[2])},
    }
    ranges = [abs(score(A[n]) - score(B[n])) for n in (1, 2)]
    assert report.spread is not None and report.spread["mean_range"] == pytest.approx(
        sum(ranges) / 2, abs=0.01
    )
    assert report.spread["max_range"] == pytest.approx(max(ranges), abs=0.01)
    # Machine against each inspector, over the units the machine decided.
    for who, table in (("qc", A), ("qc2", B)):
        pairs = [
            (machine[(iid, item)], table[n][k])
            for n, iid in enumerate(ids, 1)
            for k, item in enumerate(ITEMS)
            if machine[(iid, item)] is not None
        ]
        got = next(m for m in report.machine_vs_inspector if m["inspector"] == who)
        assert got["units"] == len(pairs)
        assert got["agreement"] == pytest.approx(sum(m == h for m, h in pairs) / len(pairs), abs=1e-3)
        ms, hs = [bool(m) for m, _ in pairs], [h for _, h in pairs]
        if 0 < sum(ms) < len(ms) or 0 < sum(hs) < len(hs):
            assert got["kappa"] == pytest.approx(_cohen(ms, hs), abs=1e-3)
    # Per item, machine vs the inspectors' majority: ties (A ≠ B) are left out.
    per_item = {p["item"]: p for p in report.per_item}
    assert per_item["identification"]["units"] == 2  # both agree on both interactions
    assert per_item["empathy"]["units"] == 1  # interaction 1 is a tie
