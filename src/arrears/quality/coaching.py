"""The coaching library (R26, R29): reviewed interactions, de-identified, published as good and bad
examples against each scorecard item, so the standard is shared and explained to the whole team.

De-identification (CN-D1, R21): the personal data the system knows about the case — the debtor's name,
third parties' names, phone numbers, e-mail addresses and addresses, the collector's name — is replaced
by role placeholders; then honorific forms (张先生, Mr. Carter), self-introductions, staff numbers and
anything `security.masking.scrub` recognises (national IDs, phone numbers, e-mail addresses) are masked.
`deidentify` is pure and tested on plain strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict, ValidationFailed
from arrears.portfolio.models import Account, Case, ContactPoint, Debtor, ThirdParty
from arrears.quality.interactions import decrypt_content, item_rows, load_interaction
from arrears.quality.models import CLOSED_REVIEW_STATUSES, CoachingExample, Complaint, QcInteraction, QcReview
from arrears.security import audit
from arrears.security.masking import mask, scrub
from arrears.security.models import User
from arrears.security.permissions import authorize, not_found
from arrears.security.pii import KeyError_, KeyRing
from arrears.security.principal import Principal

EXAMPLE_KINDS = ("good", "bad")
PLACEHOLDERS = {
    "zh": {"debtor": "【客户】", "collector": "【催收员】", "third_party": "【联系人】", "address": "【地址】", "name": "【姓名】"},
    "en": {"debtor": "[debtor]", "collector": "[collector]", "third_party": "[contact]", "address": "[address]", "name": "[name]"},
}  # fmt: skip
MAX_EXCERPT_TURNS = 8

_HAN = r"[\u4e00-\u9fff]"
_ZH_HONORIFIC = re.compile(rf"{_HAN}(?=(?:先生|女士|小姐|老师|师傅|阿姨|大哥|大姐))")
_ZH_SELF = re.compile(
    rf"(?P<lead>我叫|我姓|专员|催收员|客服|经理|主管|调解员)(?P<name>{_HAN}{{2,3}})(?=[，,。.！!？?\s、]|$)"
)
_STAFF_NO = re.compile(
    r"(?P<lead>工号|员工号|编号|employee (?:id|number)|agent (?:id|number)|badge)\s*[:：#]?\s*[A-Za-z]?\d{2,}",
    re.IGNORECASE,
)
_EN_TITLE = re.compile(r"\b(?P<t>Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)?")
_EN_SELF = re.compile(
    r"\b(?P<lead>[Mm]y name is|[Tt]his is|I'm|I am|[Ss]peaking with|[Ss]peak (?:to|with))\s+[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)?"
)


def _lang(language: str) -> str:
    return "zh" if language.lower().startswith("zh") else "en"


def deidentify(text: str, known: Sequence[tuple[str, str]] = (), language: str = "zh-CN") -> str:
    """`text` with the known personal values (value, role) replaced by role placeholders, then names in
    honorific and self-introduction forms, staff numbers and scrub()-recognised data masked."""
    marks = PLACEHOLDERS[_lang(language)]
    out = text
    values: list[tuple[str, str]] = []
    for value, role in known:
        v = (value or "").strip()
        if len(v) < 2:
            continue
        if role in ("phone", "email", "national_id"):  # masked in the usual shape (138****5678)
            values.append((v, mask(role, v)))
            continue
        values.append((v, marks.get(role, marks["name"])))
        if " " in v:  # English names: each part alone too (Mr. Carter, James)
            values += [(p, marks.get(role, marks["name"])) for p in v.split() if len(p) >= 3]
    for v, mark in sorted(set(values), key=lambda x: -len(x[0])):
        out = re.sub(re.escape(v), mark, out, flags=re.IGNORECASE)
    out = _STAFF_NO.sub(lambda m: f"{m.group('lead')} ***", out)
    if _lang(language) == "zh" or re.search(_HAN, out):
        out = _ZH_SELF.sub(lambda m: m.group("lead") + marks["name"], out)
        out = _ZH_HONORIFIC.sub("某", out)
    out = _EN_TITLE.sub(lambda m: f"{m.group('t')}. {PLACEHOLDERS['en']['name']}", out)
    out = _EN_SELF.sub(lambda m: f"{m.group('lead')} {PLACEHOLDERS['en']['name']}", out)
    return scrub(out)


def _decrypt(keys: KeyRing, blob: bytes | None) -> str | None:
    if not blob:
        return None
    try:
        return keys.decrypt(blob)
    except (KeyError_, ValueError):
        return None


def known_personal_data(
    session: Session, *, case_id: int | None, collector_id: int | None, keys: KeyRing
) -> list[tuple[str, str]]:
    """(value, role) pairs of the personal data the system holds for a case and its collector."""
    known: list[tuple[str, str]] = []
    if case_id is not None:
        case = session.get(Case, case_id)
        account = session.get(Account, case.account_id) if case else None
        debtor = session.get(Debtor, account.debtor_id) if account else None
        if debtor is not None:
            known.append((debtor.name, "debtor"))
            nid = _decrypt(keys, debtor.national_id_enc)
            if nid:
                known.append((nid, "national_id"))
            for tp in session.scalars(select(ThirdParty).where(ThirdParty.debtor_id == debtor.id)):
                name = _decrypt(keys, tp.name_enc)
                if name:
                    known.append((name, "third_party"))
            for cp in session.scalars(select(ContactPoint).where(ContactPoint.debtor_id == debtor.id)):
                value = _decrypt(keys, cp.value_enc)
                if not value:
                    continue
                role = cp.kind if cp.kind in ("phone", "email", "address") else "name"
                known.append((value, role))
                if cp.kind == "phone" and value.startswith("+86"):
                    known.append((value[3:], role))
    if collector_id is not None:
        user = session.get(User, collector_id)
        if user is not None:
            known.append((user.username, "collector"))
            if user.display_name:
                known.append((user.display_name, "collector"))
    return known


def _excerpt_turns(turns: Sequence[Mapping[str, Any]], evidence_turns: Iterable[int]) -> list[int]:
    if len(turns) <= MAX_EXCERPT_TURNS:
        return list(range(len(turns)))
    wanted: set[int] = set()
    for t in evidence_turns:
        wanted.update(i for i in (t - 1, t, t + 1) if 0 <= i < len(turns))
    if not wanted:
        wanted = set(range(min(len(turns), MAX_EXCERPT_TURNS)))
    return sorted(wanted)[: MAX_EXCERPT_TURNS * 2]


@dataclass(frozen=True)
class _Decision:
    passed: bool | None
    title: str
    evidence_turns: tuple[int, ...]


def _standing(session: Session, interaction: QcInteraction, item: str) -> tuple[QcReview, _Decision]:
    from arrears.quality.review import standing_decisions

    review = session.scalar(select(QcReview).where(QcReview.interaction_id == interaction.id))
    if review is None or review.reviewed_at is None:
        raise ValidationFailed(f"interaction {interaction.id} has not been reviewed by an inspector")
    rows = {r.item: r for r in item_rows(session, interaction.id)}
    if item not in rows:
        raise ValidationFailed(f"item: no item {item!r} in {interaction.scorecard}")
    standing = standing_decisions(session, review)
    row = rows[item]
    turns = tuple(int(e["turn"]) for e in (row.evidence or []) if isinstance(e.get("turn"), int))
    return review, _Decision(standing.get(item), row.title, turns)


def publish_example(
    session: Session,
    principal: Principal,
    interaction_id: int,
    *,
    item: str,
    kind: str,
    note: str | None,
    keys: KeyRing,
    now: datetime,
) -> CoachingExample:
    """Publish a reviewed interaction as a good (item passed) or bad (item failed) example, de-identified."""
    authorize(principal, "coaching.publish")
    if kind not in EXAMPLE_KINDS:
        raise ValidationFailed("kind: must be good or bad")
    interaction = load_interaction(session, principal, interaction_id, "coaching.publish")
    review, decision = _standing(session, interaction, item)
    if decision.passed is None or decision.passed != (kind == "good"):
        state = {True: "passed", False: "failed", None: "was not decided"}[decision.passed]
        raise ValidationFailed(f"item {item} {state} in the review; it cannot be a {kind} example")
    if kind == "bad" and review.status not in CLOSED_REVIEW_STATUSES:  # a finding may still be appealed
        raise ValidationFailed(f"review {review.id} is not settled yet; publish a bad example once it is")
    return _store_example(
        session, principal, interaction=interaction, review_id=review.id, item=item, title=decision.title,
        kind=kind, note=note, evidence_turns=decision.evidence_turns, keys=keys, now=now,
    )  # fmt: skip


def _store_example(
    session: Session,
    actor: Principal | str,
    *,
    interaction: QcInteraction,
    review_id: int | None,
    item: str,
    title: str,
    kind: str,
    note: str | None,
    evidence_turns: Sequence[int],
    keys: KeyRing,
    now: datetime,
    complaint_id: int | None = None,
) -> CoachingExample:
    existing = session.scalar(
        select(CoachingExample).where(
            CoachingExample.interaction_id == interaction.id, CoachingExample.item == item
        )
    )
    if existing is not None and existing.withdrawn_at is None:
        raise Conflict(f"interaction {interaction.id} is already an example for {item}")
    content = decrypt_content(interaction, keys)
    turns: list[Mapping[str, Any]] = content.get("turns", [])
    known = known_personal_data(
        session, case_id=interaction.case_id, collector_id=interaction.collector_id, keys=keys
    )
    excerpt = [
        {"turn": i, "speaker": turns[i].get("speaker"), "text": deidentify(str(turns[i].get("text", "")), known, interaction.language)}
        for i in _excerpt_turns(turns, evidence_turns)
    ]  # fmt: skip
    clean_note = (
        deidentify(note.strip(), known, interaction.language)[:2000] if note and note.strip() else None
    )
    example = existing or CoachingExample(interaction_id=interaction.id, item=item)
    if existing is None:
        session.add(example)
    example.review_id, example.complaint_id = review_id, complaint_id
    example.scorecard, example.item_title, example.kind = interaction.scorecard, title[:200], kind
    example.language, example.channel, example.excerpt, example.note = (
        interaction.language,
        interaction.channel,
        excerpt,
        clean_note,
    )
    example.published_by = actor.username[:120] if isinstance(actor, Principal) else str(actor)[:120]
    example.published_at, example.withdrawn_at = now, None
    session.flush()
    audit.record(session, actor, "coaching.publish", "coaching_example", example.id,
                 after={"interaction_id": interaction.id, "item": item, "kind": kind, "complaint_id": complaint_id}, at=now)  # fmt: skip
    return example


def publish_complaint_example(
    session: Session,
    actor: Principal | str,
    complaint: Complaint,
    *,
    item: str,
    title: str,
    scorecard: str,
    text: str,
    keys: KeyRing,
    now: datetime,
) -> CoachingExample:
    """An upheld conduct complaint with no interaction on record: the complaint itself, de-identified,
    as a bad example of the conduct item it concerns."""
    existing = session.scalar(
        select(CoachingExample).where(
            CoachingExample.complaint_id == complaint.id, CoachingExample.item == item
        )
    )
    if existing is not None:
        return existing
    known = known_personal_data(
        session, case_id=complaint.case_id, collector_id=complaint.collector_id, keys=keys
    )
    example = CoachingExample(
        interaction_id=None, review_id=None, complaint_id=complaint.id, scorecard=scorecard, item=item,
        item_title=title[:200], kind="bad", language=complaint.language, channel="complaint",
        excerpt=[{"turn": 0, "speaker": "complainant", "text": deidentify(text, known, complaint.language)}],
        note=None, published_by=actor.username[:120] if isinstance(actor, Principal) else str(actor)[:120],
        published_at=now,
    )  # fmt: skip
    session.add(example)
    session.flush()
    audit.record(session, actor, "coaching.publish", "coaching_example", example.id,
                 after={"complaint_id": complaint.id, "item": item, "kind": "bad"}, at=now)  # fmt: skip
    return example


def withdraw_example(
    session: Session, principal: Principal, example_id: int, *, now: datetime
) -> CoachingExample:
    authorize(principal, "coaching.publish")
    example = session.get(CoachingExample, example_id)
    if example is None:
        raise not_found("example", example_id)
    if example.withdrawn_at is not None:
        raise Conflict(f"example {example_id} was already withdrawn")
    example.withdrawn_at = now
    session.flush()
    audit.record(session, principal, "coaching.withdraw", "coaching_example", example.id, at=now)
    return example


def example_view(e: CoachingExample) -> dict[str, Any]:
    return {
        "id": e.id,
        "scorecard": e.scorecard,
        "item": e.item,
        "item_title": e.item_title,
        "kind": e.kind,
        "language": e.language,
        "channel": e.channel,
        "excerpt": e.excerpt,
        "note": e.note,
        "source": "complaint" if e.complaint_id is not None else "review",
        "published_at": e.published_at,
    }


def library(
    session: Session,
    principal: Principal,
    *,
    item: str | None = None,
    kind: str | None = None,
    language: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Published examples (never withdrawn ones), by scorecard item, good before bad, newest first."""
    authorize(principal, "coaching.read")
    q = select(CoachingExample).where(CoachingExample.withdrawn_at.is_(None))
    if item:
        q = q.where(CoachingExample.item == item)
    if kind:
        q = q.where(CoachingExample.kind == kind)
    if language:
        q = q.where(CoachingExample.language.like(f"{language[:2]}%"))
    q = q.order_by(
        CoachingExample.item, CoachingExample.kind.desc(), CoachingExample.published_at.desc()
    ).limit(limit)
    return [example_view(e) for e in session.scalars(q)]
