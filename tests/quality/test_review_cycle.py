"""The QC review cycle end to end (R24, R25): machine score → sample → inspector override → feedback →
appeal → arbitration, with deadlines passing on an injected clock and alerts raised and resolved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from arrears.quality import review
from arrears.quality.models import QcAlert, QcInteraction, QcItemResult, QcReview, QcReviewDecision
from arrears.quality.scorecards import load_scorecard
from arrears.security import audit
from arrears.security.models import AuditEvent
from tests.conftest import FIXED_NOW
from tests.quality.review_world import GOOD_ZH, NO_RANDOM, THREAT_ZH, QcWorld, build_qc_world, line

T0 = FIXED_NOW
DAY = timedelta(days=1)


@pytest.fixture
def qw(ctx: AppContext) -> QcWorld:
    return build_qc_world(ctx)


def _machine(s, interaction_id: int) -> dict[str, bool | None]:  # type: ignore[no-untyped-def]
    return {
        r.item: r.passed
        for r in s.scalars(select(QcItemResult).where(QcItemResult.interaction_id == interaction_id))
    }


def _expected_score(decisions: dict[str, bool | None], card: str = "default-zh") -> float:
    """The scorecard's rule, written out: 0 on a failed fatal item, else passed weight ÷ decided weight."""
    sc = load_scorecard(card)
    if any(decisions.get(i.id) is False for i in sc.items if i.fatal):
        return 0.0
    decided = [i for i in sc.items if not i.fatal and decisions.get(i.id) is not None]
    return round(100 * sum(i.weight for i in decided if decisions[i.id]) / sum(i.weight for i in decided), 1)


def test_full_cycle_with_deadlines_and_alerts(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    case_a1 = w.cases["A1"]
    good, bad = qw.import_lines(
        [line("call-good", case_a1, T0 - 2 * DAY, GOOD_ZH), line("call-threat", case_a1, T0 - DAY, THREAT_ZH)]
    )
    # 1. The machine scored both on import, per item with evidence and confidence.
    with ctx.sessions() as s:
        threat = s.get(QcInteraction, bad)
        assert threat is not None and threat.fatal and threat.score == 0.0
        assert threat.collector_id == w.users["c_east"]  # the case holder
        machine = _machine(s, bad)
        assert machine["conduct_threat"] is False and machine["case_notes"] is None
        ev = s.scalar(
            select(QcItemResult).where(
                QcItemResult.interaction_id == bad, QcItemResult.item == "conduct_threat"
            )
        )
        assert ev is not None and ev.evidence and ev.evidence[0]["turn"] == 2 and 0 < ev.confidence <= 1
        assert "13812345678" not in str([r.evidence for r in s.scalars(select(QcItemResult))])  # scrubbed
        assert not s.get(QcInteraction, good).fatal  # type: ignore[union-attr]

    # 2. Sampling: with no random share only the fatal one goes to an inspector.
    with transaction(ctx.sessions) as s:
        rnd = review.run_round(s, qw.p("qc"), period_start=(T0 - 7 * DAY).date(), period_end=T0.date(),
                               now=T0, seed="r1", settings=NO_RANDOM)  # fmt: skip
        assert (rnd.considered, rnd.sampled) == (2, 1)
    with ctx.sessions() as s:
        rv = s.scalar(select(QcReview).where(QcReview.interaction_id == bad))
        assert rv is not None and rv.reason == "fatal" and rv.status == "pending"
        assert rv.review_due_at == T0 + 2 * DAY and rv.collector_id == w.users["c_east"]
        assert rv.inspector_id in {w.users["qc"], w.users["qc2"], w.users["qc_lead"]}
        review_id, inspector_id = rv.id, rv.inspector_id
    inspector = next(n for n in ("qc", "qc2", "qc_lead") if w.users[n] == inspector_id)

    # 3. The inspector misses the deadline: an alert is raised once, for the inspector.
    t1 = T0 + 3 * DAY
    with transaction(ctx.sessions) as s:
        alerts = review.overdue_items(s, qw.p("manager"), as_of=t1)
        assert [(a.kind, a.entity_id, a.owner_id) for a in alerts] == [
            ("review_overdue", review_id, inspector_id)
        ]
        assert alerts[0].overdue_hours == pytest.approx(24.0)
        raised, resolved = review.raise_alerts(s, "cli:qc", as_of=t1)
        assert len(raised) == 1 and resolved == []
        assert review.raise_alerts(s, "cli:qc", as_of=t1 + timedelta(hours=1)) == ([], [])  # once only
        # Collectors see no alert about an inspector's step.
        assert review.overdue_items(s, qw.p("c_east"), as_of=t1) == []

    # 4. The inspector confirms the threat, overturns the machine's disclosure finding, decides the
    #    manual item, and sends feedback. Another inspector may not take it; unknown items are refused.
    other = next(n for n in ("qc", "qc2") if n != inspector)
    with transaction(ctx.sessions) as s:
        if inspector != "qc_lead":
            with pytest.raises(Conflict):
                review.decide(s, qw.p(other), review_id, decisions={"case_notes": True}, feedback="x", now=t1)
        with pytest.raises(ValidationFailed, match="case_notes"):
            review.decide(s, qw.p(inspector), review_id, decisions={}, feedback="x", now=t1)
        with pytest.raises(ValidationFailed, match="no item"):
            review.decide(
                s,
                qw.p(inspector),
                review_id,
                decisions={"nope": True, "case_notes": True},
                feedback="x",
                now=t1,
            )
    machine_before = {}
    with ctx.sessions() as s:
        machine_before = _machine(s, bad)
    decisions = {"conduct_disclosure": True, "case_notes": False}
    with transaction(ctx.sessions) as s:
        rv = review.decide(s, qw.p(inspector), review_id, decisions=decisions,
                           comments={"conduct_disclosure": "说的是通讯录，但未实际联系第三方"},
                           feedback="威胁人身安全属严重违规，请重新学习合规话术。", now=t1)  # fmt: skip
        assert rv.status == "awaiting_response" and rv.response_due_at == t1 + 3 * DAY
        standing = {**machine_before, **decisions}
        assert (
            rv.overturned
            == sum(
                1 for k, v in decisions.items() if machine_before[k] is not None and machine_before[k] != v
            )
            == 1
        )
        assert rv.fatal_after is True and rv.score_after == _expected_score(standing) == 0.0
        stored = {
            d.item: d
            for d in s.scalars(select(QcReviewDecision).where(QcReviewDecision.review_id == review_id))
        }
        assert set(stored) == set(machine_before)  # every finding confirmed or overturned, on record
        assert (
            stored["conduct_disclosure"].machine_passed is False
            and stored["conduct_disclosure"].passed is True
        )
        assert stored["conduct_threat"].passed is False  # confirmed
        with pytest.raises(Conflict):
            review.decide(
                s, qw.p(inspector), review_id, decisions={"case_notes": True}, feedback="again", now=t1
            )
        _, resolved = review.raise_alerts(s, "cli:qc", as_of=t1 + timedelta(minutes=1))
        assert len(resolved) == 1  # the inspector's alert is resolved once the step is done

    # 5. Feedback reaches the collector (and only them): c_east appeals two findings within the window.
    t2 = t1 + timedelta(hours=5)
    with transaction(ctx.sessions) as s:
        mine, total = review.list_reviews(s, qw.p("c_east"))
        assert total == 1 and mine[0]["feedback"].startswith("威胁")
        assert review.list_reviews(s, qw.p("c_west"))[1] == 0
        with pytest.raises(NotFound):
            review.respond(s, qw.p("c_east2"), review_id, appeal=False, now=t2)  # same team, not theirs
        with pytest.raises(NotFound):
            review.load_review(s, qw.p("c_west"), review_id)
        assert review.load_review(s, qw.p("lead_east"), review_id).id == review_id  # the team lead reads it
        with pytest.raises(ValidationFailed, match="only findings"):
            review.respond(
                s,
                qw.p("c_east"),
                review_id,
                appeal=True,
                reason="r",
                items=["identification", "tone"],
                now=t2,
            )
        rv = review.respond(s, qw.p("c_east"), review_id, appeal=True, items=["conduct_threat", "case_notes"],
                            reason="客户先辱骂我，我只是转述公司流程，并没有威胁。", now=t2)  # fmt: skip
        assert rv.status == "appealed" and rv.arbitration_due_at == t2 + 3 * DAY
        with pytest.raises(Conflict):
            review.respond(s, qw.p("c_east"), review_id, appeal=False, now=t2)

    # 6. Nobody arbitrates in time: the arbitration alert is raised.
    t3 = t2 + 4 * DAY
    with transaction(ctx.sessions) as s:
        raised, _ = review.raise_alerts(s, "cli:qc", as_of=t3)
        assert [(a.kind, a.entity_id) for a in raised] == [("arbitration_overdue", review_id)]
        assert [a.kind for a in review.overdue_items(s, qw.p("qc"), as_of=t3)] == ["arbitration_overdue"]

    # 7. Arbitration: a plain inspector may not; the reviewing inspector may not; the QC lead does.
    arbiter = "qc_lead" if inspector != "qc_lead" else "manager"
    with transaction(ctx.sessions) as s:
        with pytest.raises(Forbidden):
            review.arbitrate(
                s,
                qw.p(other),
                review_id,
                decisions={"conduct_threat": False, "case_notes": True},
                note="n",
                now=t3,
            )
        with pytest.raises(Forbidden):
            review.arbitrate(s, qw.p("lead_east"), review_id, decisions={}, note="n", now=t3)
        with pytest.raises(ValidationFailed, match="missing case_notes"):
            review.arbitrate(
                s, qw.p(arbiter), review_id, decisions={"conduct_threat": False}, note="n", now=t3
            )
        rv = review.arbitrate(s, qw.p(arbiter), review_id, decisions={"conduct_threat": False, "case_notes": True},
                              note="录音证实存在人身威胁；记录项已补全。", now=t3)  # fmt: skip
        assert rv.status == "arbitrated" and rv.arbitration_outcome == "partly_overturned"
        final = {**machine_before, **decisions, "case_notes": True}
        assert rv.final_fatal is True and rv.final_score == _expected_score(final)
        interaction = s.get(QcInteraction, bad)
        assert interaction is not None and interaction.final_fatal is True
        assert review.standing_decisions(s, rv)["case_notes"] is True
        _, resolved = review.raise_alerts(s, "cli:qc", as_of=t3 + timedelta(minutes=1))
        assert len(resolved) == 1
    with ctx.sessions() as s:
        assert s.scalar(select(QcAlert).where(QcAlert.resolved_at.is_(None))) is None
        actions = [
            a for a in s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "qc_review", AuditEvent.entity_id == str(review_id)).order_by(AuditEvent.id))
        ]  # fmt: skip
        assert actions == ["qc.review.open", "qc.review.decide", "qc.review.appeal", "qc.review.arbitrate"]
        kinds = s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("qc.alert.%"))).all()
        assert sorted(kinds) == ["qc.alert.raise", "qc.alert.raise", "qc.alert.resolve", "qc.alert.resolve"]
        assert audit.verify(s).ok


def test_unanswered_feedback_is_overdue_then_deemed_accepted_and_a_late_appeal_is_refused(
    qw: QcWorld,
) -> None:
    ctx, w = qw.ctx, qw.w
    (bad,) = qw.import_lines([line("call-t2", w.cases["A1"], T0 - DAY, THREAT_ZH)])
    with transaction(ctx.sessions) as s:
        review.run_round(s, qw.p("manager"), period_start=(T0 - 2 * DAY).date(), period_end=T0.date(), now=T0,
                         seed="x", settings=NO_RANDOM)  # fmt: skip
        rv = s.scalar(select(QcReview).where(QcReview.interaction_id == bad))
        assert rv is not None
        inspector = next(n for n in ("qc", "qc2", "qc_lead") if w.users[n] == rv.inspector_id)
        review.decide(
            s, qw.p(inspector), rv.id, decisions={"case_notes": True}, feedback="请注意用语。", now=T0
        )
        review_id = rv.id
    late = T0 + 3 * DAY + timedelta(seconds=1)
    with transaction(ctx.sessions) as s:
        alerts = review.overdue_items(s, qw.p("c_east"), as_of=late)  # the collector sees their own
        assert [(a.kind, a.owner_id) for a in alerts] == [("response_overdue", w.users["c_east"])]
        assert review.overdue_items(s, qw.p("c_west"), as_of=late) == []
        assert [a.kind for a in review.overdue_items(s, qw.p("lead_east"), as_of=late)] == [
            "response_overdue"
        ]
        with pytest.raises(Conflict, match="appeal window"):
            review.respond(s, qw.p("c_east"), review_id, appeal=True, reason="太晚了", now=late)
        assert review.close_unanswered(s, "cli:qc", as_of=late) == [review_id]
        rv = s.get(QcReview, review_id)
        assert rv is not None and rv.status == "deemed_accepted" and rv.final_fatal is True


def test_acknowledgement_closes_with_the_inspectors_result(qw: QcWorld) -> None:
    ctx, w = qw.ctx, qw.w
    (bad,) = qw.import_lines([line("call-t3", w.cases["A1"], T0 - DAY, THREAT_ZH)])
    with transaction(ctx.sessions) as s:
        review.run_round(s, qw.p("qc"), period_start=(T0 - DAY).date(), period_end=T0.date(), now=T0, seed="s",
                         settings=NO_RANDOM)  # fmt: skip
        rv = s.scalar(select(QcReview).where(QcReview.interaction_id == bad))
        assert rv is not None
        inspector = next(n for n in ("qc", "qc2", "qc_lead") if w.users[n] == rv.inspector_id)
        # The inspector overturns every conduct finding: the interaction is no longer fatal.
        machine = _machine(s, bad)
        overturn = {k: True for k, v in machine.items() if k.startswith("conduct_") and v is False}
        review.decide(
            s, qw.p(inspector), rv.id, decisions={**overturn, "case_notes": True}, feedback="ok", now=T0
        )
        rv = review.respond(s, qw.p("c_east"), rv.id, appeal=False, now=T0 + DAY)
        assert rv.status == "acknowledged" and rv.final_fatal is False
        assert rv.final_score == _expected_score({**machine, **overturn, "case_notes": True}) > 0
