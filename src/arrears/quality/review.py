"""The QC review workflow (R24, R25): sampling → inspector evaluation → feedback → the collector's
acknowledgement or appeal → arbitration by a QC lead, each step with a time limit and overdue alerts;
inspectors' notes; calibration sessions (R24, R26).

Who arbitrates: a `qc_inspector` marked as QC lead (`qc_staff.qc_lead`, set by a manager with
`arrears qc staff`) or a `manager` — never the inspector who made the decision under appeal. Team leads
do not arbitrate: they manage the collector whose work is judged.

Every function takes the acting principal, checks `authorize` (reviews about other collectors'
work are `NotFound` for collectors and team leads outside the team), writes an audit event for each
change in the caller's transaction and leaves committing to the caller. Times are UTC-aware; deadlines
are `now + N days` (arrears.quality.qc_settings).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict, Forbidden, ValidationFailed
from arrears.quality.autoscore import ItemResult, compute_score
from arrears.quality.calibration import (
    cohen_kappa,
    fleiss_kappa,
    machine_human_agreement,
    percent_agreement,
    score_spread,
)
from arrears.quality.interactions import (
    QC_OVERSIGHT,
    collector_scope,
    decrypt_content,
    item_rows,
    usernames,
)
from arrears.quality.models import (
    CLOSED_REVIEW_STATUSES,
    NOTE_KINDS,
    Complaint,
    QcAlert,
    QcCalibration,
    QcCalibrationItem,
    QcCalibrationScore,
    QcInteraction,
    QcItemResult,
    QcNote,
    QcReview,
    QcReviewDecision,
    QcRound,
    QcStaff,
)
from arrears.quality.qc_settings import QCSettings, get_qc_settings
from arrears.quality.sampling import Candidate, SamplingPolicy, select_for_review
from arrears.security import audit
from arrears.security.models import User
from arrears.security.permissions import allowed, authorize, not_found
from arrears.security.pii import KeyRing
from arrears.security.principal import Principal

MAX_TEXT = 4000


def _text(value: str | None, name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    v = (value or "").strip()
    if not v:
        if required:
            raise ValidationFailed(f"{name}: is required")
        return None
    if len(v) > limit:
        raise ValidationFailed(f"{name}: longer than {limit} characters")
    return v


# --------------------------------------------------------------------------------------------- staff


def hired_on(session: Session, user_ids: Iterable[int]) -> dict[int, date]:
    """Each user's hiring date: the QC staff record's, else the day the account was created."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    out = {
        uid: created.date()
        for uid, created in session.execute(select(User.id, User.created_at).where(User.id.in_(ids)))
    }
    for uid, hired in session.execute(
        select(QcStaff.user_id, QcStaff.hired_on).where(QcStaff.user_id.in_(ids))
    ):
        if hired is not None:
            out[uid] = hired
    return out


def is_qc_lead(session: Session, principal: Principal) -> bool:
    if principal.is_system or principal.role == "manager":
        return True
    if principal.role != "qc_inspector" or principal.user_id is None:
        return False
    return bool(session.scalar(select(QcStaff.qc_lead).where(QcStaff.user_id == principal.user_id)))


def set_staff(
    session: Session,
    principal: Principal,
    username: str,
    *,
    qc_lead: bool | None = None,
    hired: date | None = None,
    now: datetime,
) -> QcStaff:
    """Mark a QC lead, or record a hiring date (who counts as new staff for sampling)."""
    authorize(principal, "qc.staff.manage")
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise ValidationFailed(f"user {username!r} not found")
    if qc_lead and user.role != "qc_inspector":
        raise ValidationFailed(f"only a qc_inspector can be a QC lead; {user.username} is {user.role}")
    row = session.get(QcStaff, user.id)
    before = None if row is None else {"qc_lead": row.qc_lead, "hired_on": row.hired_on}
    if row is None:
        row = QcStaff(user_id=user.id, qc_lead=False, updated_at=now, updated_by=principal.username)
        session.add(row)
    if qc_lead is not None:
        row.qc_lead = qc_lead
    if hired is not None:
        row.hired_on = hired
    row.updated_at, row.updated_by = now, principal.username[:120]
    session.flush()
    audit.record(
        session, principal, "qc.staff.set", "user", user.id, before=before,
        after={"qc_lead": row.qc_lead, "hired_on": row.hired_on}, at=now,
    )  # fmt: skip
    return row


# --------------------------------------------------------------------------------------------- sampling


def policy_from(settings: QCSettings) -> SamplingPolicy:
    return SamplingPolicy(
        low_score=settings.low_score,
        low_confidence=settings.low_confidence,
        random_share=settings.random_share,
        new_staff_share=settings.new_staff_share,
        min_random_per_collector=settings.min_random_per_collector,
    )


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _inspector_loads(session: Session) -> dict[int, int]:
    inspectors = session.scalars(
        select(User.id).where(User.role == "qc_inspector", User.active.is_(True)).order_by(User.id)
    ).all()
    loads = dict.fromkeys(inspectors, 0)
    for uid, n in session.execute(
        select(QcReview.inspector_id, func.count())
        .where(QcReview.status == "pending")
        .group_by(QcReview.inspector_id)
    ):
        if uid in loads:
            loads[uid] = int(n)
    return loads


def _next_inspector(loads: dict[int, int], exclude: int | None = None) -> int | None:
    choices = [(n, uid) for uid, n in loads.items() if uid != exclude]
    if not choices:
        return None
    _, uid = min(choices)
    loads[uid] += 1
    return uid


def open_review(
    session: Session,
    actor: Principal | str,
    interaction: QcInteraction,
    *,
    reason: str,
    now: datetime,
    round_id: int | None = None,
    inspector_id: int | None = None,
    settings: QCSettings | None = None,
) -> QcReview:
    """Send one interaction to an inspector (a sampled one, or one an upheld complaint names)."""
    s = settings or get_qc_settings()
    review = QcReview(
        interaction_id=interaction.id,
        round_id=round_id,
        reason=reason,
        status="pending",
        collector_id=interaction.collector_id,
        inspector_id=inspector_id,
        sampled_at=now,
        review_due_at=now + timedelta(days=s.review_days),
    )
    session.add(review)
    session.flush()
    audit.record(
        session, actor, "qc.review.open", "qc_review", review.id,
        after={"interaction_id": interaction.id, "reason": reason, "round_id": round_id,
               "inspector_id": inspector_id, "review_due_at": review.review_due_at},
        at=now,
    )  # fmt: skip
    return review


def run_round(
    session: Session,
    principal: Principal,
    *,
    period_start: date,
    period_end: date,
    now: datetime,
    seed: str | None = None,
    name: str | None = None,
    settings: QCSettings | None = None,
) -> QcRound:
    """A QC round: every interaction of the period not yet reviewed is a candidate; the fatal, low and
    uncertain ones and a random share per collector (higher for new staff) go to inspectors."""  # R24
    authorize(principal, "qc.sample")
    if period_end < period_start:
        raise ValidationFailed("period: the end is before the start")
    s = settings or get_qc_settings()
    policy = policy_from(s)
    reviewed = select(QcReview.interaction_id)
    rows = session.scalars(
        select(QcInteraction)
        .where(
            QcInteraction.occurred_at >= _day_start(period_start),
            QcInteraction.occurred_at < _day_start(period_end + timedelta(days=1)),
            QcInteraction.id.not_in(reviewed),
        )
        .order_by(QcInteraction.id)
    ).all()
    hired = hired_on(session, [r.collector_id for r in rows if r.collector_id is not None])
    new_since = now.date() - timedelta(days=s.new_staff_days)
    candidates = [
        Candidate(
            interaction_id=r.id,
            collector_id=r.collector_id,
            score=r.score,
            fatal=r.fatal,
            pass_mark=r.pass_mark,
            undecided=r.undecided_items,
            min_confidence=r.min_confidence,
            new_staff=r.collector_id is not None and hired.get(r.collector_id, date.min) >= new_since,
        )
        for r in rows
    ]
    seed = seed or secrets.token_hex(8)
    picks = select_for_review(candidates, policy, seed)
    qc_round = QcRound(
        name=(name or f"{period_start.isoformat()}..{period_end.isoformat()}")[:120],
        period_start=period_start,
        period_end=period_end,
        seed=seed[:64],
        policy=_policy_dict(policy),
        considered=len(candidates),
        sampled=len(picks),
        created_at=now,
        created_by=principal.username[:120],
    )
    session.add(qc_round)
    session.flush()
    audit.record(
        session, principal, "qc.round.create", "qc_round", qc_round.id,
        after={"period": [period_start, period_end], "considered": len(candidates), "sampled": len(picks),
               "seed": seed, "policy": qc_round.policy},
        at=now,
    )  # fmt: skip
    by_id = {r.id: r for r in rows}
    loads = _inspector_loads(session)
    for pick in picks:
        interaction = by_id[pick.interaction_id]
        open_review(
            session, principal, interaction, reason=pick.reason, now=now, round_id=qc_round.id,
            inspector_id=_next_inspector(loads), settings=s,
        )  # fmt: skip
    return qc_round


def _policy_dict(policy: SamplingPolicy) -> dict[str, Any]:
    return {
        "low_score": policy.low_score,
        "low_confidence": policy.low_confidence,
        "random_share": policy.random_share,
        "new_staff_share": policy.new_staff_share,
        "min_random_per_collector": policy.min_random_per_collector,
    }


# --------------------------------------------------------------------------------------------- reading


def load_review(
    session: Session, principal: Principal, review_id: int, action: str = "qc.reviews.read"
) -> QcReview:
    authorize(principal, action)
    review = session.scalar(
        select(QcReview).where(QcReview.id == review_id, collector_scope(principal, QcReview.collector_id))
    )
    if review is None:
        raise not_found("review", review_id)
    return review


def _decisions(session: Session, review_id: int) -> dict[str, dict[str, QcReviewDecision]]:
    out: dict[str, dict[str, QcReviewDecision]] = {}
    for d in session.scalars(select(QcReviewDecision).where(QcReviewDecision.review_id == review_id)):
        out.setdefault(d.stage, {})[d.item] = d
    return out


def standing_decisions(session: Session, review: QcReview) -> dict[str, bool | None]:
    """Item → the decision that stands now: arbitration over inspector over machine."""
    machine = {i.item: i.passed for i in item_rows(session, review.interaction_id)}
    stages = _decisions(session, review.id)
    out: dict[str, bool | None] = dict(machine)
    for stage in ("inspector", "arbitration"):
        for item, d in stages.get(stage, {}).items():
            out[item] = d.passed
    return out


def _item_results(rows: Sequence[QcItemResult], decisions: Mapping[str, bool | None]) -> list[ItemResult]:
    return [
        ItemResult(
            r.item,
            r.title,
            decisions.get(r.item, r.passed),
            r.fatal_item,
            r.weight,
            r.confidence,
            r.reason,
            (),
            "machine",
            r.manual,
        )
        for r in rows
    ]


def _score(
    session: Session, interaction: QcInteraction, decisions: Mapping[str, bool | None]
) -> tuple[float, bool]:
    score, fatal, _ = compute_score(
        _item_results(item_rows(session, interaction.id), decisions), interaction.pass_mark
    )
    return score, fatal


def review_view(
    review: QcReview, names: Mapping[int, str], interaction: QcInteraction | None = None
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": review.id,
        "interaction_id": review.interaction_id,
        "round_id": review.round_id,
        "reason": review.reason,
        "status": review.status,
        "collector": names.get(review.collector_id) if review.collector_id else None,
        "inspector": names.get(review.inspector_id) if review.inspector_id else None,
        "arbiter": names.get(review.arbiter_id) if review.arbiter_id else None,
        "sampled_at": review.sampled_at,
        "review_due_at": review.review_due_at,
        "reviewed_at": review.reviewed_at,
        "score_after": review.score_after,
        "fatal_after": review.fatal_after,
        "overturned": review.overturned,
        "feedback": review.feedback,
        "response_due_at": review.response_due_at,
        "responded_at": review.responded_at,
        "appeal_reason": review.appeal_reason,
        "appeal_items": review.appeal_items,
        "arbitration_due_at": review.arbitration_due_at,
        "arbitrated_at": review.arbitrated_at,
        "arbitration_outcome": review.arbitration_outcome,
        "arbitration_note": review.arbitration_note,
        "final_score": review.final_score,
        "final_fatal": review.final_fatal,
        "closed_at": review.closed_at,
    }
    if interaction is not None:
        d["machine_score"] = interaction.score
        d["machine_fatal"] = interaction.fatal
        d["channel"] = interaction.channel
        d["occurred_at"] = interaction.occurred_at
        d["case_id"] = interaction.case_id
    return d


def review_detail(
    session: Session, principal: Principal, review_id: int, *, keys: KeyRing, now: datetime
) -> dict[str, Any]:
    """The review with the transcript, each item's machine finding and the decisions made since."""
    review = load_review(session, principal, review_id)
    interaction = session.get(QcInteraction, review.interaction_id)
    assert interaction is not None
    names = usernames(session, [review.collector_id, review.inspector_id, review.arbiter_id])
    stages = _decisions(session, review.id)
    items = []
    for r in item_rows(session, interaction.id):
        insp = stages.get("inspector", {}).get(r.item)
        arb = stages.get("arbitration", {}).get(r.item)
        items.append(
            {
                "item": r.item,
                "title": r.title,
                "fatal_item": r.fatal_item,
                "weight": r.weight,
                "manual": r.manual,
                "machine_passed": r.passed,
                "confidence": r.confidence,
                "reason": r.reason,
                "evidence": r.evidence or [],
                "inspector_passed": insp.passed if insp else None,
                "inspector_comment": insp.comment if insp else None,
                "arbitration_passed": arb.passed if arb else None,
                "arbitration_comment": arb.comment if arb else None,
            }
        )
    content = decrypt_content(interaction, keys)
    audit.record(session, principal, "qc.interaction.read", "qc_interaction", interaction.id, at=now)
    return {
        **review_view(review, names, interaction),
        "turns": content.get("turns", []),
        "subject": content.get("subject"),
        "language": interaction.language,
        "items": items,
        "notes": [
            {"kind": n.kind, "text": n.text, "author": n.author, "created_at": n.created_at}
            for n in session.scalars(select(QcNote).where(QcNote.review_id == review.id).order_by(QcNote.id))
        ]
        if principal.role in QC_OVERSIGHT or principal.is_system or principal.role == "team_lead"
        else [],
    }


def list_reviews(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    mine: bool = False,
    round_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Reviews in scope, soonest deadline first. `mine`: an inspector's own worklist, a collector's own
    feedback (collectors only ever see their own)."""
    authorize(principal, "qc.reviews.read")
    where: list[Any] = [collector_scope(principal, QcReview.collector_id)]
    if status is not None:
        where.append(QcReview.status == status)
    if round_id is not None:
        where.append(QcReview.round_id == round_id)
    if mine and principal.user_id is not None:
        where.append(
            QcReview.inspector_id == principal.user_id
            if principal.role == "qc_inspector"
            else QcReview.collector_id == principal.user_id
        )
    if principal.role in ("collector", "agency"):
        where.append(
            QcReview.status != "pending"
        )  # feedback reaches the collector once the inspector has decided
    total = int(session.scalar(select(func.count()).select_from(QcReview).where(*where)) or 0)
    rows = session.execute(
        select(QcReview, QcInteraction)
        .join(QcInteraction, QcInteraction.id == QcReview.interaction_id)
        .where(*where)
        .order_by(QcReview.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    names = usernames(session, [x for r, _ in rows for x in (r.collector_id, r.inspector_id, r.arbiter_id)])
    return [review_view(r, names, i) for r, i in rows], total


# --------------------------------------------------------------------------------------------- inspector


def decide(
    session: Session,
    principal: Principal,
    review_id: int,
    *,
    decisions: Mapping[str, bool],
    feedback: str,
    comments: Mapping[str, str] | None = None,
    now: datetime,
    settings: QCSettings | None = None,
) -> QcReview:
    """The inspector confirms or overturns each machine finding (items not named are confirmed), decides
    the items the machine left open, and sends feedback to the collector, who has `response_days` to
    acknowledge or appeal."""  # R24
    s = settings or get_qc_settings()
    review = load_review(session, principal, review_id, "qc.review")
    if review.status != "pending":
        raise Conflict(f"review {review.id} was already decided ({review.status})")
    if (
        review.inspector_id is not None
        and review.inspector_id != principal.user_id
        and not is_qc_lead(session, principal)
    ):
        raise Conflict(f"review {review.id} is assigned to another inspector")
    interaction = session.get(QcInteraction, review.interaction_id)
    assert interaction is not None
    rows = item_rows(session, interaction.id)
    known = {r.item for r in rows}
    comments = dict(comments or {})
    unknown = sorted((set(decisions) | set(comments)) - known)
    if unknown:
        raise ValidationFailed(f"decisions: no item {unknown[0]!r} in {interaction.scorecard}")
    open_items = [r.item for r in rows if r.passed is None and r.item not in decisions]
    if open_items:
        raise ValidationFailed(f"decisions: the machine left {', '.join(open_items)} open; decide them")
    text = _text(feedback, "feedback")
    overturned = 0
    final: dict[str, bool | None] = {}
    for r in rows:
        passed = decisions.get(r.item, r.passed)
        assert passed is not None
        if r.passed is not None and passed != r.passed:
            overturned += 1
        final[r.item] = passed
        comment = _text(comments.get(r.item), f"comment on {r.item}", required=False, limit=400)
        session.add(
            QcReviewDecision(
                review_id=review.id, item=r.item, stage="inspector", machine_passed=r.passed, passed=passed,
                comment=comment, decided_by=principal.user_id, decided_at=now,
            )
        )  # fmt: skip
    score, fatal = _score(session, interaction, final)
    before = {"status": review.status}
    review.inspector_id = review.inspector_id or principal.user_id
    review.reviewed_at = now
    review.score_after, review.fatal_after, review.overturned = score, fatal, overturned
    review.feedback = text
    review.status = "awaiting_response"
    review.response_due_at = now + timedelta(days=s.response_days)
    session.flush()
    audit.record(
        session, principal, "qc.review.decide", "qc_review", review.id, before=before,
        after={"status": review.status, "score": score, "fatal": fatal, "overturned": overturned,
               "changed": sorted(k for k, v in decisions.items() if v != next(r.passed for r in rows if r.item == k)),
               "response_due_at": review.response_due_at},
        at=now,
    )  # fmt: skip
    return review


# --------------------------------------------------------------------------------------------- collector


def _close(session: Session, review: QcReview, score: float, fatal: bool, status: str, now: datetime) -> None:
    review.status = status
    review.final_score, review.final_fatal, review.closed_at = score, fatal, now
    interaction = session.get(QcInteraction, review.interaction_id)
    assert interaction is not None
    interaction.final_score, interaction.final_fatal = score, fatal


def respond(
    session: Session,
    principal: Principal,
    review_id: int,
    *,
    appeal: bool,
    reason: str | None = None,
    items: Sequence[str] | None = None,
    now: datetime,
    settings: QCSettings | None = None,
) -> QcReview:
    """The collector acknowledges the feedback, or appeals the findings named in `items` (default: every
    item the inspector failed) within the response window."""  # R25
    s = settings or get_qc_settings()
    authorize(principal, "qc.respond")
    review = session.get(QcReview, review_id)
    if review is None or review.collector_id is None or review.collector_id != principal.user_id:
        raise not_found("review", review_id)  # only one's own feedback, whoever else may read it
    if review.status != "awaiting_response":
        raise Conflict(f"review {review.id} is not waiting for an answer ({review.status})")
    assert review.score_after is not None and review.fatal_after is not None
    before = {"status": review.status}
    review.responded_at = now
    if not appeal:
        _close(session, review, review.score_after, review.fatal_after, "acknowledged", now)
        session.flush()
        audit.record(session, principal, "qc.review.acknowledge", "qc_review", review.id, before=before,
                     after={"status": review.status, "late": bool(review.response_due_at and now > review.response_due_at)},
                     at=now)  # fmt: skip
        return review
    assert review.response_due_at is not None
    if now > review.response_due_at:
        raise Conflict(
            f"the appeal window of review {review.id} closed at {review.response_due_at.isoformat()}"
        )
    text = _text(reason, "reason")
    failed = sorted(
        item for item, d in _decisions(session, review.id).get("inspector", {}).items() if d.passed is False
    )
    chosen = sorted(set(items)) if items else failed
    if not chosen:
        raise ValidationFailed("items: no failed finding to appeal")
    wrong = [i for i in chosen if i not in failed]
    if wrong:
        raise ValidationFailed(
            f"items: {wrong[0]!r} was not failed by the inspector; only findings can be appealed"
        )
    review.appeal_reason = text
    review.appeal_items = chosen
    review.status = "appealed"
    review.arbitration_due_at = now + timedelta(days=s.arbitration_days)
    session.flush()
    audit.record(session, principal, "qc.review.appeal", "qc_review", review.id, before=before,
                 after={"status": review.status, "items": chosen, "arbitration_due_at": review.arbitration_due_at},
                 at=now)  # fmt: skip
    return review


# --------------------------------------------------------------------------------------------- arbitration


def arbitrate(
    session: Session,
    principal: Principal,
    review_id: int,
    *,
    decisions: Mapping[str, bool],
    note: str,
    now: datetime,
) -> QcReview:
    """A QC lead (or a manager) other than the reviewing inspector decides every appealed item; the
    result stands."""  # R25
    review = load_review(session, principal, review_id, "qc.arbitrate")
    if not is_qc_lead(session, principal):
        raise Forbidden("only a QC lead or a manager may arbitrate an appeal")
    if review.status != "appealed":
        raise Conflict(f"review {review.id} has no appeal waiting ({review.status})")
    if principal.user_id is not None and principal.user_id == review.inspector_id:
        raise Conflict("the inspector who made the decision cannot arbitrate the appeal against it")
    contested = set(review.appeal_items or [])
    missing = sorted(contested - set(decisions))
    extra = sorted(set(decisions) - contested)
    if missing:
        raise ValidationFailed(f"decisions: decide every appealed item; missing {', '.join(missing)}")
    if extra:
        raise ValidationFailed(f"decisions: {extra[0]!r} was not appealed")
    text = _text(note, "note")
    inspector = _decisions(session, review.id).get("inspector", {})
    changed = 0
    for item in sorted(contested):
        prior = inspector[item].passed
        if decisions[item] != prior:
            changed += 1
        session.add(
            QcReviewDecision(
                review_id=review.id, item=item, stage="arbitration", machine_passed=inspector[item].machine_passed,
                passed=decisions[item], comment=None, decided_by=principal.user_id, decided_at=now,
            )
        )  # fmt: skip
    session.flush()
    interaction = session.get(QcInteraction, review.interaction_id)
    assert interaction is not None
    score, fatal = _score(session, interaction, standing_decisions(session, review))
    outcome = (
        "upheld" if changed == 0 else ("overturned" if changed == len(contested) else "partly_overturned")
    )
    before = {"status": review.status, "score": review.score_after}
    review.arbiter_id, review.arbitrated_at = principal.user_id, now
    review.arbitration_outcome, review.arbitration_note = outcome, text
    _close(session, review, score, fatal, "arbitrated", now)
    session.flush()
    audit.record(session, principal, "qc.review.arbitrate", "qc_review", review.id, before=before,
                 after={"status": review.status, "outcome": outcome, "score": score, "fatal": fatal}, at=now)  # fmt: skip
    return review


def close_unanswered(session: Session, actor: Principal | str, *, as_of: datetime) -> list[int]:
    """Feedback not answered by its deadline is deemed accepted (the alert stays in the record)."""
    due = session.scalars(
        select(QcReview).where(QcReview.status == "awaiting_response", QcReview.response_due_at < as_of)
    ).all()
    for review in due:
        assert review.score_after is not None and review.fatal_after is not None
        _close(session, review, review.score_after, review.fatal_after, "deemed_accepted", as_of)
        audit.record(session, actor, "qc.review.deem_accepted", "qc_review", review.id,
                     before={"status": "awaiting_response"}, after={"status": "deemed_accepted"}, at=as_of)  # fmt: skip
    session.flush()
    return [r.id for r in due]


# --------------------------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class Alert:
    kind: str  # review_overdue | response_overdue | arbitration_overdue | complaint_overdue | calibration_overdue
    entity: str
    entity_id: int
    due_at: datetime
    owner_id: int | None
    overdue_hours: float
    collector_id: int | None = None

    def to_dict(self, names: Mapping[int, str] | None = None) -> dict[str, Any]:
        names = names or {}
        return {
            "kind": self.kind,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "due_at": self.due_at,
            "owner": names.get(self.owner_id) if self.owner_id else None,
            "collector": names.get(self.collector_id) if self.collector_id else None,
            "overdue_hours": round(self.overdue_hours, 1),
        }


def _hours(as_of: datetime, due: datetime) -> float:
    return (as_of - due).total_seconds() / 3600.0


def overdue_items(session: Session, principal: Principal, *, as_of: datetime) -> list[Alert]:
    """Every workflow step past its deadline as of `as_of`, most overdue first (scoped)."""  # R24
    authorize(principal, "qc.alerts.read")
    alerts: list[Alert] = []
    scope = collector_scope(principal, QcReview.collector_id)
    steps: list[tuple[str, str, Any, str | None]] = [
        ("review_overdue", "pending", QcReview.review_due_at, "inspector_id"),
        ("response_overdue", "awaiting_response", QcReview.response_due_at, "collector_id"),
        ("arbitration_overdue", "appealed", QcReview.arbitration_due_at, None),
    ]
    if principal.role in ("collector", "agency"):  # their own step only: an answer to feedback
        steps = steps[1:2]
    for kind, status, due_col, owner in steps:
        for r in session.scalars(select(QcReview).where(QcReview.status == status, due_col < as_of, scope)):
            due = getattr(r, due_col.key)
            alerts.append(
                Alert(
                    kind,
                    "qc_review",
                    r.id,
                    due,
                    getattr(r, owner) if owner else None,
                    _hours(as_of, due),
                    r.collector_id,
                )
            )
    if principal.is_system or principal.role in (
        "team_lead",
        "qc_inspector",
        "manager",
        "compliance_officer",
    ):
        for c in session.scalars(
            select(Complaint).where(
                Complaint.status != "closed",
                Complaint.due_at < as_of,
                collector_scope(principal, Complaint.collector_id),
            )
        ):
            alerts.append(
                Alert(
                    "complaint_overdue",
                    "complaint",
                    c.id,
                    c.due_at,
                    c.investigator_id,
                    _hours(as_of, c.due_at),
                    c.collector_id,
                )
            )
    if principal.is_system or principal.role in ("qc_inspector", "manager", "compliance_officer"):
        for cal in session.scalars(
            select(QcCalibration).where(QcCalibration.status == "open", QcCalibration.due_at < as_of)
        ):
            alerts.append(
                Alert(
                    "calibration_overdue", "calibration", cal.id, cal.due_at, None, _hours(as_of, cal.due_at)
                )
            )
    alerts.sort(key=lambda a: (-a.overdue_hours, a.kind, a.entity_id))
    return alerts


def raise_alerts(
    session: Session, actor: Principal | str, *, as_of: datetime
) -> tuple[list[Alert], list[int]]:
    """Record every newly overdue step once (audited) and resolve alerts whose step is done.
    Returns (newly raised alerts, ids of resolved alert rows)."""
    current = overdue_items(session, Principal.system("qc-alerts"), as_of=as_of)
    keys = {(a.kind, a.entity_id): a for a in current}
    open_rows = session.scalars(select(QcAlert).where(QcAlert.resolved_at.is_(None))).all()
    known = {(r.kind, r.entity_id) for r in session.execute(select(QcAlert.kind, QcAlert.entity_id))}
    resolved: list[int] = []
    for row in open_rows:
        if (row.kind, row.entity_id) not in keys:
            row.resolved_at = as_of
            resolved.append(row.id)
            audit.record(
                session, actor, "qc.alert.resolve", "qc_alert", row.id, after={"kind": row.kind}, at=as_of
            )
    raised: list[Alert] = []
    for key, a in keys.items():
        if key in known:
            continue
        row = QcAlert(kind=a.kind, entity=a.entity, entity_id=a.entity_id, owner_id=a.owner_id, due_at=a.due_at,
                      raised_at=as_of)  # fmt: skip
        session.add(row)
        session.flush()
        raised.append(a)
        audit.record(session, actor, "qc.alert.raise", "qc_alert", row.id,
                     after={"kind": a.kind, "entity": a.entity, "entity_id": a.entity_id, "due_at": a.due_at}, at=as_of)  # fmt: skip
    session.flush()
    return raised, resolved


# --------------------------------------------------------------------------------------------- notes


def add_note(
    session: Session,
    principal: Principal,
    *,
    kind: str,
    text: str,
    now: datetime,
    review_id: int | None = None,
    round_id: int | None = None,
    item: str | None = None,
) -> QcNote:
    """A problem, bottleneck or improvement suggestion (R25), optionally about a review, round or item."""
    authorize(principal, "qc.notes.write")
    if kind not in NOTE_KINDS:
        raise ValidationFailed(f"kind: must be one of {', '.join(NOTE_KINDS)}")
    body = _text(text, "text")
    if review_id is not None:
        load_review(session, principal, review_id)
    if round_id is not None and session.get(QcRound, round_id) is None:
        raise not_found("round", round_id)
    note = QcNote(kind=kind, text=body or "", review_id=review_id, round_id=round_id, item=item,
                  author_id=principal.user_id, author=principal.username[:120], created_at=now)  # fmt: skip
    session.add(note)
    session.flush()
    audit.record(session, principal, "qc.note.add", "qc_note", note.id,
                 after={"kind": kind, "review_id": review_id, "round_id": round_id, "item": item}, at=now)  # fmt: skip
    return note


def list_notes(
    session: Session,
    principal: Principal,
    *,
    kind: str | None = None,
    round_id: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    authorize(principal, "qc.notes.read")
    q = select(QcNote)
    if kind is not None:
        q = q.where(QcNote.kind == kind)
    if round_id is not None:
        q = q.where(QcNote.round_id == round_id)
    if principal.role == "team_lead":  # notes about reviews of the team's work, and general ones
        team_reviews = select(QcReview.id).where(collector_scope(principal, QcReview.collector_id))
        q = q.where(or_(QcNote.review_id.is_(None), QcNote.review_id.in_(team_reviews)))
    return [
        {"id": n.id, "kind": n.kind, "text": n.text, "review_id": n.review_id, "round_id": n.round_id,
         "item": n.item, "author": n.author, "created_at": n.created_at}
        for n in session.scalars(q.order_by(QcNote.id.desc()).limit(limit))
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------- calibration


def open_calibration(
    session: Session,
    principal: Principal,
    *,
    name: str,
    interaction_ids: Sequence[int],
    inspectors: Sequence[str],
    now: datetime,
    settings: QCSettings | None = None,
) -> QcCalibration:
    """A calibration set: the same interactions, scored blind by every named inspector."""  # R24, R26
    s = settings or get_qc_settings()
    authorize(principal, "qc.calibration.manage")
    if not is_qc_lead(session, principal):
        raise Forbidden("only a QC lead or a manager may open a calibration session")
    title = _text(name, "name", limit=120)
    ids = list(dict.fromkeys(inspectors))
    if len(ids) < 2:
        raise ValidationFailed("inspectors: name at least two inspectors")
    users = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.in_([i.lower() for i in ids])))
    }
    for name_ in ids:
        u = users.get(name_.lower())
        if u is None or u.role != "qc_inspector":
            raise ValidationFailed(f"inspectors: {name_!r} is not a QC inspector")
    interactions = list(dict.fromkeys(interaction_ids))
    if not interactions:
        raise ValidationFailed("interactions: name at least one interaction")
    found = set(session.scalars(select(QcInteraction.id).where(QcInteraction.id.in_(interactions))))
    missing = [i for i in interactions if i not in found]
    if missing:
        raise ValidationFailed(f"interactions: no interaction {missing[0]}")
    cal = QcCalibration(name=title or "", status="open", inspector_ids=[users[n.lower()].id for n in ids],
                        created_at=now, created_by=principal.username[:120], due_at=now + timedelta(days=s.calibration_days))  # fmt: skip
    session.add(cal)
    session.flush()
    session.add_all(QcCalibrationItem(calibration_id=cal.id, interaction_id=i) for i in interactions)
    session.flush()
    audit.record(session, principal, "qc.calibration.open", "qc_calibration", cal.id,
                 after={"interactions": interactions, "inspectors": cal.inspector_ids, "due_at": cal.due_at}, at=now)  # fmt: skip
    return cal


def _calibration(session: Session, calibration_id: int) -> QcCalibration:
    cal = session.get(QcCalibration, calibration_id)
    if cal is None:
        raise not_found("calibration", calibration_id)
    return cal


def calibration_task(
    session: Session, principal: Principal, calibration_id: int, *, keys: KeyRing, now: datetime
) -> dict[str, Any]:
    """What one inspector scores: the transcripts and the scorecard items — no machine findings and no
    other inspector's scores (blind)."""
    authorize(principal, "qc.calibration.score")
    cal = _calibration(session, calibration_id)
    if principal.user_id not in cal.inspector_ids:
        raise not_found("calibration", calibration_id)
    mine = {
        s.interaction_id: s
        for s in session.scalars(
            select(QcCalibrationScore).where(
                QcCalibrationScore.calibration_id == cal.id,
                QcCalibrationScore.inspector_id == principal.user_id,
            )
        )
    }
    out = []
    for interaction in session.scalars(
        select(QcInteraction)
        .join(QcCalibrationItem, QcCalibrationItem.interaction_id == QcInteraction.id)
        .where(QcCalibrationItem.calibration_id == cal.id)
        .order_by(QcInteraction.id)
    ):
        content = decrypt_content(interaction, keys)
        own = mine.get(interaction.id)
        out.append(
            {
                "interaction_id": interaction.id,
                "language": interaction.language,
                "channel": interaction.channel,
                "turns": content.get("turns", []),
                "items": [
                    {"item": r.item, "title": r.title, "fatal_item": r.fatal_item}
                    for r in item_rows(session, interaction.id)
                ],
                "submitted": own is not None,
                "my_decisions": own.decisions if own else None,
            }
        )
        audit.record(session, principal, "qc.interaction.read", "qc_interaction", interaction.id, at=now)
    return {"id": cal.id, "name": cal.name, "status": cal.status, "due_at": cal.due_at, "interactions": out}


def submit_calibration(
    session: Session,
    principal: Principal,
    calibration_id: int,
    interaction_id: int,
    *,
    decisions: Mapping[str, bool],
    now: datetime,
) -> QcCalibrationScore:
    """One inspector's blind scoring of one interaction; final once submitted."""
    authorize(principal, "qc.calibration.score")
    cal = _calibration(session, calibration_id)
    if principal.user_id is None or principal.user_id not in cal.inspector_ids:
        raise not_found("calibration", calibration_id)
    if cal.status != "open":
        raise Conflict(f"calibration {cal.id} is closed")
    in_set = session.scalar(
        select(QcCalibrationItem.interaction_id).where(
            QcCalibrationItem.calibration_id == cal.id, QcCalibrationItem.interaction_id == interaction_id
        )
    )
    if in_set is None:
        raise not_found("interaction", interaction_id)
    interaction = session.get(QcInteraction, interaction_id)
    assert interaction is not None
    rows = item_rows(session, interaction_id)
    known = {r.item for r in rows}
    unknown = sorted(set(decisions) - known)
    if unknown:
        raise ValidationFailed(f"decisions: no item {unknown[0]!r} in {interaction.scorecard}")
    if not decisions:
        raise ValidationFailed("decisions: decide at least one item")
    prior = session.scalar(
        select(QcCalibrationScore.id).where(
            QcCalibrationScore.calibration_id == cal.id,
            QcCalibrationScore.interaction_id == interaction_id,
            QcCalibrationScore.inspector_id == principal.user_id,
        )
    )
    if prior is not None:
        raise Conflict("already scored; calibration scores are final once submitted")
    full: dict[str, bool | None] = {r.item: decisions.get(r.item) for r in rows}
    score, fatal, _ = compute_score(_item_results(rows, full), interaction.pass_mark)
    row = QcCalibrationScore(calibration_id=cal.id, interaction_id=interaction_id, inspector_id=principal.user_id,
                             decisions=dict(decisions), score=score, fatal=fatal, submitted_at=now)  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, principal, "qc.calibration.score", "qc_calibration", cal.id,
                 after={"interaction_id": interaction_id, "score": score}, at=now)  # fmt: skip
    return row


def close_calibration(
    session: Session, principal: Principal, calibration_id: int, *, now: datetime
) -> QcCalibration:
    authorize(principal, "qc.calibration.manage")
    if not is_qc_lead(session, principal):
        raise Forbidden("only a QC lead or a manager may close a calibration session")
    cal = _calibration(session, calibration_id)
    if cal.status != "open":
        raise Conflict(f"calibration {cal.id} is already closed")
    cal.status, cal.closed_at = "closed", now
    session.flush()
    audit.record(
        session,
        principal,
        "qc.calibration.close",
        "qc_calibration",
        cal.id,
        after={"status": "closed"},
        at=now,
    )
    return cal


def list_calibrations(session: Session, principal: Principal, *, limit: int = 20) -> list[dict[str, Any]]:
    """Calibration sessions, newest first (their figures come with `calibration_report` once closed)."""
    authorize(principal, "qc.calibration.read")
    rows = session.scalars(select(QcCalibration).order_by(QcCalibration.id.desc()).limit(limit)).all()
    names = usernames(session, [i for c in rows for i in c.inspector_ids])
    return [
        {"id": c.id, "name": c.name, "status": c.status, "due_at": c.due_at, "closed_at": c.closed_at,
         "inspectors": [names.get(i, str(i)) for i in c.inspector_ids]}
        for c in rows
    ]  # fmt: skip


@dataclass
class CalibrationReport:
    id: int
    name: str
    inspectors: list[str]
    interactions: list[int]
    scores: dict[str, dict[str, float]]  # inspector → interaction → score
    machine_scores: dict[str, float]
    units: int  # (interaction, item) pairs decided by every inspector
    fleiss_kappa: float | None
    percent_agreement: float | None  # share of units where every inspector agreed
    pairwise: list[dict[str, Any]] = field(default_factory=list)
    machine_vs_inspector: list[dict[str, Any]] = field(default_factory=list)
    per_item: list[dict[str, Any]] = field(default_factory=list)
    spread: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _r(x: float | None, n: int = 3) -> float | None:
    return None if x is None else round(x, n)


def calibration_report(session: Session, principal: Principal, calibration_id: int) -> CalibrationReport:
    """Agreement between inspectors (Fleiss' kappa, pairwise Cohen's kappa, score spread) and between
    the machine and the inspectors (kappa per inspector and per item), on a closed session."""
    authorize(principal, "qc.calibration.read")
    cal = _calibration(session, calibration_id)
    if cal.status != "closed":
        raise Conflict(
            f"calibration {cal.id} is still open; its figures are shown once it closes (scoring is blind)"
        )
    names = usernames(session, cal.inspector_ids)
    scores_rows = session.scalars(
        select(QcCalibrationScore).where(QcCalibrationScore.calibration_id == cal.id)
    ).all()
    interactions = sorted(
        session.scalars(
            select(QcCalibrationItem.interaction_id).where(QcCalibrationItem.calibration_id == cal.id)
        )
    )
    machine: dict[str, dict[str, bool | None]] = {}
    machine_scores: dict[str, float] = {}
    for iid in interactions:
        machine[str(iid)] = {r.item: r.passed for r in item_rows(session, iid)}
        row = session.get(QcInteraction, iid)
        assert row is not None
        machine_scores[str(iid)] = row.score
    human: dict[str, dict[str, dict[str, bool]]] = {}  # inspector → interaction → item → passed
    scores: dict[str, dict[str, float]] = {}
    for s in scores_rows:
        who = names.get(s.inspector_id, str(s.inspector_id))
        human.setdefault(who, {})[str(s.interaction_id)] = {k: bool(v) for k, v in s.decisions.items()}
        scores.setdefault(who, {})[str(s.interaction_id)] = s.score
    raters = sorted(human)
    # Units decided by every inspector.
    units: list[tuple[str, str]] = []
    for key in map(str, interactions):
        for item in sorted(machine.get(key, {})):
            if raters and all(item in human[r].get(key, {}) for r in raters):
                units.append((key, item))
    fk = pa = None
    if len(raters) >= 2 and units:
        ratings = [[human[r][key][item] for r in raters] for key, item in units]
        fk = fleiss_kappa(ratings)
        pa = sum(1 for row in ratings if len(set(row)) == 1) / len(ratings)
    pairwise = []
    for a, b in combinations(raters, 2):
        shared = [(k, item) for k in human[a] for item in human[a][k] if item in human[b].get(k, {})]
        if not shared:
            continue
        xa = [human[a][i][t] for i, t in shared]
        xb = [human[b][i][t] for i, t in shared]
        pairwise.append({"a": a, "b": b, "units": len(shared), "agreement": _r(percent_agreement(xa, xb)),
                         "kappa": _r(cohen_kappa(xa, xb, labels=[False, True]))})  # fmt: skip
    mvh = []
    for r in raters:
        pairs = [(machine[i][t], v) for i, items in human[r].items() for t, v in items.items()
                 if machine.get(i, {}).get(t) is not None]  # fmt: skip
        if pairs:
            ms = [bool(m) for m, _ in pairs]
            hs = [h for _, h in pairs]
            mvh.append({"inspector": r, "units": len(pairs), "agreement": _r(percent_agreement(ms, hs)),
                        "kappa": _r(cohen_kappa(ms, hs, labels=[False, True]))})  # fmt: skip
    # Per item: the machine against the inspectors' majority (ties left out).
    majority: dict[str, dict[str, bool | None]] = {}
    for key in map(str, interactions):
        for item in machine.get(key, {}):
            votes = Counter(human[r][key][item] for r in raters if item in human[r].get(key, {}))
            if votes and (len(votes) == 1 or votes[True] != votes[False]):
                majority.setdefault(key, {})[item] = votes.most_common(1)[0][0]
    per_item = [
        {"item": a.item, "units": a.n, "agreement": _r(a.agreement), "kappa": _r(a.kappa),
         "machine_false_alarms": a.machine_fail_human_pass, "machine_misses": a.machine_pass_human_fail}
        for a in machine_human_agreement(machine, majority).values()
    ]  # fmt: skip
    spread = None
    try:
        sp = score_spread(scores)
        spread = {"interactions": sp.interactions, "mean_range": _r(sp.mean_range, 2), "max_range": _r(sp.max_range, 2),
                  "mean_std": _r(sp.mean_std, 2), "rater_bias": {k: _r(v, 2) for k, v in sp.rater_bias.items()},
                  "widest": list(sp.widest)}  # fmt: skip
    except ValueError:
        spread = None
    return CalibrationReport(
        id=cal.id, name=cal.name, inspectors=raters, interactions=interactions, scores=scores,
        machine_scores=machine_scores, units=len(units), fleiss_kappa=_r(fk), percent_agreement=_r(pa),
        pairwise=pairwise, machine_vs_inspector=mvh, per_item=per_item, spread=spread,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------- rounds


def round_summary(session: Session, principal: Principal, round_id: int) -> dict[str, Any]:
    """How a QC round went: sampled by reason, reviewed, machine findings overturned, appeals and their
    outcomes, the items most often failed after review, and the inspectors' notes."""  # R27
    authorize(principal, "qc.reviews.read")
    qc_round = session.get(QcRound, round_id)
    if qc_round is None:
        raise not_found("round", round_id)
    scope = collector_scope(principal, QcReview.collector_id)
    reviews = session.scalars(select(QcReview).where(QcReview.round_id == round_id, scope)).all()
    ids = [r.id for r in reviews]
    failed: Counter[str] = Counter()
    overturned: Counter[str] = Counter()
    if ids:
        for r in reviews:
            standing = standing_decisions(session, r) if r.status in CLOSED_REVIEW_STATUSES else {}
            for item, passed in standing.items():
                if passed is False:
                    failed[item] += 1
        for d in session.scalars(
            select(QcReviewDecision).where(
                QcReviewDecision.review_id.in_(ids),
                QcReviewDecision.stage == "inspector",
                and_(
                    QcReviewDecision.machine_passed.is_not(None),
                    QcReviewDecision.machine_passed != QcReviewDecision.passed,
                ),
            )
        ):
            overturned[d.item] += 1
    closed = [r for r in reviews if r.status in CLOSED_REVIEW_STATUSES]
    appeals = [r for r in reviews if r.appeal_items]
    return {
        "id": qc_round.id,
        "name": qc_round.name,
        "period": [qc_round.period_start, qc_round.period_end],
        "considered": qc_round.considered,
        "sampled": qc_round.sampled,
        "by_reason": dict(Counter(r.reason for r in reviews)),
        "by_status": dict(Counter(r.status for r in reviews)),
        "closed": len(closed),
        "violations": sum(1 for r in closed if r.final_fatal),
        "mean_final_score": _r(sum(r.final_score or 0 for r in closed) / len(closed), 1) if closed else None,
        "overturned_findings": dict(overturned.most_common()),
        "appeals": len(appeals),
        "appeal_outcomes": dict(Counter(r.arbitration_outcome for r in appeals if r.arbitration_outcome)),
        "most_failed": failed.most_common(10),
        "notes": list_notes(session, principal, round_id=round_id)
        if allowed(principal, "qc.notes.read")
        else [],
    }
