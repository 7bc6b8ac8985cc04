"""Complaints (投诉): intake from the debtor portal, phone, e-mail and regulator referrals; automatic
triage in zh-CN and English (arrears.quality.complaints); links to the case, the collector and the
interactions; an investigation with a deadline and an outcome, upheld or not upheld.  # R20, R21, R27

An upheld complaint that alleges collector misconduct (a conduct category: harassment, threat,
false representation, disclosure) feeds QC and coaching: the linked interactions not yet reviewed go
to an inspector, the complaint counts toward the abnormal-collection rate (异常催收率), and a
de-identified bad example is published in the coaching library against the conduct item concerned.

The complaint text is stored encrypted (CN-D1); lists show a scrubbed opening only.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict, ValidationFailed
from arrears.portfolio.models import Account, Case, Creditor
from arrears.quality.coaching import _store_example, known_personal_data, publish_complaint_example
from arrears.quality.complaints import CATEGORIES, CONDUCT_CATEGORIES, classify_complaint
from arrears.quality.interactions import collector_scope, item_rows, usernames
from arrears.quality.models import (
    COMPLAINT_CHANNELS,
    COMPLAINT_OUTCOMES,
    CoachingExample,
    Complaint,
    ComplaintInteraction,
    QcInteraction,
    QcReview,
)
from arrears.quality.qc_settings import QCSettings, get_qc_settings
from arrears.quality.scorecards import default_scorecard_for, load_scorecard
from arrears.security import audit
from arrears.security.masking import scrub
from arrears.security.models import User
from arrears.security.permissions import authorize, case_scope, not_found, sees_everything
from arrears.security.pii import KeyRing
from arrears.security.principal import Principal

COMPLAINANTS = ("debtor", "third_party", "representative", "regulator")
MAX_TEXT = 20_000
# Complaint category → the scorecard conduct items it concerns, most specific first.
CONDUCT_ITEMS: dict[str, tuple[str, ...]] = {
    "threat": ("conduct_threat", "conduct_false_legal"),
    "harassment": ("conduct_abuse", "conduct_pressure", "tone"),
    "false_representation": ("conduct_false_legal", "conduct_impersonation", "conduct_deception"),
    "disclosure": ("conduct_disclosure", "conduct_privacy", "conduct_shaming"),
}


def _language_of(text: str) -> str:
    return "zh-CN" if re.search(r"[\u4e00-\u9fff]", text) else "en"


@dataclass(frozen=True)
class ComplaintIn:
    channel: str
    text: str
    received_at: datetime | None = None
    complainant: str = "debtor"
    case_id: int | None = None
    account_ref: str | None = None
    creditor: str | None = None
    collector: str | None = None
    interaction_ids: Sequence[int] = ()
    regulator_ref: str | None = None
    language: str | None = None


def _find_case(session: Session, principal: Principal, data: ComplaintIn) -> Case | None:
    case: Case | None = None
    if data.case_id is not None:
        case = session.get(Case, data.case_id)
        if case is None:
            raise not_found("case", data.case_id)
    elif data.account_ref:
        q = (
            select(Case)
            .join(Account, Account.id == Case.account_id)
            .where(Account.account_ref == data.account_ref)
        )
        if data.creditor:
            q = q.join(Creditor, Creditor.id == Account.creditor_id).where(Creditor.code == data.creditor)
        case = session.scalars(q.order_by(Case.opened_at.desc(), Case.id.desc()).limit(1)).first()
        if case is None:
            raise not_found("account", data.account_ref)
    if case is not None:
        authorize(principal, "complaints.create", case)  # 404 outside one's portfolio
    return case


def intake(
    session: Session,
    principal: Principal,
    data: ComplaintIn,
    *,
    keys: KeyRing,
    now: datetime,
    settings: QCSettings | None = None,
) -> Complaint:
    """Record a complaint and triage it automatically; the investigation deadline starts now."""
    s = settings or get_qc_settings()
    authorize(principal, "complaints.create")
    if data.channel not in COMPLAINT_CHANNELS:
        raise ValidationFailed(f"channel: must be one of {', '.join(COMPLAINT_CHANNELS)}")
    complainant = (
        "regulator" if data.channel == "regulator" and data.complainant == "debtor" else data.complainant
    )
    if complainant not in COMPLAINANTS:
        raise ValidationFailed(f"complainant: must be one of {', '.join(COMPLAINANTS)}")
    text = (data.text or "").strip()
    if not text:
        raise ValidationFailed("text: is required")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"text: longer than {MAX_TEXT} characters")
    if data.channel == "regulator" and not (data.regulator_ref or "").strip():
        raise ValidationFailed("regulator_ref: a regulator referral carries the regulator's reference")
    received = data.received_at or now
    if received.tzinfo is None:
        raise ValidationFailed("received_at: a time zone is required")
    if received > now + timedelta(minutes=5):
        raise ValidationFailed("received_at: in the future")
    case = _find_case(session, principal, data)
    collector_id: int | None = None
    if data.collector:
        collector_id = session.scalar(select(User.id).where(User.username == data.collector.strip().lower()))
        if collector_id is None:
            raise ValidationFailed(f"collector: no user {data.collector!r}")
    elif case is not None and case.assigned_to is not None:
        collector_id = int(case.assigned_to)
    interactions = _interactions(session, data.interaction_ids, case)
    if collector_id is None and interactions:
        collector_id = interactions[0].collector_id
    triage = classify_complaint(text)  # R20, R21: category and alleged misconduct, zh-CN and English
    days = s.regulator_complaint_days if data.channel == "regulator" else s.complaint_days
    complaint = Complaint(
        ref=f"CMP-{received:%Y%m%d}-{secrets.token_hex(3).upper()}",
        channel=data.channel,
        complainant=complainant,
        regulator_ref=(data.regulator_ref or "").strip()[:120] or None,
        received_at=received,
        text_enc=keys.encrypt(text),
        summary=scrub(text)[:200],
        language=data.language or _language_of(text),
        case_id=case.id if case else None,
        collector_id=collector_id,
        category=triage.category,
        conduct=triage.conduct,
        confidence=round(triage.confidence, 4),
        triage={
            "scores": {k: round(v, 3) for k, v in triage.scores.items() if v},
            "cues": [{"category": c.category, "text": scrub(c.text)} for c in triage.cues[:20]],
        },
        status="open",
        due_at=received + timedelta(days=days),
        recorded_by=principal.username[:120],
        created_at=now,
    )
    session.add(complaint)
    session.flush()
    session.add_all(
        ComplaintInteraction(complaint_id=complaint.id, interaction_id=i.id) for i in interactions
    )
    session.flush()
    audit.record(
        session, principal, "complaint.create", "complaint", complaint.id,
        after={"ref": complaint.ref, "channel": complaint.channel, "case_id": complaint.case_id,
               "collector_id": collector_id, "category": complaint.category, "conduct": complaint.conduct,
               "interactions": [i.id for i in interactions], "due_at": complaint.due_at},
        at=now,
    )  # fmt: skip
    return complaint


def _interactions(session: Session, ids: Sequence[int], case: Case | None) -> list[QcInteraction]:
    out = []
    for iid in dict.fromkeys(ids):
        row = session.get(QcInteraction, iid)
        if row is None:
            raise ValidationFailed(f"interaction_ids: no interaction {iid}")
        if case is not None and row.case_id != case.id:
            raise ValidationFailed(f"interaction_ids: interaction {iid} belongs to another case")
        out.append(row)
    return out


def complaint_scope(principal: Principal) -> Any:
    """WHERE clause over Complaint: oversight sees all, a team lead complaints about the team's work."""
    if sees_everything(principal):
        return collector_scope(principal, Complaint.collector_id)
    return or_(
        collector_scope(principal, Complaint.collector_id),
        Complaint.case_id.in_(select(Case.id).where(case_scope(principal)).scalar_subquery()),
    )


def load_complaint(session: Session, principal: Principal, complaint_id: int, action: str) -> Complaint:
    authorize(principal, action)
    found = session.scalar(select(Complaint).where(Complaint.id == complaint_id, complaint_scope(principal)))
    if found is None:
        raise not_found("complaint", complaint_id)
    return found


def assign(
    session: Session, principal: Principal, complaint_id: int, *, investigator: str | None, now: datetime
) -> Complaint:
    """Start the investigation (by the caller, or by the named compliance officer or manager)."""
    complaint = load_complaint(session, principal, complaint_id, "complaints.investigate")
    if complaint.status == "closed":
        raise Conflict(f"complaint {complaint.ref} is closed")
    uid: int | None
    if investigator:
        user = session.scalar(select(User).where(User.username == investigator.strip().lower()))
        if user is None or user.role not in ("compliance_officer", "manager"):
            raise ValidationFailed(f"investigator: {investigator!r} is not a compliance officer or manager")
        uid = user.id
    else:
        uid = principal.user_id
    before = {"status": complaint.status, "investigator_id": complaint.investigator_id}
    complaint.investigator_id, complaint.status = uid, "investigating"
    session.flush()
    audit.record(session, principal, "complaint.assign", "complaint", complaint.id, before=before,
                 after={"status": complaint.status, "investigator_id": uid}, at=now)  # fmt: skip
    return complaint


def link_interactions(
    session: Session,
    principal: Principal,
    complaint_id: int,
    interaction_ids: Sequence[int],
    *,
    now: datetime,
) -> list[int]:
    complaint = load_complaint(session, principal, complaint_id, "complaints.investigate")
    case = session.get(Case, complaint.case_id) if complaint.case_id else None
    rows = _interactions(session, interaction_ids, case)
    have = set(
        session.scalars(
            select(ComplaintInteraction.interaction_id).where(
                ComplaintInteraction.complaint_id == complaint.id
            )
        )
    )
    added = [r.id for r in rows if r.id not in have]
    session.add_all(ComplaintInteraction(complaint_id=complaint.id, interaction_id=i) for i in added)
    if complaint.collector_id is None and rows:
        complaint.collector_id = rows[0].collector_id
    session.flush()
    audit.record(
        session, principal, "complaint.link", "complaint", complaint.id, after={"interactions": added}, at=now
    )
    return added


def conduct_item_for(session: Session, interaction: QcInteraction, category: str) -> tuple[str, str] | None:
    """The scorecard conduct item a complaint category concerns on this interaction: a failed one if the
    machine or a review found it, else the first that the scorecard has."""
    from arrears.quality.review import standing_decisions

    wanted = CONDUCT_ITEMS.get(category, ())
    rows = {r.item: r for r in item_rows(session, interaction.id)}
    review = session.scalar(select(QcReview).where(QcReview.interaction_id == interaction.id))
    standing = standing_decisions(session, review) if review else {k: r.passed for k, r in rows.items()}
    for item in wanted:
        if item in rows and standing.get(item) is False:
            return item, rows[item].title
    for item in wanted:
        if item in rows:
            return item, rows[item].title
    return None


def close(
    session: Session,
    principal: Principal,
    complaint_id: int,
    *,
    outcome: str,
    note: str,
    category: str | None = None,
    conduct: bool | None = None,
    keys: KeyRing,
    now: datetime,
    settings: QCSettings | None = None,
) -> Complaint:
    """Close the investigation upheld or not upheld (the investigator may correct the triage). An upheld
    conduct complaint sends its interactions to QC and a de-identified example to coaching."""
    complaint = load_complaint(session, principal, complaint_id, "complaints.investigate")
    if complaint.status == "closed":
        raise Conflict(f"complaint {complaint.ref} is already closed")
    if outcome not in COMPLAINT_OUTCOMES:
        raise ValidationFailed(f"outcome: must be one of {', '.join(COMPLAINT_OUTCOMES)}")
    if category is not None and category not in CATEGORIES:
        raise ValidationFailed(f"category: must be one of {', '.join(CATEGORIES)}")
    text_note = (note or "").strip()
    if not text_note:
        raise ValidationFailed("note: say what the investigation found")
    final_category = category or complaint.category
    final_conduct = (
        conduct if conduct is not None else (complaint.conduct or final_category in CONDUCT_CATEGORIES)
    )
    before = {"status": complaint.status}
    complaint.category_final = final_category if final_category != complaint.category else None
    complaint.conduct_final = final_conduct
    complaint.outcome, complaint.outcome_note = outcome, text_note[:4000]
    complaint.status, complaint.closed_at = "closed", now
    if complaint.investigator_id is None:
        complaint.investigator_id = principal.user_id
    session.flush()
    fed: dict[str, Any] = {}
    if outcome == "upheld" and final_conduct:
        fed = _feed_qc_and_coaching(
            session, principal, complaint, final_category, keys=keys, now=now, settings=settings
        )
    audit.record(
        session, principal, "complaint.close", "complaint", complaint.id, before=before,
        after={"status": "closed", "outcome": outcome, "category": final_category, "conduct": final_conduct, **fed},
        at=now,
    )  # fmt: skip
    return complaint


def _feed_qc_and_coaching(
    session: Session,
    principal: Principal,
    complaint: Complaint,
    category: str,
    *,
    keys: KeyRing,
    now: datetime,
    settings: QCSettings | None,
) -> dict[str, Any]:
    from arrears.quality.review import _inspector_loads, _next_inspector, open_review

    linked = session.scalars(
        select(QcInteraction)
        .join(ComplaintInteraction, ComplaintInteraction.interaction_id == QcInteraction.id)
        .where(ComplaintInteraction.complaint_id == complaint.id)
        .order_by(QcInteraction.id)
    ).all()
    reviews: list[int] = []
    examples: list[int] = []
    loads = _inspector_loads(session)
    for interaction in linked:
        if session.scalar(select(QcReview.id).where(QcReview.interaction_id == interaction.id)) is None:
            r = open_review(session, principal, interaction, reason="complaint", now=now,
                            inspector_id=_next_inspector(loads), settings=settings)  # fmt: skip
            reviews.append(r.id)
        chosen = conduct_item_for(session, interaction, category)
        if chosen is None:
            continue
        item, title = chosen
        exists = session.scalar(
            select(CoachingExample.id).where(
                CoachingExample.interaction_id == interaction.id, CoachingExample.item == item,
                CoachingExample.withdrawn_at.is_(None),
            )
        )  # fmt: skip
        if exists is None:
            evidence = next(
                (r.evidence or [] for r in item_rows(session, interaction.id) if r.item == item), []
            )
            turns = [int(e["turn"]) for e in evidence if isinstance(e.get("turn"), int)]
            ex = _store_example(
                session, principal, interaction=interaction, review_id=None, item=item, title=title, kind="bad",
                note=complaint.outcome_note, evidence_turns=turns, keys=keys, now=now, complaint_id=complaint.id,
            )  # fmt: skip
            examples.append(ex.id)
    if not linked:
        card = load_scorecard(default_scorecard_for(complaint.language))
        items = {i.id: i.title for i in card.items}
        conduct_item = next((i for i in CONDUCT_ITEMS.get(category, ()) if i in items), None)
        if conduct_item is not None:
            ex = publish_complaint_example(
                session, principal, complaint, item=conduct_item, title=items[conduct_item], scorecard=card.ref,
                text=keys.decrypt(complaint.text_enc), keys=keys, now=now,
            )  # fmt: skip
            examples.append(ex.id)
    return {"reviews_opened": reviews, "examples": examples}


# --------------------------------------------------------------------------------------------- reading


def complaint_view(c: Complaint, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "ref": c.ref,
        "channel": c.channel,
        "complainant": c.complainant,
        "regulator_ref": c.regulator_ref,
        "received_at": c.received_at,
        "summary": c.summary,
        "language": c.language,
        "case_id": c.case_id,
        "collector": names.get(c.collector_id) if c.collector_id else None,
        "category": c.category_final or c.category,
        "triage_category": c.category,
        "conduct": c.conduct_final if c.conduct_final is not None else c.conduct,
        "confidence": c.confidence,
        "status": c.status,
        "investigator": names.get(c.investigator_id) if c.investigator_id else None,
        "due_at": c.due_at,
        "outcome": c.outcome,
        "closed_at": c.closed_at,
    }


def list_complaints(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    overdue_as_of: datetime | None = None,
    case_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    authorize(principal, "complaints.read")
    where: list[Any] = [complaint_scope(principal)]
    if status:
        where.append(Complaint.status == status)
    if case_id is not None:
        where.append(Complaint.case_id == case_id)
    if overdue_as_of is not None:
        where += [Complaint.status != "closed", Complaint.due_at < overdue_as_of]
    total = int(session.scalar(select(func.count()).select_from(Complaint).where(*where)) or 0)
    rows = session.scalars(
        select(Complaint).where(*where).order_by(Complaint.due_at, Complaint.id).limit(limit).offset(offset)
    ).all()
    names = usernames(session, [x for c in rows for x in (c.collector_id, c.investigator_id)])
    return [complaint_view(c, names) for c in rows], total


def complaint_detail(
    session: Session, principal: Principal, complaint_id: int, *, keys: KeyRing, now: datetime
) -> dict[str, Any]:
    """The complaint as received (its text is personal data: the read is audited), triage cues,
    linked interactions and the outcome."""
    c = load_complaint(session, principal, complaint_id, "complaints.read")
    names = usernames(session, [c.collector_id, c.investigator_id])
    audit.record(session, principal, "complaint.read", "complaint", c.id, at=now)
    linked = list(
        session.scalars(
            select(ComplaintInteraction.interaction_id).where(ComplaintInteraction.complaint_id == c.id)
        )
    )
    return {
        **complaint_view(c, names),
        "text": keys.decrypt(c.text_enc),
        "triage": c.triage,
        "outcome_note": c.outcome_note,
        "interactions": linked,
    }


__all__ = [
    "CONDUCT_ITEMS",
    "ComplaintIn",
    "assign",
    "close",
    "complaint_detail",
    "intake",
    "known_personal_data",
    "link_interactions",
    "list_complaints",
]
