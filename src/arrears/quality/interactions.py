"""Interactions: import of call transcripts, SMS and e-mail texts and visit reports, each linked to its
case, collector and contact attempt, and scored automatically on import (100% machine QC).  # R23, R24

Import format — JSON lines, one interaction per line (the `arrears qc score` format plus links):

    {"id": "call-0001", "language": "zh-CN", "channel": "call", "occurred_at": "2026-11-20T02:15:00Z",
     "case_id": 12 | "account_ref": "A-1001" (+ "creditor": "BANK1") | "contact_id": 345,
     "collector": "c_east",                       # optional: else the contact's recorder, else the case holder
     "turns": [{"speaker": "agent", "text": "…", "start": 0.0, "end": 4.2}, …]}
    {"id": "sms-0002", "channel": "sms", "text": "…", …}           # SMS, letter: one agent turn
    {"id": "mail-0003", "channel": "email", "subject": "…", "text": "…", …}
    {"id": "visit-0004", "channel": "visit", "text": "visit report …", …}

Every line is read and checked before anything is written: a bad line is reported with its number,
field and reason and nothing is imported. Re-importing the same id with the same content is a no-op;
with different content it is refused.

Transcripts are stored encrypted (CN-D1); the machine's findings are stored per item with evidence
(scrubbed of numbers and e-mail addresses) and confidence. When a line carries no account figures, the
account's balances as of the interaction's date are read from the ledger, so the amounts the collector
stated are checked against the truth (R2).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, insert, select, true
from sqlalchemy.orm import Session

from arrears.core.clock import ensure_aware
from arrears.core.errors import ValidationFailed
from arrears.ledger.models import COMPONENTS, LedgerEntry, LedgerTransaction
from arrears.portfolio.models import Account, Case, Creditor
from arrears.quality.autoscore import ScoreResult, Screener, compile_scorecard, score_interaction
from arrears.quality.conversation import (
    AccountFigures,
    Interaction,
    InteractionError,
    parse_interaction,
    primary_language,
)
from arrears.quality.models import QcInteraction, QcItemResult, QcReview
from arrears.quality.scorecards import Scorecard, default_scorecard_for, load_scorecard
from arrears.security import audit
from arrears.security.masking import scrub
from arrears.security.models import User
from arrears.security.permissions import authorize, not_found
from arrears.security.pii import KeyRing
from arrears.security.principal import Principal

# Roles that see every interaction; collectors and agency staff see their own, team leads their team's.
QC_OVERSIGHT = frozenset({"qc_inspector", "manager", "compliance_officer", "admin"})
SINGLE_TURN_CHANNELS = frozenset({"sms", "email", "letter", "visit"})
MAX_TEXT = 200_000


# --------------------------------------------------------------------------------------------- scope


def collector_scope(principal: Principal, collector_col: Any) -> ColumnElement[bool]:
    """WHERE clause: the QC records (interactions, reviews, complaints) about collectors this principal
    may see — oversight roles all, a collector or agency user their own, a team lead their team's."""
    if principal.is_system or principal.role in QC_OVERSIGHT:
        return true()
    if principal.user_id is None:
        return false()
    if principal.role in ("collector", "agency"):
        return collector_col == principal.user_id
    if principal.role == "team_lead":
        if principal.team_id is None:
            return collector_col == principal.user_id
        members = select(User.id).where(User.team_id == principal.team_id).scalar_subquery()
        return collector_col.in_(members)
    return false()


def load_interaction(
    session: Session, principal: Principal, interaction_id: int, action: str
) -> QcInteraction:
    """An interaction the principal may act on: `Forbidden` for a role without `action`, `NotFound` when
    it is missing or about someone else's work (the same answer)."""
    authorize(principal, action)
    found = session.scalar(
        select(QcInteraction).where(
            QcInteraction.id == interaction_id, collector_scope(principal, QcInteraction.collector_id)
        )
    )
    if found is None:
        raise not_found("interaction", interaction_id)
    return found


# --------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ImportLine:
    """One validated import line; links are resolved against the database at import."""

    line: int
    interaction: Interaction
    raw_turns: tuple[dict[str, Any], ...]
    occurred_at: datetime
    case_id: int | None = None
    account_ref: str | None = None
    creditor: str | None = None
    contact_id: int | None = None
    collector: str | None = None
    scorecard: str | None = None
    subject: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _positive_int(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**62:
        raise InteractionError(key, "must be a positive integer")
    return value


def _short_text(raw: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InteractionError(key, f"must be a non-empty string of at most {limit} characters")
    return value.strip()


def parse_import_line(raw: Any, line: int = 0) -> ImportLine:
    """One decoded JSON object → an ImportLine; raises InteractionError naming the field."""
    if not isinstance(raw, Mapping):
        raise InteractionError("(line)", "must be a JSON object")
    channel = raw.get("channel", "call")
    body = dict(raw)
    subject = _short_text(raw, "subject", 400)
    if channel in SINGLE_TURN_CHANNELS and "turns" not in raw:
        text = raw.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InteractionError("text", f"a {channel} needs its text (or turns)")
        if len(text) > MAX_TEXT:
            raise InteractionError("text", f"longer than {MAX_TEXT} characters")
        full = f"{subject}\n{text}" if subject else text
        body["turns"] = [{"speaker": "agent", "text": full}]
    elif "text" in raw and "turns" not in raw:
        raise InteractionError("turns", f"a {channel} is a list of speaker turns, not one text")
    body.pop("text", None)
    interaction = parse_interaction(body)
    if len(interaction.id) > 120:
        raise InteractionError("id", "longer than 120 characters")
    if sum(len(t.text) for t in interaction.turns) > MAX_TEXT:
        raise InteractionError("turns", f"longer than {MAX_TEXT} characters in all")
    at_raw = raw.get("occurred_at")
    if not isinstance(at_raw, str):
        raise InteractionError("occurred_at", "is required: an ISO date-time with a time zone")
    try:
        occurred = ensure_aware(datetime.fromisoformat(at_raw.replace("Z", "+00:00")))
    except ValueError as exc:
        raise InteractionError("occurred_at", f"{at_raw!r} is not an ISO date-time with a time zone") from exc
    case_id = _positive_int(raw, "case_id")
    contact_id = _positive_int(raw, "contact_id")
    account_ref = _short_text(raw, "account_ref", 80)
    if case_id is None and contact_id is None and account_ref is None:
        raise InteractionError(
            "case_id", "link the interaction to a case: case_id, account_ref or contact_id"
        )
    raw_turns = tuple(
        {k: v for k, v in t.items() if k in ("speaker", "text", "start", "end", "interrupted", "overlap")}
        for t in body["turns"]
    )
    return ImportLine(
        line=line,
        interaction=interaction,
        raw_turns=raw_turns,
        occurred_at=occurred,
        case_id=case_id,
        account_ref=account_ref,
        creditor=_short_text(raw, "creditor", 64),
        contact_id=contact_id,
        collector=_short_text(raw, "collector", 80),
        scorecard=_short_text(raw, "scorecard", 400),
        subject=subject,
        metadata=dict(interaction.metadata),
    )


def content_of(line: ImportLine) -> dict[str, Any]:
    """What is stored (encrypted) for an interaction: its turns, channel, subject and metadata."""
    return {
        "channel": line.interaction.channel,
        "language": line.interaction.language,
        "subject": line.subject,
        "turns": list(line.raw_turns),
        "metadata": dict(line.metadata),
    }


def content_hash(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --------------------------------------------------------------------------------------------- import


@dataclass
class ImportReport:
    imported: list[int] = field(default_factory=list)  # new interaction ids
    unchanged: list[str] = field(default_factory=list)  # external ids already imported, same content
    results: list[ScoreResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "imported": len(self.imported),
            "unchanged": len(self.unchanged),
            "ids": self.imported,
            "fatal": sum(r.fatal for r in self.results),
            "below_standard": sum(not r.meets_standard for r in self.results),
        }


def account_figures(session: Session, account: Account, as_of: date) -> AccountFigures:
    """The account's balances on a date, from the ledger (entries effective on or before it)."""  # R2
    rows = session.execute(
        select(LedgerEntry.book, func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerEntry.account_id == account.id,
            LedgerEntry.book.in_(COMPONENTS),
            LedgerTransaction.effective_date <= as_of,
        )
        .group_by(LedgerEntry.book)
    ).all()
    parts = {book: int(total) for book, total in rows}
    amounts = {f"{c}_minor": max(parts.get(c, 0), 0) for c in COMPONENTS if parts.get(c, 0) > 0}
    amounts["balance_minor"] = max(sum(parts.values()), 0)
    return AccountFigures(currency=account.currency, amounts=amounts)


def _choose_card(line: ImportLine, fixed: str | None) -> Scorecard:
    card = load_scorecard(line.scorecard or fixed or default_scorecard_for(line.interaction.language))
    if primary_language(card.language) != line.interaction.primary_language:
        raise InteractionError(
            "language", f"{line.interaction.language} does not match scorecard {card.ref} ({card.language})"
        )
    return card


@dataclass
class _Resolved:
    line: ImportLine
    case: Case
    collector_id: int | None
    contact_id: int | None
    card: Scorecard
    content: dict[str, Any]
    digest: str


def _resolve(session: Session, line: ImportLine, card: Scorecard) -> _Resolved:
    from arrears.cases.models import Contact

    contact = None
    if line.contact_id is not None:
        contact = session.get(Contact, line.contact_id)
        if contact is None:
            raise InteractionError("contact_id", f"no contact attempt {line.contact_id}")
    case: Case | None = None
    if line.case_id is not None:
        case = session.get(Case, line.case_id)
        if case is None:
            raise InteractionError("case_id", f"no case {line.case_id}")
    elif line.account_ref is not None:
        q = (
            select(Case)
            .join(Account, Account.id == Case.account_id)
            .where(Account.account_ref == line.account_ref)
        )
        if line.creditor:
            q = q.join(Creditor, Creditor.id == Account.creditor_id).where(Creditor.code == line.creditor)
        cases = session.scalars(q.order_by(Case.opened_at.desc(), Case.id.desc())).all()
        accounts = {c.account_id for c in cases}
        if not cases:
            raise InteractionError("account_ref", f"no case for account {line.account_ref}")
        if len(accounts) > 1:
            raise InteractionError(
                "creditor", f"account {line.account_ref} exists for several creditors; name one"
            )
        case = cases[0]
    elif contact is not None:
        case = session.get(Case, contact.case_id)
    assert case is not None
    if contact is not None and contact.case_id != case.id:
        raise InteractionError(
            "contact_id", f"contact attempt {contact.id} belongs to case {contact.case_id}"
        )
    collector_id: int | None = None
    if line.collector is not None:
        collector_id = session.scalar(select(User.id).where(User.username == line.collector.lower()))
        if collector_id is None:
            raise InteractionError("collector", f"no user {line.collector!r}")
    elif contact is not None and contact.recorded_by is not None:
        collector_id = int(contact.recorded_by)
    elif case.assigned_to is not None:
        collector_id = int(case.assigned_to)
    content = content_of(line)
    return _Resolved(
        line, case, collector_id, contact.id if contact else None, card, content, content_hash(content)
    )


def _stored_evidence(result_evidence: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for e in result_evidence:
        d = e.to_dict()
        d["text"] = scrub(d["text"])
        if d.get("note"):
            d["note"] = scrub(d["note"])
        out.append(d)
    return out


def import_interactions(
    session: Session,
    principal: Principal,
    lines: Sequence[ImportLine],
    *,
    keys: KeyRing,
    now: datetime,
    scorecard: str | None = None,
    screener: Screener | None = None,
) -> ImportReport:
    """Validate and link every line, then score and store them all — or nothing (ValidationFailed with
    one `line n: field: reason` per bad line)."""
    authorize(principal, "qc.interactions.import")
    errors: list[str] = []
    resolved: list[_Resolved] = []
    seen: dict[str, int] = {}
    for line in lines:
        ident = line.interaction.id
        if ident in seen:
            errors.append(f"line {line.line}: id: {ident!r} also on line {seen[ident]}")
            continue
        seen[ident] = line.line
        try:
            card = _choose_card(line, scorecard)
            resolved.append(_resolve(session, line, card))
        except InteractionError as exc:
            errors.append(f"line {line.line}: {exc.field}: {exc.reason}")
        except (ValidationFailed, LookupError) as exc:
            errors.append(f"line {line.line}: scorecard: {getattr(exc, 'message', exc)}")
    existing = {
        ext: digest
        for ext, digest in session.execute(
            select(QcInteraction.external_id, QcInteraction.content_sha256).where(
                QcInteraction.external_id.in_(list(seen))
            )
        )
    }
    report = ImportReport()
    fresh: list[_Resolved] = []
    for r in resolved:
        prior = existing.get(r.line.interaction.id)
        if prior is None:
            fresh.append(r)
        elif prior == r.digest:
            report.unchanged.append(r.line.interaction.id)
        else:
            errors.append(
                f"line {r.line.line}: id: {r.line.interaction.id!r} was imported before with other content"
            )
    if errors:
        raise ValidationFailed(
            f"{len(errors)} bad line(s); nothing imported: " + "; ".join(errors[:20]), details=errors
        )
    if screener is None and any(it.check == "conduct" for r in fresh for it in r.card.items):
        from arrears.quality.autoscore import default_screener

        screener = default_screener()
    for r in fresh:
        interaction = r.line.interaction
        if interaction.account is None:
            account = session.get(Account, r.case.account_id)
            assert account is not None
            interaction = replace(
                interaction, account=account_figures(session, account, r.line.occurred_at.date())
            )
        result = score_interaction(interaction, compile_scorecard(r.card), screener=screener)
        row = store_scored(session, r, result, keys=keys, now=now, actor=principal.username)
        report.imported.append(row.id)
        report.results.append(result)
        audit.record(
            session,
            principal,
            "qc.interaction.import",
            "qc_interaction",
            row.id,
            after={
                "external_id": row.external_id,
                "case_id": row.case_id,
                "collector_id": row.collector_id,
                "contact_id": row.contact_id,
                "scorecard": row.scorecard,
                "score": row.score,
                "fatal": row.fatal,
            },
            at=now,
        )
    return report


def store_scored(
    session: Session, r: _Resolved, result: ScoreResult, *, keys: KeyRing, now: datetime, actor: str
) -> QcInteraction:
    line = r.line
    row = QcInteraction(
        external_id=line.interaction.id,
        case_id=r.case.id,
        collector_id=r.collector_id,
        contact_id=r.contact_id,
        channel=line.interaction.channel,
        language=line.interaction.language,
        occurred_at=line.occurred_at,
        content_enc=keys.encrypt(json.dumps(r.content, ensure_ascii=False, default=str)),
        content_sha256=r.digest,
        turns=len(line.interaction.turns),
        chars=sum(len(t.text) for t in line.interaction.turns),
        scorecard=result.scorecard,
        scorecard_fingerprint=result.fingerprint,
        pass_mark=r.card.pass_mark,
        score=result.score,
        fatal=result.fatal,
        meets_standard=result.meets_standard,
        pending_items=len(result.pending),
        undecided_items=len(result.needs_review),
        min_confidence=round(result.min_confidence, 4),
        features=result.features.to_dict(),
        imported_at=now,
        imported_by=actor[:120],
    )
    session.add(row)
    session.flush()
    # One executemany for the item rows (a transcript has a score of them; ORM objects cost more).
    session.execute(
        insert(QcItemResult),
        [
            {
                "interaction_id": row.id,
                "item": i.item,
                "title": i.title[:200],
                "passed": i.passed,
                "fatal_item": i.fatal_item,
                "weight": i.weight,
                "confidence": round(i.confidence, 4),
                "reason": scrub(i.reason)[:400],
                "manual": i.manual,
                "evidence": _stored_evidence(i.evidence),
            }
            for i in result.items
        ],
    )
    return row


# --------------------------------------------------------------------------------------------- reading


def usernames(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        uid: name for uid, name in session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    }


def decrypt_content(row: QcInteraction, keys: KeyRing) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(keys.decrypt(row.content_enc))
    return data


def item_rows(session: Session, interaction_id: int) -> list[QcItemResult]:
    return list(
        session.scalars(
            select(QcItemResult)
            .where(QcItemResult.interaction_id == interaction_id)
            .order_by(QcItemResult.id)
        )
    )


def interaction_summary(row: QcInteraction, usernames: Mapping[int, str] | None = None) -> dict[str, Any]:
    names = usernames or {}
    return {
        "id": row.id,
        "external_id": row.external_id,
        "case_id": row.case_id,
        "collector_id": row.collector_id,
        "collector": names.get(row.collector_id) if row.collector_id else None,
        "contact_id": row.contact_id,
        "channel": row.channel,
        "language": row.language,
        "occurred_at": row.occurred_at,
        "scorecard": row.scorecard,
        "score": row.score,
        "fatal": row.fatal,
        "meets_standard": row.meets_standard,
        "pending_items": row.pending_items,
        "final_score": row.final_score,
        "final_fatal": row.final_fatal,
    }


def interaction_detail(
    session: Session, principal: Principal, interaction_id: int, *, keys: KeyRing, now: datetime
) -> dict[str, Any]:
    """The transcript with the machine's findings (and the review, when there is one). Reading a
    transcript is audited: it holds personal data (CN-D1)."""
    row = load_interaction(session, principal, interaction_id, "qc.interactions.read")
    content = decrypt_content(row, keys)
    items = item_rows(session, row.id)
    review = session.scalar(select(QcReview).where(QcReview.interaction_id == row.id))
    audit.record(session, principal, "qc.interaction.read", "qc_interaction", row.id, at=now)
    names = usernames(session, [row.collector_id])
    return {
        **interaction_summary(row, names),
        "subject": content.get("subject"),
        "turns": content.get("turns", []),
        "features": row.features,
        "items": [
            {
                "item": i.item,
                "title": i.title,
                "passed": i.passed,
                "fatal_item": i.fatal_item,
                "weight": i.weight,
                "confidence": i.confidence,
                "reason": i.reason,
                "manual": i.manual,
                "evidence": i.evidence or [],
            }
            for i in items
        ],
        "review_id": review.id if review else None,
        "review_status": review.status if review else None,
    }


def list_interactions(
    session: Session,
    principal: Principal,
    *,
    case_id: int | None = None,
    collector_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    fatal: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    authorize(principal, "qc.interactions.read")
    where = [collector_scope(principal, QcInteraction.collector_id)]
    if case_id is not None:
        where.append(QcInteraction.case_id == case_id)
    if collector_id is not None:
        where.append(QcInteraction.collector_id == collector_id)
    if since is not None:
        where.append(QcInteraction.occurred_at >= since)
    if until is not None:
        where.append(QcInteraction.occurred_at < until)
    if fatal is not None:
        where.append(QcInteraction.fatal.is_(fatal))
    total = int(session.scalar(select(func.count()).select_from(QcInteraction).where(*where)) or 0)
    rows = session.scalars(
        select(QcInteraction)
        .where(*where)
        .order_by(QcInteraction.occurred_at.desc(), QcInteraction.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    names = usernames(session, [r.collector_id for r in rows])
    return [interaction_summary(r, names) for r in rows], total
