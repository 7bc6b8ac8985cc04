"""Plan use cases (R13, R16, R7): make a plan or concession within authority, approve it (maker-checker),
follow it against ledger payments to completed or broken, assess affordability.

- A plan within the maker's authority starts at once; above it, it waits for an approver — a different
  user, in a role that approves, whose limits (for the account's creditor) cover the concession.
- Relief is granted through `arrears.ledger.service.waive` when the plan starts.
- A settlement's remainder is waived through the ledger only when the settlement total has been paid
  in full; a settlement that breaks waives nothing.
- Payments count toward a plan from its start date; reversed payments do not count.
Every change writes an audit event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased, selectinload

from arrears.core.errors import Conflict, Forbidden, ValidationFailed
from arrears.documents import letters
from arrears.documents import service as documents
from arrears.documents.models import Document
from arrears.documents.storage import DocumentStore
from arrears.ledger import service as ledger
from arrears.ledger.models import COMPONENTS, LedgerTransaction
from arrears.plans import affordability, authority, schedule
from arrears.plans.authority import AUTHORITY_ROLES, Concession, Limits
from arrears.plans.models import (
    OPEN_STATUSES,
    PLAN_KINDS,
    AffordabilityAssessment,
    AuthorityLimit,
    Plan,
    PlanInstalment,
)
from arrears.portfolio.models import Account, Case, Creditor
from arrears.security import audit
from arrears.security.permissions import authorize, case_scope, not_found
from arrears.security.principal import Principal

RELIEF_COMPONENTS = ("penalty", "interest")  # R13: relief waives penalty and interest
MAX_GRACE_DAYS = 60
MAX_HORIZON = timedelta(days=3660)  # a first payment or deferred date at most ten years ahead
Actor = Principal | str


@dataclass(frozen=True)
class PlanRequest:
    """What a user asks for. Amounts are minor units of the account's currency."""

    kind: str
    reason: str
    total: int | None = None  # settlement: the discounted total; instalment: defaults to the amount owed
    count: int = 1
    frequency: str = "monthly"
    first_due: date | None = None  # instalment and settlement
    deferred_to: date | None = None  # deferral
    waive: Mapping[str, int] | None = None  # relief: component → amount
    grace_days: int = 5
    affordability_id: int | None = None
    language: str | None = None  # of the letter; default the debtor's


@dataclass
class PlanOutcome:
    plan: Plan
    letter: Document | None = None
    notes: list[str] = field(default_factory=list)


# --- authority limits -----------------------------------------------------------------------------


def limits_for(session: Session, creditor_id: int, role: str) -> Limits:
    """The creditor's limits for the role: table rows, else the shipped file (per creditor, then defaults)."""
    row = session.scalar(
        select(AuthorityLimit).where(AuthorityLimit.creditor_id == creditor_id, AuthorityLimit.role == role)
    )
    if row is not None:
        return Limits(row.max_discount_bps, row.max_instalments, row.max_waiver_minor, row.max_deferral_days)
    shipped = authority.shipped()
    code = session.scalar(select(Creditor.code).where(Creditor.id == creditor_id))
    by_role = shipped.creditors.get(code or "", shipped.defaults)
    return by_role.get(role, authority.NO_AUTHORITY)


def limits_by_role(session: Session, creditor_id: int) -> dict[str, Limits]:
    return {role: limits_for(session, creditor_id, role) for role in AUTHORITY_ROLES}


def load_limits(session: Session, actor: Actor, text: str, source: str, *, at: datetime) -> dict[str, int]:
    """Load a limits document (YAML) into the table for the creditors it names; validated first."""
    if isinstance(actor, Principal):
        authorize(actor, "authority.configure")
    try:
        doc = authority.parse_limits_text(text, source, base=authority.shipped().defaults)
    except authority.AuthorityError as exc:
        raise ValidationFailed(str(exc)) from None
    if not doc.creditors:
        raise ValidationFailed(f"{source}: no `creditors:` section, nothing to load")
    counts: dict[str, int] = {}
    for code, by_role in doc.creditors.items():
        creditor = session.scalar(select(Creditor).where(Creditor.code == code))
        if creditor is None:
            raise ValidationFailed(f"{source}.creditors.{code}: no such creditor")
        for role, lim in by_role.items():
            row = session.scalar(
                select(AuthorityLimit).where(
                    AuthorityLimit.creditor_id == creditor.id, AuthorityLimit.role == role
                )
            )
            before = None
            if row is None:
                row = AuthorityLimit(creditor_id=creditor.id, role=role, **lim.as_dict(), updated_at=at)
                session.add(row)
            else:
                before = Limits(
                    row.max_discount_bps, row.max_instalments, row.max_waiver_minor, row.max_deferral_days
                ).as_dict()
                for k, v in lim.as_dict().items():
                    setattr(row, k, v)
            row.updated_at, row.updated_by = at, documents.actor_name(actor)
            audit.record(
                session, actor, "authority.set", "creditor", creditor.id,
                before=before, after={"role": role, **lim.as_dict()}, at=at,
            )  # fmt: skip
        counts[code] = len(by_role)
    session.flush()
    return counts


# --- reading --------------------------------------------------------------------------------------


def owed_of(account: Account) -> int:
    """What the debtor owes net of any credit balance (R14: the figure a plan settles)."""
    return ledger.Balances.of(account).total


def visible_plan(session: Session, principal: Principal, action: str, plan_id: int) -> Plan:
    """A plan whose case is in the principal's scope for `action`; 404 (plan) otherwise."""
    authorize(principal, action)
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise not_found("plan", plan_id)
    case = session.get(Case, plan.case_id)
    visible = session.scalar(select(exists().where(Case.id == plan.case_id, case_scope(principal))))
    if case is None or not visible:
        raise not_found("plan", plan_id)
    return plan


def list_plans(session: Session, principal: Principal, case_id: int) -> list[Plan]:
    documents.visible_case(session, principal, "plans.read", case_id)
    return list(session.scalars(select(Plan).where(Plan.case_id == case_id).order_by(Plan.id)))


def pending_approvals(session: Session, principal: Principal) -> list[Plan]:
    """The approvals inbox: plans waiting for approval on cases in the principal's scope."""
    authorize(principal, "plans.approve")
    q = (
        select(Plan)
        .join(Case, Case.id == Plan.case_id)
        .where(Plan.status == "pending_approval", case_scope(principal))
        .order_by(Plan.created_at, Plan.id)
    )
    return list(session.scalars(q))


def plan_schedule(plan: Plan) -> list[schedule.ScheduledPayment]:
    return [schedule.ScheduledPayment(i.seq, i.due_date, i.amount) for i in plan.instalments]


def payments_since(session: Session, account_id: int, start: date) -> list[schedule.Payment]:
    """Payments on the account from `start`, leaving out any that were reversed."""
    reversal = aliased(LedgerTransaction)
    rows = session.execute(
        select(LedgerTransaction.effective_date, LedgerTransaction.amount)
        .where(
            LedgerTransaction.account_id == account_id,
            LedgerTransaction.kind == "payment",
            LedgerTransaction.effective_date >= start,
            ~exists().where(reversal.reverses_id == LedgerTransaction.id),
        )
        .order_by(LedgerTransaction.effective_date, LedgerTransaction.id)
    ).all()
    return [schedule.Payment(d, int(a)) for d, a in rows]


def progress(session: Session, plan: Plan, as_of: date) -> schedule.Progress | None:
    """Where a payment plan stands (None for relief, which has no schedule)."""
    if plan.kind == "relief":
        return None
    return schedule.evaluate(
        plan_schedule(plan), payments_since(session, plan.account_id, plan.start_date), as_of, plan.grace_days
    )


# --- making a plan --------------------------------------------------------------------------------


def _bad(field_name: str, reason: str) -> ValidationFailed:
    return ValidationFailed(f"{field_name}: {reason}", details=[{"field": field_name, "reason": reason}])


@dataclass(frozen=True)
class _Terms:
    total: int
    count: int
    frequency: str | None
    first_due: date | None
    waive: dict[str, int] | None
    waiver: int
    lines: list[schedule.ScheduledPayment]


def _terms(req: PlanRequest, account: Account, owed: int, today: date) -> _Terms:
    """Validate the request against the account and work out the plan's terms (R13)."""
    if req.kind not in PLAN_KINDS:
        raise _bad("kind", f"must be one of {', '.join(PLAN_KINDS)}")
    if not req.reason or not req.reason.strip() or len(req.reason) > 2000:
        raise _bad("reason", "a reason of 1–2000 characters is required")
    if not 0 <= req.grace_days <= MAX_GRACE_DAYS:
        raise _bad("grace_days", f"must be between 0 and {MAX_GRACE_DAYS}")
    if req.kind == "relief":
        parts = dict(req.waive or {})
        if not parts or not any(parts.values()):
            raise _bad("waive", "relief needs an amount of penalty or interest to waive")
        for comp, amount in parts.items():
            if comp not in RELIEF_COMPONENTS:
                raise _bad(f"waive.{comp}", f"relief waives {' or '.join(RELIEF_COMPONENTS)} only")
            if amount < 0:
                raise _bad(f"waive.{comp}", "must not be negative")
            if amount > getattr(account, comp):
                raise _bad(f"waive.{comp}", f"{amount} is more than the {getattr(account, comp)} owed")
        return _Terms(0, 0, None, None, parts, sum(parts.values()), [])
    if req.kind == "deferral":
        if req.deferred_to is None:
            raise _bad("deferred_to", "a deferral needs the date it defers to")
        if req.deferred_to <= today:
            raise _bad("deferred_to", "must be after today")
        if req.deferred_to > today + MAX_HORIZON:
            raise _bad("deferred_to", "must be within ten years")
        lines = schedule.generate_schedule(owed, 1, "monthly", req.deferred_to)
        return _Terms(owed, 1, None, req.deferred_to, None, 0, lines)
    if req.first_due is None:
        raise _bad("first_due", "the date of the first payment is required")
    if req.first_due < today:
        raise _bad("first_due", "must not be in the past")
    if req.first_due > today + MAX_HORIZON:
        raise _bad("first_due", "must be within ten years")
    if req.frequency not in schedule.FREQUENCIES:
        raise _bad("frequency", f"must be one of {', '.join(schedule.FREQUENCIES)}")
    if not 1 <= req.count <= schedule.MAX_INSTALMENTS:
        raise _bad("count", f"must be between 1 and {schedule.MAX_INSTALMENTS}")
    if req.kind == "instalment":
        total = owed if req.total is None else req.total
        if total != owed:
            raise _bad(
                "total",
                f"an instalment plan covers the full amount owed ({owed}); use a settlement for a discounted total",
            )
    else:
        if req.total is None:
            raise _bad("total", "a settlement needs its discounted total")
        total = req.total
        if not 0 < total < owed:
            raise _bad("total", f"a settlement total must be above 0 and below the amount owed ({owed})")
    if total < req.count:
        raise _bad("count", f"{req.count} instalments do not fit a total of {total} minor units")
    lines = schedule.generate_schedule(total, req.count, req.frequency, req.first_due)
    return _Terms(total, req.count, req.frequency, req.first_due, None, owed - total, lines)


def _open_conflict(session: Session, case_id: int, kind: str) -> None:
    """One payment plan at a time per case, and one relief waiting at a time."""
    q = select(Plan.id, Plan.kind, Plan.status).where(Plan.case_id == case_id, Plan.status.in_(OPEN_STATUSES))
    for pid, k, st in session.execute(q):
        if (kind == "relief") == (k == "relief"):
            raise Conflict(f"case {case_id} already has plan {pid} ({k}, {st}); finish or reject it first")


def create_plan(
    session: Session,
    principal: Principal,
    case_id: int,
    req: PlanRequest,
    *,
    at: datetime,
    store: DocumentStore | None = None,
) -> PlanOutcome:
    """Make a plan on a case; it starts at once within the maker's authority, else waits for approval."""
    case = documents.visible_case(session, principal, "plans.create", case_id)
    if case.status != "open":
        raise Conflict(f"case {case_id} is {case.status}; plans are made on open cases")
    account = documents.case_account(session, case)
    if account.status != "active":
        raise Conflict(f"account {account.account_ref} is {account.status}; nothing to arrange")
    owed = owed_of(account)
    if owed <= 0:
        raise Conflict(f"account {account.account_ref} owes nothing")
    today = at.date()
    terms = _terms(req, account, owed, today)
    if req.affordability_id is not None:
        found = session.get(AffordabilityAssessment, req.affordability_id)
        if found is None or found.case_id != case.id:
            raise _bad("affordability_id", "no such assessment on this case")
    _open_conflict(session, case.id, req.kind)
    conc = authority.concession(
        owed=owed,
        waiver=terms.waiver,
        instalments=terms.count,
        first_date=terms.first_due,
        today=today,
    )
    over = (
        []
        if principal.is_system
        else authority.exceeded(limits_for(session, account.creditor_id, principal.role), conc)
    )
    approver_role = None
    if over:
        approver_role = authority.lowest_approver(limits_by_role(session, account.creditor_id), conc)
        if approver_role is None:
            detail = "; ".join(f"{e.limit} {e.requested} > {e.allowed}" for e in over)
            raise ValidationFailed(
                f"the plan is beyond every approver's authority for this creditor ({detail})"
            )
    plan = Plan(
        case_id=case.id,
        account_id=account.id,
        kind=req.kind,
        status="pending_approval" if over else "active",
        currency=account.currency,
        owed_at_start=owed,
        total=terms.total,
        instalment_count=terms.count,
        frequency=terms.frequency,
        first_due=terms.first_due,
        grace_days=req.grace_days,
        start_date=today,
        waive=terms.waive,
        reason=req.reason.strip(),
        concession=conc.as_dict(),
        exceeded=[e.as_dict() for e in over] or None,
        approver_role=approver_role,
        affordability_id=req.affordability_id,
        created_by=principal.user_id,
        created_by_name=principal.username,
        created_at=at,
    )
    plan.instalments = [PlanInstalment(seq=s.seq, due_date=s.due_date, amount=s.amount) for s in terms.lines]
    session.add(plan)
    session.flush()
    audit.record(
        session,
        principal,
        "plan.create",
        "plan",
        plan.id,
        after={
            "case_id": case.id, "kind": plan.kind, "status": plan.status, "total": plan.total,
            "owed": owed, "count": plan.instalment_count, "waive": plan.waive, "concession": plan.concession,
            "exceeded": plan.exceeded, "approver_role": approver_role,
        },
        at=at,
    )  # fmt: skip
    outcome = PlanOutcome(plan)
    if not over:
        _start(
            session,
            principal,
            plan,
            account,
            case,
            at=at,
            store=store,
            language=req.language,
            outcome=outcome,
        )
    return outcome


def _start(
    session: Session,
    actor: Actor,
    plan: Plan,
    account: Account,
    case: Case,
    *,
    at: datetime,
    store: DocumentStore | None,
    language: str | None,
    outcome: PlanOutcome,
) -> None:
    """A plan takes effect: relief is granted through the ledger; a payment plan gets its letter."""
    plan.status = "active"
    plan.activated_at = at
    if plan.kind == "relief":
        parts = {c: v for c, v in (plan.waive or {}).items() if v}
        tx = ledger.waive(
            session,
            account,
            parts,
            reason=f"relief, plan {plan.id}: {plan.reason}"[:400],
            posted_at=at,
            posted_by=documents.actor_name(actor),
        )
        plan.waiver_tx_id = tx.id
        plan.status, plan.closed_at = "completed", at
        audit.record(
            session, actor, "plan.relief", "plan", plan.id,
            after={"waiver_tx_id": tx.id, "parts": parts}, at=at,
        )  # fmt: skip
        return
    audit.record(session, actor, "plan.activate", "plan", plan.id, after={"status": "active"}, at=at)
    if store is not None:
        outcome.letter = _plan_letter(
            session, store, actor, plan, account, case, at=at, language=language, notes=outcome.notes
        )


def _plan_facts(plan: Plan, with_paid: schedule.Progress | None = None) -> letters.PlanFacts:
    paid = {r.seq: r.paid for r in with_paid.instalments} if with_paid else {}
    return letters.PlanFacts(
        plan_id=plan.id,
        kind=plan.kind,
        total=plan.total,
        owed_at_start=plan.owed_at_start,
        count=plan.instalment_count,
        frequency=plan.frequency,
        first_due=plan.first_due,
        grace_days=plan.grace_days,
        schedule=tuple(
            letters.ScheduleLine(i.seq, i.due_date, i.amount, paid.get(i.seq) if with_paid else None)
            for i in plan.instalments
        ),
    )


def _plan_letter(
    session: Session,
    store: DocumentStore,
    actor: Actor,
    plan: Plan,
    account: Account,
    case: Case,
    *,
    at: datetime,
    language: str | None,
    notes: list[str],
) -> Document | None:
    lang = letters.language_of(language) if language else documents.debtor_language(session, account)
    try:
        facts = documents.account_facts(session, account, at.date())
    except Conflict as exc:  # no letterhead yet: the plan stands, the letter waits
        notes.append(exc.message)
        return None
    letter = letters.plan_letter(facts, _plan_facts(plan), lang, issued=at.date())
    kind = "settlement_letter" if plan.kind == "settlement" else "plan_agreement"
    return documents.store_letter(
        session, store, actor, case=case, kind=kind, letter=letter, at=at, source="plan", source_id=plan.id
    )


def plan_letter(
    session: Session, principal: Principal, store: DocumentStore, plan_id: int, *, language: str, at: datetime
) -> Document:
    """(Re)issue the agreement or settlement letter of an active or finished plan, in a chosen language."""
    plan = visible_plan(session, principal, "documents.generate", plan_id)
    if plan.kind == "relief" or plan.status in ("pending_approval", "rejected"):
        raise Conflict(f"plan {plan_id} ({plan.kind}, {plan.status}) has no agreement to issue")
    case = session.get(Case, plan.case_id)
    account = session.get(Account, plan.account_id)
    assert case is not None and account is not None  # foreign keys
    facts = documents.account_facts(session, account, at.date())
    letter = letters.plan_letter(facts, _plan_facts(plan), letters.language_of(language), issued=at.date())
    kind = "settlement_letter" if plan.kind == "settlement" else "plan_agreement"
    return documents.store_letter(
        session,
        store,
        principal,
        case=case,
        kind=kind,
        letter=letter,
        at=at,
        source="plan",
        source_id=plan.id,
    )


# --- approval (maker-checker) ----------------------------------------------------------------------


def _concession(plan: Plan) -> Concession:
    c = plan.concession
    return Concession(c["discount_bps"], c["instalments"], c["waiver"], c["deferral_days"])


def _checker(session: Session, principal: Principal, plan_id: int) -> tuple[Plan, Account, Case]:
    plan = visible_plan(session, principal, "plans.approve", plan_id)
    if plan.status != "pending_approval":
        raise Conflict(f"plan {plan_id} is {plan.status}, not waiting for approval")
    if (
        principal.user_id is not None and principal.user_id == plan.created_by
    ) or principal.username == plan.created_by_name:
        raise Forbidden("maker-checker: the person who made a plan cannot decide on it")  # R13
    account = session.get(Account, plan.account_id)
    case = session.get(Case, plan.case_id)
    assert account is not None and case is not None  # foreign keys
    return plan, account, case


def approve_plan(
    session: Session,
    principal: Principal,
    plan_id: int,
    *,
    at: datetime,
    note: str | None = None,
    store: DocumentStore | None = None,
    language: str | None = None,
) -> PlanOutcome:
    """A second person with enough authority approves a plan above its maker's limits (R13)."""
    plan, account, case = _checker(session, principal, plan_id)
    if not principal.is_system:
        over = authority.exceeded(limits_for(session, account.creditor_id, principal.role), _concession(plan))
        if over:
            detail = "; ".join(f"{e.limit} {e.requested} > {e.allowed}" for e in over)
            raise Forbidden(f"your authority as {principal.role} does not cover plan {plan_id} ({detail})")
    if case.status != "open" or account.status != "active":
        raise Conflict(
            f"case {case.id} is {case.status} and its account {account.status}; the plan cannot start"
        )
    plan.decided_by, plan.decided_by_name, plan.decided_at = principal.user_id, principal.username, at
    plan.decision_note = (note or "").strip()[:2000] or None
    audit.record(
        session, principal, "plan.approve", "plan", plan.id,
        before={"status": "pending_approval"}, after={"status": "active", "note": plan.decision_note}, at=at,
    )  # fmt: skip
    outcome = PlanOutcome(plan)
    _start(session, principal, plan, account, case, at=at, store=store, language=language, outcome=outcome)
    return outcome


def reject_plan(session: Session, principal: Principal, plan_id: int, *, at: datetime, note: str) -> Plan:
    plan, _account, _case = _checker(session, principal, plan_id)
    if not note or not note.strip():
        raise _bad("note", "a rejection needs a reason")
    plan.status = "rejected"
    plan.decided_by, plan.decided_by_name, plan.decided_at = principal.user_id, principal.username, at
    plan.decision_note, plan.closed_at = note.strip()[:2000], at
    audit.record(
        session, principal, "plan.reject", "plan", plan.id,
        before={"status": "pending_approval"}, after={"status": "rejected", "note": plan.decision_note}, at=at,
    )  # fmt: skip
    return plan


# --- following plans against payments -------------------------------------------------------------


@dataclass(frozen=True)
class PlanChange:
    plan_id: int
    before: str
    after: str
    waiver_tx_id: int | None = None
    documents: tuple[int, ...] = ()


def _complete(session: Session, actor: Actor, plan: Plan, account: Account, *, at: datetime) -> int | None:
    """Mark a plan completed; a settlement's remainder is waived now that it is paid in full (R13)."""
    plan.status, plan.closed_at = "completed", at
    tx_id = None
    if plan.kind == "settlement":
        parts = {c: getattr(account, c) for c in COMPONENTS if getattr(account, c) > 0}
        if parts:
            tx = ledger.waive(
                session,
                account,
                parts,
                reason=f"settlement, plan {plan.id}, paid in full: remainder waived"[:400],
                posted_at=at,
                posted_by=documents.actor_name(actor),
            )
            plan.waiver_tx_id = tx_id = tx.id
    audit.record(
        session, actor, "plan.complete", "plan", plan.id,
        before={"status": "active"}, after={"status": "completed", "waiver_tx_id": tx_id}, at=at,
    )  # fmt: skip
    return tx_id


def _payments_by_account(session: Session, account_ids: Sequence[int]) -> dict[int, list[schedule.Payment]]:
    """Every payment of the accounts that was not reversed, in one query per chunk of accounts."""
    reversal = aliased(LedgerTransaction)
    out: dict[int, list[schedule.Payment]] = {}
    ids = sorted(set(account_ids))
    for i in range(0, len(ids), 5000):
        rows = session.execute(
            select(LedgerTransaction.account_id, LedgerTransaction.effective_date, LedgerTransaction.amount)
            .where(
                LedgerTransaction.account_id.in_(ids[i : i + 5000]),
                LedgerTransaction.kind == "payment",
                ~exists().where(reversal.reverses_id == LedgerTransaction.id),
            )
            .order_by(LedgerTransaction.effective_date, LedgerTransaction.id)
        )
        for account_id, day, amount in rows:
            if account_id is not None:  # always set for payments
                out.setdefault(account_id, []).append(schedule.Payment(day, int(amount)))
    return out


def evaluate_plans(
    session: Session,
    *,
    as_of: date,
    at: datetime,
    actor: Actor = "system",
    store: DocumentStore | None = None,
    account_ids: Sequence[int] | None = None,
) -> list[PlanChange]:
    """Follow active payment plans (all of them — the nightly follow-up — or those of some accounts)
    against their payments: completed (a settlement's remainder waived) or broken (R13).

    Plans, their schedules, the accounts and their payments are read in bulk; only the plans that
    change are written."""
    q = (
        select(Plan)
        .options(selectinload(Plan.instalments))
        .where(Plan.status == "active", Plan.kind != "relief")
        .order_by(Plan.account_id, Plan.id)
    )
    if account_ids is not None:
        q = q.where(Plan.account_id.in_(list(account_ids)))
    plans = session.scalars(q).all()
    if not plans:
        return []
    ids = sorted({p.account_id for p in plans})
    accounts = {}
    for i in range(0, len(ids), 5000):
        accounts.update(
            {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids[i : i + 5000])))}
        )
    payments = _payments_by_account(session, ids)
    changes: list[PlanChange] = []
    for plan in plans:
        account = accounts[plan.account_id]
        paid = [p for p in payments.get(plan.account_id, []) if p.paid_on >= plan.start_date]
        prog = schedule.evaluate(plan_schedule(plan), paid, as_of, plan.grace_days)
        cleared = ledger.Balances.of(account).owed == 0
        if prog.status == "completed" or cleared:
            tx_id = _complete(session, actor, plan, account, at=at)
            docs: tuple[int, ...] = ()
            if store is not None and account.status == "paid":
                from arrears.plans import feedback

                try:
                    doc = feedback.paid_in_full_document(session, store, account, at=at, actor=actor)
                except Conflict:  # no letterhead: the plan completes, the letter waits
                    doc = None
                docs = (doc.id,) if doc is not None else ()
            changes.append(PlanChange(plan.id, "active", "completed", tx_id, docs))
        elif prog.status == "broken":
            plan.status, plan.broken_on, plan.closed_at = "broken", prog.broken_on, at
            audit.record(
                session, actor, "plan.broken", "plan", plan.id,
                before={"status": "active"},
                after={"status": "broken", "broken_on": prog.broken_on, "paid": prog.paid, "shortfall": prog.shortfall},
                at=at,
            )  # fmt: skip
            changes.append(PlanChange(plan.id, "active", "broken"))
    session.flush()
    return changes


def evaluate_account(
    session: Session,
    account: Account,
    *,
    as_of: date,
    at: datetime,
    actor: Actor = "system",
    store: DocumentStore | None = None,
) -> list[PlanChange]:
    """Bring one account's active plans up to date with its payments (after a payment, R14)."""
    return evaluate_plans(session, as_of=as_of, at=at, actor=actor, store=store, account_ids=[account.id])


# --- affordability (R16) ---------------------------------------------------------------------------


@dataclass
class AffordabilityOutcome:
    row: AffordabilityAssessment
    assessment: affordability.Assessment
    proposal: affordability.Proposal | None
    within_authority: bool
    approver_role: str | None


def assess_affordability(
    session: Session,
    principal: Principal,
    case_id: int,
    means: affordability.Means,
    *,
    at: datetime,
    notes: str | None = None,
    policy: affordability.Policy | None = None,
) -> AffordabilityOutcome:
    """Store an assessment of the debtor's means and propose a feasible plan for the amount owed."""
    case = documents.visible_case(session, principal, "affordability.assess", case_id)
    account = documents.case_account(session, case)
    pol = policy or affordability.Policy()
    owed = max(owed_of(account), 0)
    assessed = affordability.assess(means, owed, pol)
    proposal = affordability.propose(assessed, owed, at.date(), pol) if owed > 0 else None
    within, approver = True, None
    proposal_json: dict[str, object] = {}
    if proposal is not None:
        conc = authority.concession(
            owed=owed,
            waiver=proposal.discount,
            instalments=proposal.count,
            first_date=proposal.first_due,
            today=at.date(),
        )
        lim = limits_for(session, account.creditor_id, principal.role)
        within = principal.is_system or authority.within(lim, conc)
        approver = (
            None if within else authority.lowest_approver(limits_by_role(session, account.creditor_id), conc)
        )
        proposal_json = proposal_dict(proposal)
    if notes is not None and len(notes) > 2000:
        raise _bad("notes", "at most 2000 characters")
    row = AffordabilityAssessment(
        case_id=case.id,
        account_id=account.id,
        currency=account.currency,
        income=means.income,
        expenses=means.expenses,
        other_debt_payments=means.other_debt_payments,
        dependants=means.dependants,
        disposable=assessed.disposable,
        capacity=assessed.capacity,
        ability=assessed.ability,
        owed=owed,
        proposal=proposal_json,
        notes=notes,
        assessed_by=principal.username,
        assessed_at=at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session, principal, "affordability.assess", "case", case.id,
        after={"assessment_id": row.id, "capacity": assessed.capacity, "ability": assessed.ability,
               "proposal": proposal.kind if proposal else None},
        at=at,
    )  # fmt: skip
    return AffordabilityOutcome(row, assessed, proposal, within, approver)


def proposal_dict(p: affordability.Proposal) -> dict[str, object]:
    return {
        "kind": p.kind,
        "total": p.total,
        "count": p.count,
        "frequency": p.frequency,
        "first_due": p.first_due.isoformat(),
        "discount": p.discount,
        "reasons": [{"zh": zh, "en": en} for zh, en in p.reasons],
        "schedule": [
            {"seq": s.seq, "due_date": s.due_date.isoformat(), "amount": s.amount} for s in p.schedule
        ],
    }


def latest_assessment(session: Session, case_id: int) -> AffordabilityAssessment | None:
    """The newest affordability assessment of a case (for the ability × willingness view, R6)."""
    return session.scalar(
        select(AffordabilityAssessment)
        .where(AffordabilityAssessment.case_id == case_id)
        .order_by(AffordabilityAssessment.id.desc())
        .limit(1)
    )


def plans_of_case(session: Session, case_id: int, statuses: Sequence[str] | None = None) -> list[Plan]:
    q = select(Plan).where(Plan.case_id == case_id)
    if statuses:
        q = q.where(Plan.status.in_(statuses))
    return list(session.scalars(q.order_by(Plan.id)))


def latest_affordability(
    session: Session, *, debtor_id: int | None = None, case_id: int | None = None
) -> dict[str, int] | None:
    """The newest assessment of a case (or of any of a debtor's cases) as plain figures in minor units,
    for the ability × willingness assessment of the cases feature (R6, R16)."""
    q = select(AffordabilityAssessment)
    if case_id is not None:
        q = q.where(AffordabilityAssessment.case_id == case_id)
    elif debtor_id is not None:
        q = q.join(Account, Account.id == AffordabilityAssessment.account_id).where(
            Account.debtor_id == debtor_id
        )
    else:
        return None
    row = session.scalar(q.order_by(AffordabilityAssessment.id.desc()).limit(1))
    if row is None and case_id is not None and debtor_id is not None:
        return latest_affordability(session, debtor_id=debtor_id)
    if row is None:
        return None
    return {
        "monthly_income": row.income,
        "monthly_expenses": row.expenses + row.other_debt_payments,
        "dependants": row.dependants,
        "monthly_surplus": row.disposable,
        "capacity": row.capacity,
    }
