"""Legal route use cases (R15, R19): the formal notice, escalation request → approval → hand-over with the
case file, then stages with costs and outcome.

- The formal notice states the facts, the legal responsibility and the next measures; before it is
  stored its text is checked against the creditor's rule pack (CN-L1 letter contents) and refused when
  an item is missing.
- An escalation is requested by one person and approved by another (maker-checker, R19); the
  hand-over needs a formal notice on the case (R15: the debtor is told before the legal route) and
  stores the case file archive with the escalation.
Every change is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from arrears.compliance.packs import load_pack
from arrears.compliance.rules import check_letter, letter_labels
from arrears.core.errors import Conflict, Forbidden, ValidationFailed
from arrears.documents import letters
from arrears.documents import service as documents
from arrears.documents.models import Document
from arrears.documents.pdf import letter_text
from arrears.documents.storage import DocumentStore
from arrears.ledger import service as ledger
from arrears.legal import casefile, stages
from arrears.legal.models import HANDLERS, OPEN_ESCALATION, Escalation, LegalCost, LegalStageEvent
from arrears.portfolio.models import Account, Case, Creditor
from arrears.security import audit
from arrears.security.permissions import authorize, case_scope, not_found
from arrears.security.principal import Principal

# Why a case goes the legal route (R7, R15, R16).
GROUNDS = (
    "deliberate_evasion",
    "malicious_refusal",
    "fraud_suspected",
    "broken_arrangements",
    "unreachable",
    "large_balance",
    "other",
)
NOTICE_DEADLINE_DAYS = 15
DISPUTE_DAYS = 15


def _bad(field_name: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field_name}: {reason}", details=[{"field": field_name, "reason": reason}])


# --- the formal notice ----------------------------------------------------------------------------


class LetterIncomplete(Conflict):
    code = "letter_incomplete"


def check_notice_contents(session: Session, account: Account, text: str, as_of: date) -> None:
    """CN-L1: refuse a letter that lacks a required item of the creditor's rule pack."""
    pack_name = session.scalar(select(Creditor.rule_pack).where(Creditor.id == account.creditor_id)) or "cn"
    pack = load_pack(pack_name, as_of=as_of)
    missing = check_letter(text, pack)
    if missing:
        zh, en = letter_labels(pack, missing)
        raise LetterIncomplete(
            f"CN-L1: the formal notice lacks {en} ({zh})",
            details=[{"rule": "CN-L1", "missing": missing, "zh": zh, "en": en}],
        )


def formal_notice(
    session: Session,
    principal: Principal,
    store: DocumentStore,
    case_id: int,
    *,
    at: datetime,
    language: str | None = None,
    deadline_days: int = NOTICE_DEADLINE_DAYS,
) -> Document:
    """Issue the formal notice letter (R15) as a PDF on the case, checked for CN-L1 contents."""
    case = documents.visible_case(session, principal, "legal.notice", case_id)
    if case.status != "open":
        raise Conflict(f"case {case_id} is {case.status}; notices go out on open cases")
    account = documents.case_account(session, case)
    if ledger.Balances.of(account).total <= 0:
        raise Conflict(f"account {account.account_ref} owes nothing")
    if not 7 <= deadline_days <= 60:
        raise _bad("deadline_days", "must be between 7 and 60")
    lang = letters.language_of(language) if language else documents.debtor_language(session, account)
    today = at.date()
    facts = documents.account_facts(session, account, today)
    letter = letters.formal_notice(
        facts, lang, issued=today, deadline=today + timedelta(days=deadline_days), dispute_days=DISPUTE_DAYS
    )
    check_notice_contents(session, account, letter_text(letter), today)
    return documents.store_letter(
        session, store, principal, case=case, kind="formal_notice", letter=letter, at=at
    )


# --- escalation -----------------------------------------------------------------------------------


def visible_escalation(session: Session, principal: Principal, action: str, escalation_id: int) -> Escalation:
    authorize(principal, action)
    esc = session.get(Escalation, escalation_id)
    if esc is None:
        raise not_found("escalation", escalation_id)
    if not session.scalar(select(exists().where(Case.id == esc.case_id, case_scope(principal)))):
        raise not_found("escalation", escalation_id)
    return esc


def list_escalations(session: Session, principal: Principal, case_id: int) -> list[Escalation]:
    documents.visible_case(session, principal, "legal.read", case_id)
    return list(
        session.scalars(select(Escalation).where(Escalation.case_id == case_id).order_by(Escalation.id))
    )


def pending_escalations(session: Session, principal: Principal) -> list[Escalation]:
    """Escalations waiting for approval on cases in the principal's scope (the lead's inbox)."""
    authorize(principal, "legal.approve")
    q = (
        select(Escalation)
        .join(Case, Case.id == Escalation.case_id)
        .where(Escalation.status == "requested", case_scope(principal))
        .order_by(Escalation.requested_at, Escalation.id)
    )
    return list(session.scalars(q))


def request_escalation(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    grounds: Sequence[str],
    reason: str,
    at: datetime,
) -> Escalation:
    """Ask for the case to take the legal route (R7: malicious refusal → legal route)."""
    case = documents.visible_case(session, principal, "legal.escalate", case_id)
    if case.status != "open":
        raise Conflict(f"case {case_id} is {case.status}; only open cases are escalated")
    if not grounds:
        raise _bad("grounds", f"at least one of {', '.join(GROUNDS)}")
    for g in grounds:
        if g not in GROUNDS:
            raise _bad("grounds", f"{g!r} is not one of {', '.join(GROUNDS)}")
    if not reason or not reason.strip() or len(reason) > 4000:
        raise _bad("reason", "a reason of 1–4000 characters is required")
    account = documents.case_account(session, case)
    owed = ledger.Balances.of(account).total
    if owed <= 0:
        raise Conflict(f"account {account.account_ref} owes nothing")
    busy = session.scalar(
        select(Escalation.id)
        .where(Escalation.case_id == case.id, Escalation.status.in_(OPEN_ESCALATION))
        .limit(1)
    )
    if busy is not None:
        raise Conflict(f"case {case_id} already has escalation {busy} under way")
    esc = Escalation(
        case_id=case.id,
        account_id=account.id,
        status="requested",
        grounds=sorted(set(grounds)),
        reason=reason.strip(),
        currency=account.currency,
        owed_at_request=owed,
        requested_by=principal.user_id,
        requested_by_name=principal.username,
        requested_at=at,
    )
    session.add(esc)
    session.flush()
    audit.record(
        session, principal, "escalation.request", "escalation", esc.id,
        after={"case_id": case.id, "grounds": esc.grounds, "owed": owed}, at=at,
    )  # fmt: skip
    return esc


def _decide(session: Session, principal: Principal, escalation_id: int) -> Escalation:
    esc = visible_escalation(session, principal, "legal.approve", escalation_id)
    if esc.status != "requested":
        raise Conflict(f"escalation {escalation_id} is {esc.status}, not waiting for a decision")
    if (
        principal.user_id is not None and principal.user_id == esc.requested_by
    ) or principal.username == esc.requested_by_name:
        raise Forbidden("maker-checker: the person who asked for an escalation cannot decide on it")  # R19
    return esc


def approve_escalation(
    session: Session, principal: Principal, escalation_id: int, *, at: datetime, note: str | None = None
) -> Escalation:
    esc = _decide(session, principal, escalation_id)
    esc.status = "approved"
    esc.decided_by, esc.decided_by_name, esc.decided_at = principal.user_id, principal.username, at
    esc.decision_note = (note or "").strip()[:2000] or None
    audit.record(
        session, principal, "escalation.approve", "escalation", esc.id,
        before={"status": "requested"}, after={"status": "approved", "note": esc.decision_note}, at=at,
    )  # fmt: skip
    return esc


def reject_escalation(
    session: Session, principal: Principal, escalation_id: int, *, at: datetime, note: str
) -> Escalation:
    esc = _decide(session, principal, escalation_id)
    if not note or not note.strip():
        raise _bad("note", "a rejection needs a reason")
    esc.status = "rejected"
    esc.decided_by, esc.decided_by_name, esc.decided_at = principal.user_id, principal.username, at
    esc.decision_note, esc.closed_at = note.strip()[:2000], at
    audit.record(
        session, principal, "escalation.reject", "escalation", esc.id,
        before={"status": "requested"}, after={"status": "rejected", "note": esc.decision_note}, at=at,
    )  # fmt: skip
    return esc


@dataclass
class HandOver:
    escalation: Escalation
    casefile: casefile.CaseFile
    document: Document


def hand_over(
    session: Session,
    principal: Principal,
    store: DocumentStore,
    escalation_id: int,
    *,
    handler_kind: str,
    handler_name: str | None,
    at: datetime,
) -> HandOver:
    """Hand an approved escalation to the legal department or a law firm with its case file (R19)."""
    esc = visible_escalation(session, principal, "legal.handover", escalation_id)
    if esc.status != "approved":
        raise Conflict(
            f"escalation {escalation_id} is {esc.status}; only an approved escalation is handed over"
        )
    if handler_kind not in HANDLERS:
        raise _bad("handler_kind", f"must be one of {', '.join(HANDLERS)}")
    name = (handler_name or "").strip()
    if handler_kind == "law_firm" and not name:
        raise _bad("handler_name", "name the law firm")
    if len(name) > 200:
        raise _bad("handler_name", "at most 200 characters")
    notice = session.scalar(
        select(Document.id).where(Document.case_id == esc.case_id, Document.kind == "formal_notice").limit(1)
    )
    if notice is None:
        raise Conflict(f"case {esc.case_id} has no formal notice; issue one before the hand-over (R15)")
    case = session.get(Case, esc.case_id)
    assert case is not None  # foreign key
    esc.status, esc.handler_kind, esc.handler_name = "handed_over", handler_kind, name or None
    esc.handed_over_at, esc.handed_over_by_name = at, principal.username
    esc.stage = "pre_litigation"
    session.add(
        LegalStageEvent(
            escalation_id=esc.id, stage="pre_litigation", on_date=at.date(), recorded_by_name=principal.username,
            recorded_at=at, note=f"handed over to {handler_kind}{': ' + name if name else ''}",
        )
    )  # fmt: skip
    session.flush()
    archive = casefile.build_casefile(session, store, principal, case, at=at, escalation=esc)
    doc = documents.store_document(
        session, store, principal, case=case, kind="casefile", data=archive.data, file_name=archive.file_name,
        content_type="application/zip", at=at, description=f"case file for escalation {esc.id}",
        source="escalation", source_id=esc.id,
    )  # fmt: skip
    esc.casefile_document_id = doc.id
    audit.record(
        session, principal, "escalation.handover", "escalation", esc.id,
        before={"status": "approved"},
        after={"status": "handed_over", "handler_kind": handler_kind, "handler_name": esc.handler_name,
               "casefile_document_id": doc.id, "casefile_sha256": archive.sha256},
        at=at,
    )  # fmt: skip
    return HandOver(esc, archive, doc)


@dataclass(frozen=True)
class CostIn:
    kind: str
    amount: int  # minor units
    note: str | None = None


def record_stage(
    session: Session,
    principal: Principal,
    escalation_id: int,
    *,
    stage: str,
    on_date: date,
    at: datetime,
    reference: str | None = None,
    note: str | None = None,
    outcome: str | None = None,
    recovered: int | None = None,
    costs: Sequence[CostIn] = (),
) -> Escalation:
    """Move a handed-over case to its next legal stage, with costs incurred and the outcome (R19)."""
    esc = visible_escalation(session, principal, "legal.stage", escalation_id)
    if esc.status != "handed_over":
        raise Conflict(f"escalation {escalation_id} is {esc.status}; stages follow the hand-over")
    try:
        stages.check_transition(esc.stage, stage, outcome)
        for c in costs:
            stages.check_cost(c.kind, c.amount)
    except stages.StageError as exc:
        raise ValidationFailed(str(exc)) from None
    if on_date > at.date():
        raise _bad("on_date", "must not be in the future")
    if recovered is not None and recovered < 0:
        raise _bad("recovered", "must not be negative")
    for text, name, limit in ((reference, "reference", 120), (note, "note", 4000)):
        if text is not None and len(text) > limit:
            raise _bad(name, f"at most {limit} characters")
    before = esc.stage
    session.add(
        LegalStageEvent(
            escalation_id=esc.id, stage=stage, on_date=on_date, reference=reference, note=note, outcome=outcome,
            recovered=recovered, recorded_by_name=principal.username, recorded_at=at,
        )
    )  # fmt: skip
    for c in costs:
        session.add(
            LegalCost(
                escalation_id=esc.id, stage=stage, kind=c.kind, amount=c.amount, currency=esc.currency,
                incurred_on=on_date, note=c.note, recorded_by_name=principal.username, recorded_at=at,
            )
        )  # fmt: skip
    esc.stage = stage
    if outcome is not None:
        esc.outcome = outcome
    if stage == "closed":
        esc.status, esc.closed_at = "closed", at
    session.flush()
    audit.record(
        session, principal, "escalation.stage", "escalation", esc.id,
        before={"stage": before},
        after={"stage": stage, "outcome": outcome, "costs": [{"kind": c.kind, "amount": c.amount} for c in costs],
               "reference": reference},
        at=at,
    )  # fmt: skip
    return esc


def costs_total(session: Session, escalation_id: int) -> int:
    return sum(session.scalars(select(LegalCost.amount).where(LegalCost.escalation_id == escalation_id)))


def export_casefile(
    session: Session, principal: Principal, store: DocumentStore, case_id: int, *, at: datetime
) -> casefile.CaseFile:
    """The current case file of a case as one archive; the export is audited (CN-D1)."""
    case = documents.visible_case(session, principal, "cases.casefile", case_id)
    esc = session.scalar(
        select(Escalation).where(Escalation.case_id == case.id).order_by(Escalation.id.desc()).limit(1)
    )
    archive = casefile.build_casefile(session, store, principal, case, at=at, escalation=esc)
    audit.record(
        session, principal, "casefile.export", "case", case.id,
        after={"sha256": archive.sha256, "files": len(archive.manifest["files"])}, at=at,
    )  # fmt: skip
    return archive
