"""Debtor progress feedback (R14): statements on demand and after every payment, a paid-in-full letter
when an account is cleared, and an acknowledgement when a promise to pay is kept.

`after_payment` is the hook a payment path calls inside its transaction, right after
`arrears.ledger.service.post_payment`: it follows the account's plans (a settlement paid in full has its
remainder waived) and stores a statement in the debtor's language. Documents need the creditor's
letterhead; without one the hook still follows the plans and says why no document was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.core.errors import Conflict, NotFound
from arrears.documents import letters
from arrears.documents import service as documents
from arrears.documents.models import Document
from arrears.documents.pdf import Letter
from arrears.documents.storage import DocumentStore
from arrears.plans.statement import Statement, build_statement
from arrears.portfolio.models import Account, Case

Actor = documents.Actor


def plan_text(st: Statement, language: str) -> str | None:
    if st.plan is None:
        return None
    p = st.plan
    kind = letters.pick(letters.PLAN_KINDS.get(p.kind, (p.kind, p.kind)), language)
    paid, total = letters.money(p.paid, st.currency, language), letters.money(p.total, st.currency, language)
    status = {
        "active": ("执行中", "in progress"),
        "completed": ("已完成", "completed"),
        "broken": ("已终止（未按期还款）", "ended (a payment was missed)"),
    }.get(p.status, (p.status, p.status))
    if language == "zh":
        return f"还款计划（{kind}，编号 {p.plan_id}）：{letters.pick(status, language)}，计划总额 {total}，已还 {paid}。"
    return f"Repayment plan {p.plan_id} ({kind}): {letters.pick(status, language)}; {paid} paid of {total}."


def statement_letter(
    session: Session, account: Account, *, as_of: date, language: str
) -> tuple[Statement, Letter]:
    st = build_statement(session, account, as_of)
    facts = documents.account_facts(session, account, as_of)
    letter = letters.statement_letter(
        facts,
        language,
        issued=as_of,
        paid=st.paid,
        total_paid=st.total_paid,
        next_due=st.next_due,
        next_amount=st.next_amount,
        plan_text=plan_text(st, language),
    )
    return st, letter


def statement_document(
    session: Session,
    store: DocumentStore,
    account: Account,
    *,
    at: datetime,
    actor: Actor = "system",
    language: str | None = None,
    source: str | None = None,
    source_id: int | None = None,
) -> Document | None:
    """A statement PDF stored on the account's case (None when the account has no case)."""
    case = documents.latest_case(session, account.id)
    if case is None:
        return None
    lang = letters.language_of(language) if language else documents.debtor_language(session, account)
    _st, letter = statement_letter(session, account, as_of=at.date(), language=lang)
    return documents.store_letter(
        session,
        store,
        actor,
        case=case,
        kind="statement",
        letter=letter,
        at=at,
        source=source,
        source_id=source_id,
    )


def paid_in_full_document(
    session: Session,
    store: DocumentStore,
    account: Account,
    *,
    at: datetime,
    actor: Actor = "system",
    language: str | None = None,
) -> Document | None:
    """The paid-in-full letter of a cleared account, once (None if not cleared or already issued)."""
    if account.status != "paid":
        return None
    case = documents.latest_case(session, account.id)
    if case is None:
        return None
    issued = session.scalar(
        select(Document.id).where(Document.account_id == account.id, Document.kind == "paid_in_full").limit(1)
    )
    if issued is not None:
        return None
    st = build_statement(session, account, at.date())
    lang = letters.language_of(language) if language else documents.debtor_language(session, account)
    facts = documents.account_facts(session, account, at.date())
    letter = letters.paid_in_full(
        facts,
        lang,
        issued=at.date(),
        paid_on=st.last_payment_on or at.date(),
        total_paid=st.total_paid,
        waived=sum(st.waived.values()),
    )
    return documents.store_letter(session, store, actor, case=case, kind="paid_in_full", letter=letter, at=at)


@dataclass
class Feedback:
    plan_changes: list[object] = field(default_factory=list)
    statement: Document | None = None
    paid_in_full: Document | None = None
    notes: list[str] = field(default_factory=list)


def after_payment(
    session: Session,
    store: DocumentStore | None,
    account: Account,
    *,
    at: datetime,
    actor: Actor = "system",
    payment_tx_id: int | None = None,
    language: str | None = None,
) -> Feedback:
    """Call after every payment (same transaction): follow the plans, then store a statement (R14)."""
    from arrears.plans.service import evaluate_account

    out = Feedback()
    out.plan_changes = list(
        evaluate_account(session, account, as_of=at.date(), at=at, actor=actor, store=None)
    )
    if store is None:
        return out
    try:
        out.paid_in_full = paid_in_full_document(
            session, store, account, at=at, actor=actor, language=language
        )
        out.statement = statement_document(
            session,
            store,
            account,
            at=at,
            actor=actor,
            language=language,
            source="payment",
            source_id=payment_tx_id,
        )
    except Conflict as exc:  # no letterhead: the payment and the plans stand, the letters wait
        out.notes.append(exc.message)
    return out


def promise_kept_ack(
    session: Session,
    store: DocumentStore,
    *,
    case_id: int,
    paid_on: date,
    amount_paid: int,
    promised_on: date,
    promised_amount: int,
    at: datetime,
    actor: Actor = "system",
    language: str | None = None,
    promise_id: int | None = None,
) -> Document:
    """The acknowledgement of a kept promise to pay, as a PDF on the case (R14: cooperation acknowledged)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    account = documents.case_account(session, case)
    lang = letters.language_of(language) if language else documents.debtor_language(session, account)
    st = build_statement(session, account, at.date())
    facts = documents.account_facts(session, account, at.date())
    letter = letters.promise_ack(
        facts,
        lang,
        issued=at.date(),
        paid_on=paid_on,
        amount_paid=amount_paid,
        promised_on=promised_on,
        promised_amount=promised_amount,
        next_due=st.next_due,
        next_amount=st.next_amount,
    )
    return documents.store_letter(
        session,
        store,
        actor,
        case=case,
        kind="promise_ack",
        letter=letter,
        at=at,
        source="promise",
        source_id=promise_id,
    )
