"""The read side of case work: the collector's queue, the case view and the lead's board (R11, R17, R18).

Scoped to the principal and masked by role: names for those who work cases (others read them
masked), contact values always masked (plain values only through the audited reveal), income for
case workers only, free-text notes scrubbed of personal data for oversight roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.cases import queue as queue_rules
from arrears.cases.history import guard_history
from arrears.cases.models import (
    Acknowledgement,
    CaseAssignment,
    CollectorProfile,
    Contact,
    ContactEvent,
    GuardDecisionRecord,
    Promise,
    StaffFlag,
)
from arrears.cases.outcomes import EVENT_LABELS, OUTCOMES
from arrears.cases.schemas import (
    AccountView,
    AssessmentView,
    BalancesView,
    BlockedItem,
    CaseDetail,
    ContactPointView,
    DebtorView,
    HistoryEntry,
    InstalmentView,
    NextContact,
    PromiseOut,
    QueueItem,
    QueueOut,
    ReasonOut,
)
from arrears.cases.service import (
    ASSIGNABLE_ROLES,
    collectors,
    evaluate_promises,
    guard_for,
    load_case,
    local_today,
    workloads,
)
from arrears.compliance.guard import ContactPoint as GuardPoint
from arrears.compliance.guard import ProposedContact
from arrears.core.money import MoneyError, format_major
from arrears.ledger.models import LedgerTransaction
from arrears.portfolio.models import Account, Case, ContactPoint, Creditor, Debtor, Instalment, ThirdParty
from arrears.security.masking import mask, mask_name, scrub
from arrears.security.models import User
from arrears.security.permissions import authorize, case_scope, shows_names
from arrears.security.pii import KeyRing
from arrears.security.principal import Principal

CHANNEL_OF_KIND = {"phone": "call", "email": "email", "address": "letter"}


def money(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    try:
        return format_major(int(minor), currency)
    except MoneyError:
        return str(minor)


def _name(principal: Principal, name: str) -> str:
    return name if shows_names(principal) else mask_name(name)


# ------------------------------------------------------------------------------------------------ queue


@dataclass
class _Next:
    channel: str | None = None
    point: ContactPoint | None = None


def _next_contacts(
    session: Session, debtor_ids: Sequence[int], callbacks: dict[int, Contact], cases: Sequence[Case]
) -> dict[int, _Next]:
    """The contact each case would get next: the callback's number, else the debtor's first active
    phone (a call), else e-mail, else a letter."""
    points: dict[int, list[ContactPoint]] = {}
    for p in session.scalars(
        select(ContactPoint)
        .where(ContactPoint.debtor_id.in_(list(debtor_ids)), ContactPoint.status == "active")
        .order_by(ContactPoint.id)
    ):
        points.setdefault(p.debtor_id, []).append(p)
    by_id = {p.id: p for ps in points.values() for p in ps}
    account_debtor = dict(
        session.execute(
            select(Account.id, Account.debtor_id).where(Account.id.in_([c.account_id for c in cases]))
        ).all()
    )
    out: dict[int, _Next] = {}
    for case in cases:
        cb = callbacks.get(case.id)
        if cb is not None and cb.contact_point_id in by_id:
            point = by_id[cb.contact_point_id]
            channel = cb.channel if cb.channel in ("call", "sms", "email", "visit") else "call"
            out[case.id] = _Next(channel, point)
            continue
        own = [p for p in points.get(account_debtor[case.account_id], []) if p.third_party_id is None]
        chosen = _Next()
        for kind in ("phone", "email", "address"):
            match = next((p for p in own if p.kind == kind), None)
            if match is not None:
                chosen = _Next(CHANNEL_OF_KIND[kind], match)
                break
        out[case.id] = chosen
    return out


def build_queue(
    session: Session,
    principal: Principal,
    *,
    keys: KeyRing,
    now: datetime,
    tz: str = "Asia/Shanghai",
    limit: int = 200,
) -> QueueOut:
    """The caller's open cases in work order (see `cases.queue`); cases the guard would block for their
    next contact now are listed apart with the rule ids. Promise states are brought up to date first
    (the caller commits)."""
    authorize(principal, "queue.read")
    today = local_today(now, tz)
    rows = session.execute(
        select(Case, Account, Debtor, Creditor)
        .join(Account, Account.id == Case.account_id)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .join(Creditor, Creditor.id == Account.creditor_id)
        .where(Case.assigned_to == principal.user_id, Case.status == "open")
        .order_by(Case.id)
    ).all()
    if not rows:
        return QueueOut(as_of=today, now=now, items=[], blocked=[], total=0)
    cases = [r[0] for r in rows]
    case_ids = [c.id for c in cases]
    open_accounts = list(
        session.scalars(
            select(Promise.account_id)
            .where(Promise.case_id.in_(case_ids), Promise.status == "open")
            .distinct()
        )
    )
    if open_accounts:
        evaluate_promises(session, as_of=today, now=now, account_ids=open_accounts, tz=tz)

    last_out = dict(
        session.execute(
            select(Contact.case_id, func.max(Contact.at))
            .where(Contact.case_id.in_(case_ids), Contact.direction == "outbound")
            .group_by(Contact.case_id)
        ).all()
    )
    latest_cb_ids = list(
        session.scalars(
            select(func.max(Contact.id))
            .where(Contact.case_id.in_(case_ids), Contact.callback_at.is_not(None))
            .group_by(Contact.case_id)
        )
    )
    callbacks: dict[int, Contact] = {}
    for cb in session.scalars(select(Contact).where(Contact.id.in_(latest_cb_ids))):
        done = last_out.get(cb.case_id)
        if done is None or done <= cb.at:  # no contact followed the one that set it
            callbacks[cb.case_id] = cb
    due = dict(
        session.execute(
            select(Promise.case_id, func.min(Promise.due_date))
            .where(Promise.case_id.in_(case_ids), Promise.status == "open")
            .group_by(Promise.case_id)
        ).all()
    )
    broken = dict(
        session.execute(
            select(Promise.case_id, func.max(Promise.resolved_at))
            .where(Promise.case_id.in_(case_ids), Promise.status.in_(("broken", "partly_kept")))
            .group_by(Promise.case_id)
        ).all()
    )

    debtor_ids = sorted({r[2].id for r in rows})
    nexts = _next_contacts(session, debtor_ids, callbacks, cases)
    history = guard_history(session.connection(), debtor_ids, now=now, keys=keys)
    facts: list[queue_rules.QueueFacts] = []
    decisions: dict[int, Any] = {}
    info: dict[int, tuple[Case, Account, Debtor, Creditor]] = {}
    zone = ZoneInfo(tz)
    for case, account, debtor, creditor in rows:
        info[case.id] = (case, account, debtor, creditor)
        nxt = nexts[case.id]
        blocked: tuple[str, ...] = ()
        if nxt.point is not None and nxt.channel is not None:
            tp = nxt.point.third_party_id
            party = "debtor"
            if tp is not None:
                party = session.scalar(select(ThirdParty.party).where(ThirdParty.id == tp)) or "third_party"
            d = guard_for(creditor.rule_pack or "cn", now.date()).decide(
                ProposedContact(
                    at=now,
                    account=account.account_ref,
                    person=f"t{tp}" if tp is not None else str(debtor.id),
                    party=party,
                    channel=nxt.channel,
                    contact=GuardPoint(keys.decrypt(nxt.point.value_enc), nxt.point.kind, nxt.point.timezone),
                    staff_count=2 if nxt.channel == "visit" else None,
                ),
                history,
            )
            decisions[case.id] = d
            blocked = d.rules if not d.allowed else ()
        pending = callbacks.get(case.id)
        b_at = broken.get(case.id)
        done = last_out.get(case.id)
        facts.append(
            queue_rules.QueueFacts(
                case_id=case.id,
                priority=float(case.priority or 0),
                callback_at=pending.callback_at if pending else None,
                callback_day=pending.callback_at.astimezone(zone).date()
                if pending and pending.callback_at
                else None,
                promise_due=due.get(case.id),
                broken_at=b_at if b_at is not None and (done is None or b_at > done) else None,
                blocked_rules=blocked,
            )
        )
    ordered, blocked_facts = queue_rules.order(facts, today)
    by_case = {f.case_id: f for f in facts}
    items: list[QueueItem] = []
    for pos, r in enumerate(ordered[:limit], start=1):
        case, account, debtor, _cr = info[r.case_id]
        nxt = nexts[r.case_id]
        dec = decisions.get(r.case_id)
        f = by_case[r.case_id]
        items.append(
            QueueItem(
                position=pos,
                case_id=case.id,
                account_ref=account.account_ref,
                debtor_name=_name(principal, debtor.name),
                bucket=account.bucket,
                days_past_due=account.days_past_due,
                currency=account.currency,
                balance=money(account.total, account.currency),
                priority=str(case.priority),
                tier=r.tier,
                why=r.why,
                callback_at=f.callback_at,
                promise_due=f.promise_due,
                ability=case.ability,
                willingness=case.willingness,
                flags=[x for x in (case.flags or "").split(",") if x],
                next_contact=NextContact(
                    channel=nxt.channel, contact_point_id=nxt.point.id if nxt.point is not None else None
                ),
                warnings=[ReasonOut(**w.to_dict()) for w in (dec.warnings if dec is not None else ())],
            )
        )
    blocked_items = []
    for f in blocked_facts:
        case, account, debtor, _cr = info[f.case_id]
        d = decisions[f.case_id]
        blocked_items.append(
            BlockedItem(
                case_id=case.id,
                account_ref=account.account_ref,
                debtor_name=_name(principal, debtor.name),
                rules=list(d.rules),
                reasons=[ReasonOut(**x.to_dict()) for x in d.reasons],
            )
        )
    return QueueOut(as_of=today, now=now, items=items, blocked=blocked_items, total=len(ordered))


# -------------------------------------------------------------------------------------------- case view


def _masked(keys: KeyRing, kind: str, blob: bytes | None) -> str | None:
    return None if blob is None else mask(kind, keys.decrypt(blob))


def promise_out(p: Promise) -> PromiseOut:
    return PromiseOut(
        id=p.id,
        case_id=p.case_id,
        amount=money(p.amount, p.currency),
        currency=p.currency,
        promised_on=p.promised_on,
        due_date=p.due_date,
        grace_days=p.grace_days,
        status=p.status,
        paid=money(p.paid_amount, p.currency),
        resolved_on=p.resolved_on,
    )


def case_detail(session: Session, principal: Principal, case_id: int, *, keys: KeyRing) -> CaseDetail:
    """Everything a collector needs before a contact (R11): the debtor's background, the contract terms
    (R2), balances and the full history — masked by role."""
    case = load_case(session, principal, case_id, "cases.read")
    account = session.get(Account, case.account_id)
    assert account is not None
    debtor = session.get(Debtor, account.debtor_id)
    creditor = session.get(Creditor, account.creditor_id)
    assert debtor is not None and creditor is not None
    worker = shows_names(principal)
    cur = account.currency
    parties = {t.id: t for t in session.scalars(select(ThirdParty).where(ThirdParty.debtor_id == debtor.id))}
    points = session.scalars(
        select(ContactPoint).where(ContactPoint.debtor_id == debtor.id).order_by(ContactPoint.id)
    ).all()
    others = session.scalars(
        select(Account.account_ref)
        .where(Account.debtor_id == debtor.id, Account.id != account.id)
        .order_by(Account.id)
    ).all()
    debtor_view = DebtorView(
        id=debtor.id,
        debtor_ref=debtor.debtor_ref,
        name=_name(principal, debtor.name),
        national_id=_masked(keys, "national_id", debtor.national_id_enc),
        employer=debtor.employer
        if worker
        else (mask("address", debtor.employer) if debtor.employer else None),
        monthly_income=money(debtor.monthly_income, cur)
        if worker and debtor.monthly_income is not None
        else None,
        language=debtor.language,
        region=debtor.region,
        timezone=debtor.timezone,
        contact_points=[
            ContactPointView(
                id=p.id,
                kind=p.kind,
                label=p.label,
                value=_masked(keys, p.kind, p.value_enc) or "",
                status=p.status,
                timezone=p.timezone,
                party=parties[p.third_party_id].party if p.third_party_id in parties else "debtor",
                third_party_id=p.third_party_id,
                relation=parties[p.third_party_id].relation if p.third_party_id in parties else None,
            )
            for p in points
        ],
        other_accounts=list(others),
    )
    instalments = session.scalars(
        select(Instalment).where(Instalment.account_id == account.id).order_by(Instalment.seq)
    ).all()
    account_view = AccountView(
        ref=account.account_ref,
        creditor=creditor.code,
        product=account.product,
        currency=cur,
        status=account.status,
        loan_amount=money(account.loan_amount, cur) if account.loan_amount is not None else None,
        contract_date=account.contract_date,
        term_months=account.term_months,
        annual_rate=str(account.annual_rate) if account.annual_rate is not None else None,
        daily_penalty_rate=str(account.daily_penalty_rate),
        placement_date=account.placement_date,
        overdue_since=account.overdue_since,
        days_past_due=account.days_past_due,
        bucket=account.bucket,
        agency_code=account.agency_code,
        instalments=[
            InstalmentView(
                seq=i.seq,
                due_date=i.due_date,
                principal_due=money(i.principal_due, cur),
                interest_due=money(i.interest_due, cur),
            )
            for i in instalments
        ],
    )
    balances = BalancesView(
        principal=money(account.principal, cur),
        interest=money(account.interest, cur),
        penalty=money(account.penalty, cur),
        fees=money(account.fees, cur),
        credit=money(account.credit, cur),
        total=money(account.total, cur),
    )
    promises = list(session.scalars(select(Promise).where(Promise.case_id == case.id).order_by(Promise.id)))
    assessed = case.assessment or {}
    assigned_name = (
        session.scalar(select(User.username).where(User.id == case.assigned_to)) if case.assigned_to else None
    )
    open_flags = int(
        session.scalar(
            select(func.count())
            .select_from(StaffFlag)
            .where(StaffFlag.case_id == case.id, StaffFlag.status == "open")
        )
        or 0
    )
    return CaseDetail(
        id=case.id,
        account_ref=account.account_ref,
        debtor_id=debtor.id,
        status=case.status,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
        close_reason=case.close_reason,
        assigned_to=case.assigned_to,
        priority=str(case.priority),
        assigned_name=assigned_name,
        score=str(case.score) if case.score is not None else None,
        assessment=AssessmentView(
            ability=case.ability,
            willingness=case.willingness,
            flags=[x for x in (case.flags or "").split(",") if x],
            reasons=list(assessed.get("reasons", [])),
            computed_at=assessed.get("computed_at"),
        ),
        debtor=debtor_view,
        account=account_view,
        balances=balances,
        promises=[promise_out(p) for p in promises],
        open_flags=open_flags,
        history=case_history(session, principal, case, account, promises),
    )


def case_history(
    session: Session, principal: Principal, case: Case, account: Account, promises: Sequence[Promise]
) -> list[HistoryEntry]:
    """Contacts, events, blocked attempts, promises, payments, assignments, flags and acknowledgements,
    newest first."""
    worker = shows_names(principal)
    cur = account.currency
    out: list[HistoryEntry] = []

    def text(value: str | None) -> str | None:
        return value if value is None or worker else scrub(value)

    for c in session.scalars(select(Contact).where(Contact.case_id == case.id)):
        label = OUTCOMES[c.outcome].en if c.outcome in OUTCOMES else c.outcome
        out.append(
            HistoryEntry(
                at=c.at,
                kind="contact",
                summary=f"{c.direction} {c.channel} · {c.party} · {label}",
                by=c.recorded_by_name,
                detail={
                    "id": c.id,
                    "direction": c.direction,
                    "channel": c.channel,
                    "party": c.party,
                    "outcome": c.outcome,
                    "notes": text(c.notes),
                    "message": text(c.message),
                    "callback_at": c.callback_at.isoformat() if c.callback_at else None,
                    "staff_ids": c.staff_ids,
                    "contact_point_id": c.contact_point_id,
                },
            )
        )
    for e in session.scalars(select(ContactEvent).where(ContactEvent.account_id == account.id)):
        zh, en = EVENT_LABELS.get(e.kind, (e.kind, e.kind))
        out.append(
            HistoryEntry(
                at=e.at,
                kind="event",
                summary=en,
                by=e.recorded_by_name,
                detail={"kind": e.kind, "scope": e.scope if not (e.scope or "").startswith("cp:") else "contact point",
                        "zh": zh, "note": text(e.note)},
            )
        )  # fmt: skip
    for g in session.scalars(
        select(GuardDecisionRecord).where(
            GuardDecisionRecord.case_id == case.id, GuardDecisionRecord.allowed.is_(False)
        )
    ):
        out.append(
            HistoryEntry(
                at=g.at,
                kind="guard_block",
                summary=f"blocked {g.channel}: {g.rules}",
                by=g.requested_by_name,
                detail={
                    "rules": (g.rules or "").split(","),
                    "reasons": g.reasons or [],
                    "channel": g.channel,
                },
            )
        )
    for p in promises:
        out.append(
            HistoryEntry(
                at=p.created_at,
                kind="promise",
                summary=f"promise {money(p.amount, cur)} {cur} by {p.due_date.isoformat()}",
                by=p.created_by_name,
                detail={
                    "id": p.id,
                    "amount": money(p.amount, cur),
                    "due_date": p.due_date.isoformat(),
                    "status": p.status,
                },
            )
        )
        if p.resolved_at is not None:
            out.append(
                HistoryEntry(
                    at=p.resolved_at,
                    kind="promise_result",
                    summary=f"promise {p.id} {p.status} ({money(p.paid_amount, cur)} paid)",
                    detail={"id": p.id, "status": p.status, "paid": money(p.paid_amount, cur)},
                )
            )
    for t in session.scalars(
        select(LedgerTransaction).where(
            LedgerTransaction.account_id == account.id,
            LedgerTransaction.kind.in_(("payment", "reversal", "waiver")),
        )
    ):
        out.append(
            HistoryEntry(
                at=t.posted_at,
                kind=t.kind,
                summary=f"{t.kind} {money(t.amount, cur)} {cur} on {t.effective_date.isoformat()}",
                by=t.posted_by,
                detail={
                    "transaction_id": t.id,
                    "amount": money(t.amount, cur),
                    "effective_date": t.effective_date.isoformat(),
                },
            )
        )
    names = dict(session.execute(select(User.id, User.username)).all())
    for s in session.scalars(select(CaseAssignment).where(CaseAssignment.case_id == case.id)):
        out.append(
            HistoryEntry(
                at=s.started_at,
                kind="assignment",
                summary=f"assigned to {names.get(s.user_id, s.user_id)} ({s.reason})",
                by=s.assigned_by,
                detail={"user_id": s.user_id, "reason": s.reason, "ended_at": s.ended_at.isoformat() if s.ended_at else None,
                        "end_reason": s.end_reason},
            )
        )  # fmt: skip
    for f in session.scalars(select(StaffFlag).where(StaffFlag.case_id == case.id)):
        out.append(
            HistoryEntry(
                at=f.created_at,
                kind="flag",
                summary=f"{f.kind} toward staff flagged to the lead ({f.status})",
                detail={"id": f.id, "kind": f.kind, "status": f.status},
            )
        )
    for a in session.scalars(select(Acknowledgement).where(Acknowledgement.case_id == case.id)):
        out.append(
            HistoryEntry(
                at=a.created_at,
                kind="acknowledgement",
                summary=f"acknowledgement generated ({a.kind})",
                detail={"id": a.id, "status": a.status, "language": a.language, "body": text(a.body)},
            )
        )
    order = {"assignment": 0, "contact": 1, "event": 2, "guard_block": 3, "promise": 4, "payment": 5}
    out.sort(key=lambda h: (h.at, order.get(h.kind, 9)), reverse=True)
    return out


# ------------------------------------------------------------------------------------------------ board


@dataclass
class CollectorLoad:
    user_id: int
    username: str
    team: str | None
    load: int
    cap: int
    status: str


@dataclass
class FlagRow:
    id: int
    case_id: int
    account_ref: str
    kind: str
    staff: str | None
    note: str | None
    created_at: datetime


@dataclass
class Board:
    collectors: list[CollectorLoad] = field(default_factory=list)
    flags: list[FlagRow] = field(default_factory=list)
    unassigned: int = 0
    cases: list[tuple[int, str, str | None, str]] = field(default_factory=list)  # id, ref, holder, bucket


def board(session: Session, principal: Principal, *, case_limit: int = 200) -> Board:
    """The lead's assignment board: workloads against caps, open flags (R18), the cases in scope."""
    authorize(principal, "cases.assign")
    from arrears.security.models import Team

    team = principal.team_id if principal.role == "team_lead" else None
    pool = collectors(session, team)
    loads = workloads(session)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([c.user_id for c in pool])))}
    teams = dict(session.execute(select(Team.id, Team.name)).all())
    statuses = dict(session.execute(select(CollectorProfile.user_id, CollectorProfile.status)).all())
    b = Board()
    for c in pool:
        u = users[c.user_id]
        b.collectors.append(
            CollectorLoad(
                c.user_id, u.username, teams.get(u.team_id) if u.team_id else None, loads.of(c.user_id), c.cap,
                statuses.get(c.user_id, "active"),
            )
        )  # fmt: skip
    fq = (
        select(StaffFlag, Account.account_ref)
        .join(Case, Case.id == StaffFlag.case_id)
        .join(Account, Account.id == Case.account_id)
        .where(StaffFlag.status == "open")
        .order_by(StaffFlag.created_at.desc())
    )
    if principal.role == "team_lead":
        fq = fq.where(StaffFlag.team_id == principal.team_id)
    names = dict(session.execute(select(User.id, User.username)).all())
    for f, ref in session.execute(fq.limit(100)):
        b.flags.append(
            FlagRow(f.id, f.case_id, ref, f.kind, names.get(f.staff_user_id or 0), f.note, f.created_at)
        )
    if principal.role != "team_lead":
        b.unassigned = int(
            session.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.status == "open", Case.assigned_to.is_(None))
            )
            or 0
        )
    rows = session.execute(
        select(Case.id, Account.account_ref, Case.assigned_to, Account.bucket)
        .join(Account, Account.id == Case.account_id)
        .where(Case.status == "open", case_scope(principal))
        .order_by(Case.priority.desc(), Case.id)
        .limit(case_limit)
    )
    b.cases = [(cid, ref, names.get(holder) if holder else None, bucket) for cid, ref, holder, bucket in rows]
    return b


def assignable_users(session: Session, principal: Principal) -> list[tuple[int, str]]:
    q = select(User.id, User.username).where(User.role.in_(ASSIGNABLE_ROLES), User.active.is_(True))
    if principal.role == "team_lead":
        q = q.where(User.team_id == principal.team_id)
    return [(int(i), str(n)) for i, n in session.execute(q.order_by(User.username))]
