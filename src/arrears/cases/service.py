"""Case work use cases — the one place that changes case state: contacts (through the compliance guard),
events, promises to pay, payments, the ability × willingness assessment, assignment and hand-over.

Every function takes the acting `Principal`, checks `authorize` (a case out of the principal's scope
is `NotFound`, never `Forbidden`), writes an audit event for each change in the caller's transaction,
and leaves committing to the caller. Times are UTC-aware; "today" is the operation's local date
(`settings.default_timezone`) unless a creditor's date is meant.

For other features (plans, legal, outreach):

- `load_case(session, principal, case_id, action)` — a case in scope, or 404;
- `log_contact(session, principal, case_id, ContactIn, keys=, now=, tz=)` → `ContactResult`; call
  `result.raise_if_blocked()` *after committing* so the blocked attempt stays recorded;
- `record_event(session, principal, case, kind, ...)` — a hold or consent the guard honours;
- `recompute_assessment(session, case, now=, tz=)` — after anything that changes the picture;
- `evaluate_promises(session, as_of=, now=, account_ids=)` — promises against payments.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.cases import assessment as assess_rules
from arrears.cases import assignment as rules
from arrears.cases import promises as promise_rules
from arrears.cases.config import get_case_settings
from arrears.cases.history import guard_history
from arrears.cases.models import (
    Acknowledgement,
    AssignmentRule,
    CaseAssignment,
    CollectorProfile,
    Contact,
    ContactEvent,
    GuardDecisionRecord,
    Promise,
    StaffFlag,
)
from arrears.cases.outcomes import (
    EVENTS_NEEDING_REVIEWER,
    VocabularyError,
    check_contact,
    guard_outcome,
    implied_events,
    person_key,
    right_party,
)
from arrears.cases.schemas import ContactIn, PromiseIn
from arrears.compliance.guard import ContactPoint as GuardPoint
from arrears.compliance.guard import Decision, Guard, ProposedContact
from arrears.compliance.packs import load_pack
from arrears.compliance.rules import CHANNELS, THIRD_PARTIES, valid_consent_scope
from arrears.core.errors import Conflict, Forbidden, ValidationFailed
from arrears.core.money import MoneyError, format_major, to_minor
from arrears.documents.models import Document
from arrears.ledger import service as ledger
from arrears.ledger.models import LedgerTransaction
from arrears.portfolio.models import Account, Case, ContactPoint, Creditor, Debtor, ThirdParty
from arrears.security import audit
from arrears.security.models import User
from arrears.security.permissions import account_scope, authorize, not_found
from arrears.security.pii import KeyRing
from arrears.security.principal import Principal

KIND_OF_CHANNEL = {
    "call": "phone",
    "sms": "phone",
    "voicemail": "phone",
    "email": "email",
    "letter": "address",
    "visit": "address",
}
ASSIGNABLE_ROLES = ("collector", "agency")
# Logging after the fact is allowed for a week; a contact cannot be logged in the future.
BACKDATE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=5)
# Kept promises are re-checked this long, so a payment reversed later re-opens (or breaks) them.
RECHECK_DAYS = 60


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


# --------------------------------------------------------------------------------------------- loading


def load_case(session: Session, principal: Principal, case_id: int, action: str = "cases.read") -> Case:
    """A case the principal may act on (`Forbidden` for a role without `action`, `NotFound` when the case
    is missing or out of scope — the same answer)."""
    authorize(principal, action)
    case = session.get(Case, case_id)
    if case is None:
        raise not_found("case", case_id)
    authorize(principal, action, case)
    return case


def load_account(
    session: Session, principal: Principal, ref: str, action: str, creditor: str | None = None
) -> Account:
    """An account by reference among those the principal may see (404 otherwise; 409 if ambiguous)."""
    authorize(principal, action)
    q = (
        select(Account)
        .join(Creditor, Creditor.id == Account.creditor_id)
        .where(Account.account_ref == ref, account_scope(principal))
    )
    if creditor:
        q = q.where(Creditor.code == creditor)
    found = session.scalars(q.limit(2)).all()
    if not found:
        raise not_found("account", ref)
    if len(found) > 1:
        raise Conflict(f"account {ref} exists for several creditors; add ?creditor=CODE")
    authorize(principal, action, found[0])
    return found[0]


def _parts(session: Session, case: Case) -> tuple[Account, Debtor, Creditor]:
    account = session.get(Account, case.account_id)
    assert account is not None  # foreign keys
    debtor = session.get(Debtor, account.debtor_id)
    creditor = session.get(Creditor, account.creditor_id)
    assert debtor is not None and creditor is not None
    return account, debtor, creditor


def _require_open(case: Case) -> None:
    if case.status != "open":
        raise Conflict(f"case {case.id} is {case.status}; reopen it before working it")


# ----------------------------------------------------------------------------------------------- guard


@lru_cache(maxsize=32)
def guard_for(pack: str, day: date) -> Guard:
    """The guard for a rule pack as in force on `day` (shared; the guard is thread-safe)."""
    return Guard(load_pack(pack, as_of=day))


class GuardBlocked(Conflict):
    """The compliance guard refused the contact: nothing was sent or logged as sent (R20–R22)."""

    code = "guard_blocked"


@dataclass
class ContactResult:
    decision: Decision | None
    decision_id: int | None
    contact: Contact | None = None
    events: list[ContactEvent] = field(default_factory=list)
    flag: StaffFlag | None = None

    @property
    def blocked(self) -> bool:
        return self.decision is not None and not self.decision.allowed

    def raise_if_blocked(self) -> None:
        """Raise `GuardBlocked` (409) with the rule ids and zh/en reasons; commit before calling."""
        if self.blocked:
            assert self.decision is not None
            d = self.decision
            raise GuardBlocked(
                "the compliance guard blocked this contact: "
                + "; ".join(f"{r.rule}: {r.en}" for r in d.reasons),
                details={**d.to_dict(), "decision_id": self.decision_id},
            )


# -------------------------------------------------------------------------------------------- contacts


def _point_and_party(
    session: Session, debtor: Debtor, body: ContactIn
) -> tuple[ContactPoint | None, str, int | None]:
    """The contact point (checked to belong to the debtor), the party and the third party id."""
    point: ContactPoint | None = None
    tp_id: int | None = None
    party: str = body.party or "debtor"
    if body.contact_point_id is not None:
        point = session.get(ContactPoint, body.contact_point_id)
        if point is None or point.debtor_id != debtor.id:
            raise not_found("contact point", body.contact_point_id)
        owner = "debtor"
        if point.third_party_id is not None:
            tp = session.get(ThirdParty, point.third_party_id)
            owner = tp.party if tp is not None else "third_party"
            tp_id = point.third_party_id
        if body.party is not None and body.party != owner:
            raise ValidationFailed(
                f"party: contact point {point.id} belongs to the {owner}, not the {body.party}",
                details=[{"field": "body.party", "reason": f"the contact point belongs to the {owner}"}],
            )
        party = owner
        want = KIND_OF_CHANNEL[body.channel]
        if point.kind != want:
            raise ValidationFailed(
                f"contact_point_id: a {body.channel} needs a {want} contact point, not a {point.kind}",
                details=[{"field": "body.contact_point_id", "reason": f"needs a {want}"}],
            )
    elif body.direction == "outbound":
        raise ValidationFailed(
            f"contact_point_id: required for an outbound {body.channel} (the guard checks the number or address)",
            details=[{"field": "body.contact_point_id", "reason": "required for outbound contacts"}],
        )
    elif party in THIRD_PARTIES:
        raise ValidationFailed(
            "contact_point_id: name the third party's contact point",
            details=[{"field": "body.contact_point_id", "reason": "required for a third party"}],
        )
    return point, party, tp_id


def _staff(session: Session, ids: Sequence[int]) -> list[int]:
    unique = sorted(set(ids))
    if not unique:
        return []
    found = set(session.scalars(select(User.id).where(User.id.in_(unique), User.active.is_(True))))
    missing = [i for i in unique if i not in found]
    if missing:
        raise ValidationFailed(
            f"staff_ids: no active user {', '.join(map(str, missing))}",
            details=[{"field": "body.staff_ids", "reason": "unknown or inactive user"}],
        )
    return unique


def _check_events(principal: Principal, body: ContactIn) -> None:
    for i, ev in enumerate(body.events):
        if ev.kind in EVENTS_NEEDING_REVIEWER and not (
            principal.is_system or principal.role in {"team_lead", "legal", "manager", "compliance_officer"}
        ):
            raise Forbidden(f"events[{i}]: only a team lead, legal or compliance may record {ev.kind!r}")
        if ev.kind == "consent" and not valid_consent_scope(ev.scope):
            raise ValidationFailed(
                f"events[{i}].scope: {ev.scope!r} is not call, recontact or time_of_day[:HH:MM-HH:MM]",
                details=[{"field": f"body.events.{i}.scope", "reason": "invalid consent scope"}],
            )
        if ev.kind == "opt_out" and ev.scope not in (None, "", "contact_point", *CHANNELS):
            raise ValidationFailed(
                f"events[{i}].scope: an opt-out covers a channel or `contact_point`, not {ev.scope!r}",
                details=[{"field": f"body.events.{i}.scope", "reason": "invalid opt-out scope"}],
            )
        if ev.kind == "opt_out" and ev.scope == "contact_point" and body.contact_point_id is None:
            raise ValidationFailed(
                f"events[{i}].scope: `contact_point` needs the contact's contact_point_id",
                details=[{"field": f"body.events.{i}.scope", "reason": "no contact point"}],
            )


def _record_decision(
    session: Session,
    principal: Principal,
    case: Case,
    at: datetime,
    body: ContactIn,
    party: str,
    pack: str,
    decision: Decision,
) -> GuardDecisionRecord:
    rec = GuardDecisionRecord(
        case_id=case.id,
        at=at,
        channel=body.channel,
        party=party,
        contact_point_id=body.contact_point_id,
        pack=pack,
        allowed=decision.allowed,
        rules=",".join(decision.rules) or None,
        reasons=[r.to_dict() for r in decision.reasons],
        warnings=[r.to_dict() for r in decision.warnings],
        requested_by=principal.user_id,
        requested_by_name=principal.username,
    )
    session.add(rec)
    session.flush()
    return rec


def decide_contact(
    session: Session,
    *,
    case: Case,
    account: Account,
    debtor: Debtor,
    creditor: Creditor,
    channel: str,
    party: str,
    person: str,
    point: ContactPoint,
    at: datetime,
    keys: KeyRing,
    message: str | None = None,
    staff_count: int | None = None,
    ids_shown: bool | None = None,
) -> Decision:
    """The guard's answer for one proposed contact with the debtor's full contact history and events,
    the creditor's pack and the contact point's zone (pure read; records nothing)."""
    history = guard_history(session.connection(), [debtor.id], now=at, keys=keys)
    proposal = ProposedContact(
        at=at,
        account=account.account_ref,
        person=person,
        party=party,
        channel=channel,
        contact=GuardPoint(keys.decrypt(point.value_enc), point.kind, point.timezone),
        text=message or None,
        staff_count=staff_count,
        ids_shown=ids_shown,
    )
    return guard_for(creditor.rule_pack or "cn", at.astimezone(UTC).date()).decide(proposal, history)


def log_contact(
    session: Session,
    principal: Principal,
    case_id: int,
    body: ContactIn,
    *,
    keys: KeyRing,
    now: datetime,
    tz: str = "Asia/Shanghai",
) -> ContactResult:
    """Log a contact (R12). An outbound contact asks the guard first: when blocked, only the guard's
    decision is recorded (audited) and the result says so; when allowed, the contact, the events it
    implies or names, a flag to the lead for abuse (R18) and a callback are recorded, and the case's
    assessment is recomputed."""
    case = load_case(session, principal, case_id, "cases.contact")
    _require_open(case)
    account, debtor, creditor = _parts(session, case)
    point, party, tp_id = _point_and_party(session, debtor, body)
    try:
        check_contact(body.channel, party, body.outcome, body.direction)
    except VocabularyError as exc:
        raise ValidationFailed(str(exc)) from None
    at = body.at.astimezone(UTC) if body.at is not None else now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed("at: a contact cannot be logged in the future")
    if at < now - BACKDATE:
        raise ValidationFailed(f"at: contacts older than {BACKDATE.days} days cannot be logged")
    if body.callback_at is not None and body.callback_at <= at:
        raise ValidationFailed("callback_at: the callback must be after the contact")
    if body.channel == "visit" and body.direction == "outbound" and not body.staff_ids:
        raise ValidationFailed(
            "staff_ids: a field visit records the staff who went (CN-V1)",
            details=[{"field": "body.staff_ids", "reason": "required for a visit"}],
        )
    _check_events(principal, body)
    staff = _staff(session, body.staff_ids)
    person = person_key(debtor.id, tp_id)
    pack = creditor.rule_pack or "cn"

    result = ContactResult(decision=None, decision_id=None)
    if body.direction == "outbound":
        assert point is not None
        decision = decide_contact(
            session,
            case=case,
            account=account,
            debtor=debtor,
            creditor=creditor,
            channel=body.channel,
            party=party,
            person=person,
            point=point,
            at=at,
            keys=keys,
            message=body.message,
            staff_count=len(staff) if body.channel == "visit" else None,
            ids_shown=body.ids_shown if body.channel == "visit" else None,
        )
        rec = _record_decision(session, principal, case, at, body, party, pack, decision)
        result = ContactResult(decision=decision, decision_id=rec.id)
        if not decision.allowed:
            audit.record(
                session,
                principal,
                "contact.blocked",
                "case",
                case.id,
                after={
                    "decision_id": rec.id,
                    "channel": body.channel,
                    "party": party,
                    "rules": list(decision.rules),
                },
                at=now,
            )
            return result

    contact = Contact(
        case_id=case.id,
        account_id=account.id,
        debtor_id=debtor.id,
        at=at,
        direction=body.direction,
        channel=body.channel,
        party=party,
        person=person,
        third_party_id=tp_id,
        contact_point_id=point.id if point is not None else None,
        outcome=body.outcome,
        guard_outcome=guard_outcome(body.outcome, party),
        consent=False,
        notes=body.notes,
        message=body.message,
        next_action=body.next_action or ("callback" if body.callback_at else None),
        callback_at=body.callback_at.astimezone(UTC) if body.callback_at else None,
        staff_ids=staff or None,
        ids_shown=body.ids_shown,
        guard_decision_id=result.decision_id,
        recorded_by=principal.user_id,
        recorded_by_name=principal.username,
        created_at=now,
    )
    session.add(contact)
    session.flush()
    result.contact = contact
    kinds: list[tuple[str, str | None, str | None]] = [
        (k, None, None) for k in implied_events(body.outcome, party)
    ]
    kinds += [(e.kind, e.scope, e.note) for e in body.events]
    for kind, scope, note in kinds:
        if kind == "opt_out" and scope == "contact_point" and point is not None:
            scope = f"cp:{point.id}"  # resolved to the address by the history loader (no plain value stored)
        result.events.append(
            record_event(
                session,
                principal,
                case,
                kind,
                scope=scope,
                at=at,
                note=note,
                contact=contact,
                now=now,
                audit_it=False,
            )
        )
    abuse = body.abuse or ("abuse" if body.outcome == "abusive_to_staff" else None)
    if abuse:
        result.flag = _raise_flag(session, principal, case, contact, abuse, body.notes, now)
    audit.record(
        session,
        principal,
        "contact.log",
        "case",
        case.id,
        after={
            "contact_id": contact.id,
            "direction": contact.direction,
            "channel": contact.channel,
            "party": party,
            "outcome": contact.outcome,
            "events": [e.kind for e in result.events],
            "decision_id": result.decision_id,
            "flag_id": result.flag.id if result.flag else None,
        },
        at=now,
    )
    recompute_assessment(session, case, now=now, tz=tz)
    return result


def record_event(
    session: Session,
    principal: Principal,
    case: Case,
    kind: str,
    *,
    scope: str | None = None,
    at: datetime,
    now: datetime,
    note: str | None = None,
    contact: Contact | None = None,
    audit_it: bool = True,
) -> ContactEvent:
    """Record an event the guard honours from `at` on (dispute, cease, opt-out, attorney, bankruptcy,
    deceased, consent, verified, third_party_refused). Debtor-level kinds attach to the debtor; cease,
    consent, opt-out and refusals attach to whoever the contact was with."""
    account = session.get(Account, case.account_id)
    assert account is not None
    person = str(account.debtor_id)
    if contact is not None and kind in {"cease", "consent", "opt_out", "third_party_refused"}:
        person = contact.person
    ev = ContactEvent(
        case_id=case.id,
        account_id=account.id,
        debtor_id=account.debtor_id,
        person=person,
        kind=kind,
        scope=scope or None,
        at=at,
        contact_id=contact.id if contact is not None else None,
        note=note,
        recorded_by_name=principal.username,
    )
    session.add(ev)
    session.flush()
    if audit_it:
        audit.record(
            session,
            principal,
            "contact.event",
            "case",
            case.id,
            after={"event_id": ev.id, "kind": kind},
            at=now,
        )
    return ev


def _raise_flag(
    session: Session,
    principal: Principal,
    case: Case,
    contact: Contact,
    kind: str,
    note: str | None,
    now: datetime,
) -> StaffFlag:
    """R18: abuse or threats toward staff go to the lead of the team the case belongs to."""
    team_id = None
    holder = case.assigned_to or principal.user_id
    if holder is not None:
        team_id = session.scalar(select(User.team_id).where(User.id == holder))
    flag = StaffFlag(
        case_id=case.id,
        contact_id=contact.id,
        kind=kind,
        staff_user_id=principal.user_id,
        team_id=team_id,
        note=(note or "")[:400] or None,
        status="open",
        created_at=now,
    )
    session.add(flag)
    session.flush()
    audit.record(
        session, principal, "flag.raise", "case", case.id, after={"flag_id": flag.id, "kind": kind}, at=now
    )
    return flag


def acknowledge_flag(session: Session, principal: Principal, flag_id: int, *, now: datetime) -> StaffFlag:
    """A lead (or manager) acknowledges a flag raised on a case in their scope."""
    flag = session.get(StaffFlag, flag_id)
    if flag is None:
        raise not_found("flag", flag_id)
    load_case(session, principal, flag.case_id, "cases.assign")
    if flag.status != "open":
        return flag
    flag.status, flag.acknowledged_by, flag.acknowledged_at = "acknowledged", principal.username, now
    audit.record(
        session, principal, "flag.acknowledge", "case", flag.case_id, after={"flag_id": flag.id}, at=now
    )
    return flag


# -------------------------------------------------------------------------------------------- promises


def _minor(amount: str, currency: str, field_name: str) -> int:
    try:
        value = to_minor(amount, currency)
    except MoneyError as exc:
        raise ValidationFailed(
            f"{field_name}: {exc}", details=[{"field": f"body.{field_name}", "reason": str(exc)}]
        ) from None
    if value <= 0:
        raise ValidationFailed(
            f"{field_name}: must be positive",
            details=[{"field": f"body.{field_name}", "reason": "must be positive"}],
        )
    return value


def record_promise(
    session: Session,
    principal: Principal,
    case_id: int,
    body: PromiseIn,
    *,
    now: datetime,
    tz: str = "Asia/Shanghai",
) -> Promise:
    """A promise to pay an amount by a date (R12); evaluated later against payments."""
    case = load_case(session, principal, case_id, "cases.promise")
    _require_open(case)
    account, _debtor, _creditor = _parts(session, case)
    settings = get_case_settings()
    amount = _minor(body.amount, account.currency, "amount")
    owed = ledger.Balances.of(account).owed
    if owed > 0 and amount > owed:
        raise ValidationFailed(
            f"amount: {format_major(amount, account.currency)} is more than the {format_major(owed, account.currency)} owed",
            details=[{"field": "body.amount", "reason": "more than the balance"}],
        )
    today = local_today(now, tz)
    if body.due_date < today:
        raise ValidationFailed("due_date: a promise cannot fall due in the past",
                               details=[{"field": "body.due_date", "reason": "in the past"}])  # fmt: skip
    if body.due_date > today + timedelta(days=settings.promise_max_days):
        raise ValidationFailed(
            f"due_date: at most {settings.promise_max_days} days ahead; longer arrangements are plans",
            details=[{"field": "body.due_date", "reason": "too far ahead"}],
        )
    if body.contact_id is not None:
        owner = session.scalar(select(Contact.case_id).where(Contact.id == body.contact_id))
        if owner != case.id:
            raise not_found("contact", body.contact_id)
    promise = Promise(
        case_id=case.id,
        account_id=account.id,
        contact_id=body.contact_id,
        amount=amount,
        currency=account.currency,
        promised_on=today,
        due_date=body.due_date,
        grace_days=settings.promise_grace_days,
        status="open",
        paid_amount=0,
        note=body.note,
        created_by=principal.user_id,
        created_by_name=principal.username,
        created_at=now,
    )
    session.add(promise)
    session.flush()
    audit.record(
        session,
        principal,
        "promise.create",
        "case",
        case.id,
        after={
            "promise_id": promise.id,
            "amount": amount,
            "currency": account.currency,
            "due_date": body.due_date,
        },
        at=now,
    )
    # A payment already received today may keep it at once.
    evaluate_promises(session, as_of=today, now=now, account_ids=[account.id], tz=tz)
    recompute_assessment(session, case, now=now, tz=tz)
    return promise


def _payments(session: Session, account_ids: Sequence[int]) -> dict[int, list[promise_rules.Payment]]:
    """Payments per account, reversed ones left out."""
    reversed_ids = select(LedgerTransaction.reverses_id).where(LedgerTransaction.reverses_id.is_not(None))
    rows = session.execute(
        select(
            LedgerTransaction.account_id, LedgerTransaction.effective_date, LedgerTransaction.amount
        ).where(
            LedgerTransaction.account_id.in_(list(account_ids)),
            LedgerTransaction.kind == "payment",
            LedgerTransaction.id.not_in(reversed_ids.scalar_subquery()),
        )
    )
    out: dict[int, list[promise_rules.Payment]] = {}
    for acc, on, amount in rows:
        if acc is None:
            continue
        out.setdefault(int(acc), []).append(promise_rules.Payment(on, int(amount)))
    return out


ACK_TEXT = {
    "zh": "您好，{name}：我们已收到您按约定支付的 {amount} {currency}（账户 {ref}），感谢您的配合与守信。"
    "如需了解剩余还款安排，请随时与我们联系。",
    "en": "Dear {name}, we have received the {amount} {currency} you promised to pay on account {ref}. "
    "Thank you for keeping your word. Contact us any time about the remaining balance.",
}


def _acknowledge(session: Session, promise: Promise, now: datetime) -> Acknowledgement | None:
    """R14: a kept promise is acknowledged (generated now; outreach sends it through the guard)."""
    if session.scalar(select(Acknowledgement.id).where(Acknowledgement.promise_id == promise.id)) is not None:
        return None
    account = session.get(Account, promise.account_id)
    assert account is not None
    debtor = session.get(Debtor, account.debtor_id)
    language = "en" if debtor is not None and (debtor.language or "zh").startswith("en") else "zh"
    body = ACK_TEXT[language].format(
        name=debtor.name if debtor else "",
        amount=format_major(promise.paid_amount, promise.currency),
        currency=promise.currency,
        ref=account.account_ref,
    )
    ack = Acknowledgement(
        case_id=promise.case_id,
        promise_id=promise.id,
        kind="promise_kept",
        language=language,
        body=body,
        status="generated",
        created_at=now,
    )
    session.add(ack)
    session.flush()
    return ack


def evaluate_promises(
    session: Session,
    *,
    as_of: date,
    now: datetime,
    account_ids: Sequence[int] | None = None,
    actor: Principal | str = "system:promises",
    tz: str = "Asia/Shanghai",
) -> list[Promise]:
    """Evaluate promises against payments on `as_of` (R12): kept, partly kept or broken after the grace.

    Without `account_ids`, every account with an open promise or one kept in the last `RECHECK_DAYS`. Every promise of those accounts that is
    not cancelled is re-evaluated, so a reversed payment re-opens what it had kept. Changes are audited;
    kept promises get an acknowledgement (R14); the cases' assessments are recomputed. Returns the
    promises whose state changed.
    """
    if (
        account_ids is None
    ):  # open promises, and those resolved lately (a payment may since have been reversed)
        recent = as_of - timedelta(days=RECHECK_DAYS)
        account_ids = list(
            session.scalars(
                select(Promise.account_id)
                .where(
                    (Promise.status == "open")
                    | (Promise.status.in_(("kept", "partly_kept")) & (Promise.resolved_on >= recent))
                )
                .distinct()
            )
        )
    if not account_ids:
        return []
    promises = list(
        session.scalars(
            select(Promise)
            .where(Promise.account_id.in_(list(account_ids)), Promise.status != "cancelled")
            .order_by(Promise.id)
        )
    )
    payments = _payments(session, list({p.account_id for p in promises}))
    changed: list[Promise] = []
    by_account: dict[int, list[Promise]] = {}
    for p in promises:
        by_account.setdefault(p.account_id, []).append(p)
    for acc, ps in by_account.items():
        terms = [
            promise_rules.PromiseTerms(p.id, p.amount, p.promised_on, p.due_date, p.grace_days) for p in ps
        ]
        for p, r in zip(ps, promise_rules.evaluate(terms, payments.get(acc, []), as_of), strict=True):
            if (p.status, p.paid_amount, p.resolved_on) == (r.status, r.paid, r.resolved_on):
                continue
            before = {"status": p.status, "paid": p.paid_amount}
            p.status, p.paid_amount, p.resolved_on = r.status, r.paid, r.resolved_on
            p.resolved_at = now if r.status in promise_rules.FINAL else None
            audit.record(
                session,
                actor,
                "promise.evaluate",
                "case",
                p.case_id,
                before={"promise_id": p.id, **before},
                after={"promise_id": p.id, "status": r.status, "paid": r.paid, "as_of": as_of},
                at=now,
            )
            if r.status == "kept":
                _acknowledge(session, p, now)
            changed.append(p)
    for case_id in sorted({p.case_id for p in changed}):
        case = session.get(Case, case_id)
        if case is not None and case.status == "open":
            recompute_assessment(session, case, now=now, tz=tz)
    return changed


# -------------------------------------------------------------------------------------------- payments


@dataclass
class PaymentResult:
    posting: ledger.PaymentPosting
    account: Account
    statement_id: int | None = None  # R14: the statement stored after the payment, when one was made


def post_payment(
    session: Session,
    principal: Principal,
    ref: str,
    *,
    amount: str,
    idempotency_key: str,
    paid_on: date | None,
    now: datetime,
    creditor: str | None = None,
    tz: str = "Asia/Shanghai",
    store: Any = None,
) -> PaymentResult:
    """Post a payment through the ledger with `payment_ref` = the idempotency key: the same key twice is
    one posting (`posting.duplicate` on the replay); the same key for another payment is a 409.

    A new payment then keeps or breaks promises, re-assesses the case and — through the plans feature,
    when installed — follows the account's plans and stores a statement in `store` (R14)."""
    key = idempotency_key.strip()
    if not key or len(key) > 120:
        raise ValidationFailed("Idempotency-Key: 1–120 characters required",
                               details=[{"field": "header.idempotency-key", "reason": "1–120 characters"}])  # fmt: skip
    account = load_account(session, principal, ref, "payments.post", creditor)
    minor = _minor(amount, account.currency, "amount")
    today = local_today(now, tz)
    day = paid_on or today
    if day > today:
        raise ValidationFailed("paid_on: a payment cannot be received in the future",
                               details=[{"field": "body.paid_on", "reason": "in the future"}])  # fmt: skip
    posting = ledger.post_payment(
        session,
        account,
        amount=minor,
        payment_ref=key,
        paid_on=day,
        posted_at=now,
        posted_by=principal.username,
    )
    if not posting.duplicate:
        audit.record(
            session,
            principal,
            "payment.post",
            "account",
            account.id,
            after={
                "transaction_id": posting.transaction.id,
                "amount": minor,
                "paid_on": day,
                "payment_ref": key,
            },
            at=now,
        )
        evaluate_promises(
            session, as_of=max(today, day), now=now, account_ids=[account.id], actor=principal, tz=tz
        )
        case = session.scalar(select(Case).where(Case.account_id == account.id, Case.status == "open"))
        if case is not None:
            recompute_assessment(session, case, now=now, tz=tz)
        return _payment_feedback(session, principal, PaymentResult(posting, account), now, store)
    statement = session.scalar(  # a replay answers as the first posting did
        select(Document.id).where(Document.source == "payment", Document.source_id == posting.transaction.id)
    )
    return PaymentResult(posting, account, statement)


def _payment_feedback(
    session: Session, principal: Principal, result: PaymentResult, now: datetime, store: Any
) -> PaymentResult:
    """R14: after every payment the plans are followed and a statement is stored, by the plans feature
    (a sibling of this one, so looked up rather than imported, like the affordability assessment)."""
    try:
        feedback = importlib.import_module("arrears.plans.feedback")
    except ImportError:
        return result
    out = feedback.after_payment(
        session, store, result.account, at=now, actor=principal, payment_tx_id=result.posting.transaction.id
    )
    result.statement_id = out.statement.id if out.statement is not None else None
    return result


# ------------------------------------------------------------------------------------------ assessment


def _affordability(session: Session, case: Case) -> dict[str, int | None]:
    """The case's latest affordability assessment from the plans feature (R16), when installed:
    income, expenses (with other debt payments), dependants and the monthly capacity to pay."""
    try:
        plans_service = importlib.import_module("arrears.plans.service")
    except ImportError:
        return {}
    latest = getattr(plans_service, "latest_assessment", None)
    record = latest(session, case.id) if latest is not None else None
    if record is None:
        return {}
    expenses = getattr(record, "expenses", None)
    other = getattr(record, "other_debt_payments", None) or 0
    return {
        "monthly_income": getattr(record, "income", None),
        "monthly_expenses": None if expenses is None else int(expenses) + int(other),
        "dependants": getattr(record, "dependants", None),
        "capacity": getattr(record, "capacity", None),
    }


def behaviour_of(session: Session, case: Case) -> assess_rules.Behaviour:
    """Behaviour facts of a case from its contact log, events, promises and payments."""
    contacts = session.execute(
        select(
            Contact.at,
            Contact.direction,
            Contact.channel,
            Contact.party,
            Contact.outcome,
            Contact.contact_point_id,
        )
        .where(Contact.case_id == case.id)
        .order_by(Contact.at, Contact.id)
    ).all()
    attempts = reached = refusals = hardship = 0
    first_reached: datetime | None = None
    latest_phone_outcome: dict[int, str] = {}
    wrong_after = False
    for at, direction, channel, party, outcome, point in contacts:
        rp = right_party(outcome, party)
        if direction == "outbound" and channel in ("call", "voicemail", "visit"):
            attempts += 1
            reached += int(rp)
        elif rp:
            reached += 1
        if rp and first_reached is None:
            first_reached = at
        if party not in THIRD_PARTIES:
            refusals += int(outcome == "refused")
            hardship += int(outcome == "hardship")
        if point is not None and channel in ("call", "sms", "voicemail"):
            latest_phone_outcome[point] = outcome
            if outcome == "wrong_number" and first_reached is not None and at > first_reached:
                wrong_after = True
    # every abusive_to_staff outcome raises a flag; flags also come from abuse marked on other outcomes
    abuse = int(
        session.scalar(select(func.count()).select_from(StaffFlag).where(StaffFlag.case_id == case.id)) or 0
    )
    events = session.execute(
        select(ContactEvent.kind)
        .where(ContactEvent.account_id == case.account_id)
        .order_by(ContactEvent.at, ContactEvent.id)
    ).scalars()
    dispute_open = 0
    for kind in events:
        if kind == "dispute":
            dispute_open = 1
        elif kind == "verified":
            dispute_open = 0
    counts = dict(
        session.execute(
            select(Promise.status, func.count()).where(Promise.case_id == case.id).group_by(Promise.status)
        ).all()
    )
    pays = _payments(session, [case.account_id]).get(case.account_id, [])
    return assess_rules.Behaviour(
        attempts=attempts,
        reached=reached,
        wrong_numbers=sum(1 for o in latest_phone_outcome.values() if o == "wrong_number"),
        phone_numbers=len(latest_phone_outcome),
        refusals=refusals,
        disputes_open=dispute_open,
        hardship=hardship,
        abuse=abuse,
        promises_made=sum(int(n) for s, n in counts.items() if s != "cancelled"),
        kept=int(counts.get("kept", 0)),
        partly_kept=int(counts.get("partly_kept", 0)),
        broken=int(counts.get("broken", 0)),
        payments=len(pays),
        paid_total=sum(p.amount for p in pays),
        wrong_after_reached=wrong_after,
    )


def recompute_assessment(
    session: Session, case: Case, *, now: datetime, tz: str = "Asia/Shanghai"
) -> assess_rules.Assessment:
    """Recompute ability × willingness and the flags (R6, R7, R16) and store them on the case; a change
    of level or flags is audited."""
    account, debtor, _creditor = _parts(session, case)
    aff = _affordability(session, case)
    means = assess_rules.Means(
        balance=max(ledger.Balances.of(account).owed, 0),
        currency=account.currency,
        monthly_income=aff.get("monthly_income", debtor.monthly_income),
        monthly_expenses=aff.get("monthly_expenses"),
        dependants=aff.get("dependants"),
        affordability_surplus=aff.get("capacity"),
    )
    result = assess_rules.assess(means, behaviour_of(session, case))
    before = {"ability": case.ability, "willingness": case.willingness, "flags": case.flags}
    after = {"ability": result.ability, "willingness": result.willingness, "flags": result.flags_text}
    case.ability, case.willingness, case.flags = result.ability, result.willingness, result.flags_text
    case.assessment = {**result.to_dict(), "computed_at": now.isoformat()}
    if before != after:
        audit.record(
            session, "system:assessment", "case.assess", "case", case.id, before=before, after=after, at=now
        )
    return result


# ------------------------------------------------------------------------------------------ assignment


def _profiles(session: Session, user_ids: Iterable[int]) -> dict[int, CollectorProfile]:
    ids = list(user_ids)
    if not ids:
        return {}
    return {
        p.user_id: p
        for p in session.scalars(select(CollectorProfile).where(CollectorProfile.user_id.in_(ids)))
    }


def collectors(session: Session, team_id: int | None = None) -> list[rules.Collector]:
    """Everyone who can hold cases (collectors and agency staff, active users), as assignment values."""
    q = select(User).where(User.role.in_(ASSIGNABLE_ROLES), User.active.is_(True))
    if team_id is not None:
        q = q.where(User.team_id == team_id)
    users = list(session.scalars(q.order_by(User.id)))
    profiles = _profiles(session, (u.id for u in users))
    cap = get_case_settings().default_cap
    out = []
    for u in users:
        p = profiles.get(u.id)
        out.append(
            rules.Collector(
                user_id=u.id,
                team_id=u.team_id,
                agency_code=u.agency_code,
                skills=frozenset(p.skills or []) if p else frozenset(),
                languages=frozenset(p.languages or []) if p else frozenset(),
                regions=frozenset(p.regions or []) if p else frozenset(),
                creditors=frozenset(p.creditors or []) if p else frozenset(),
                buckets=frozenset(p.buckets or []) if p else frozenset(),
                cap=p.max_cases if p else cap,
                available=(p.status == "active") if p else True,
            )
        )
    return out


def assignment_rules(session: Session) -> list[rules.Rule]:
    return [
        rules.Rule(
            id=r.id,
            position=r.position,
            bucket=r.bucket,
            creditor=r.creditor_code,
            region=r.region,
            language=r.language,
            agency_code=r.agency_code,
            team_id=r.team_id,
            skill=r.skill,
            active=r.active,
        )
        for r in session.scalars(select(AssignmentRule).where(AssignmentRule.active.is_(True)))
    ]


def workloads(session: Session) -> rules.Loads:
    """Open cases per collector."""
    rows = session.execute(
        select(Case.assigned_to, func.count())
        .where(Case.status == "open", Case.assigned_to.is_not(None))
        .group_by(Case.assigned_to)
    )
    return rules.Loads({int(u): int(n) for u, n in rows if u is not None})


def case_facts(session: Session, cases: Sequence[Case]) -> list[rules.CaseFacts]:
    if not cases:
        return []
    ids = [c.account_id for c in cases]
    rows = {
        acc_id: (bucket, code, region, d_region, lang, agency)
        for acc_id, bucket, code, region, d_region, lang, agency in session.execute(
            select(Account.id, Account.bucket, Creditor.code, Account.region, Debtor.region, Debtor.language,
                   Account.agency_code)
            .join(Creditor, Creditor.id == Account.creditor_id)
            .join(Debtor, Debtor.id == Account.debtor_id)
            .where(Account.id.in_(ids))
        )
    }  # fmt: skip
    out = []
    for c in cases:
        bucket, code, region, d_region, lang, agency = rows[c.account_id]
        out.append(
            rules.CaseFacts(
                case_id=c.id,
                bucket=bucket,
                creditor=code,
                region=region or d_region,
                language=lang,
                agency_code=agency,
                priority=float(c.priority or 0),
                current=c.assigned_to,
            )
        )
    return out


def apply_assignment(
    session: Session,
    actor: Principal | str,
    case: Case,
    user_id: int | None,
    *,
    reason: str,
    now: datetime,
    note: str | None = None,
) -> CaseAssignment | None:
    """Move a case to `user_id` (None: unassign), closing the current spell and opening a new one (R17).
    Audited. No-op when the case already sits with that user."""
    previous = case.assigned_to
    if previous == user_id:
        return None
    name = actor.username if isinstance(actor, Principal) else str(actor)
    open_spell = session.scalar(
        select(CaseAssignment).where(CaseAssignment.case_id == case.id, CaseAssignment.ended_at.is_(None))
    )
    if open_spell is not None:
        open_spell.ended_at, open_spell.end_reason = now, reason
    elif previous is not None:  # held before spells were kept: record that holding as ending now
        session.add(
            CaseAssignment(
                case_id=case.id, user_id=previous, started_at=case.opened_at, ended_at=now, reason="initial",
                end_reason=reason, assigned_by="system",
            )
        )  # fmt: skip
    spell = None
    if user_id is not None:
        spell = CaseAssignment(
            case_id=case.id, user_id=user_id, started_at=now, reason=reason, note=note, assigned_by=name
        )
        session.add(spell)
    case.assigned_to = user_id
    session.flush()
    audit.record(
        session,
        actor,
        "case.assign",
        "case",
        case.id,
        before={"assigned_to": previous},
        after={"assigned_to": user_id, "reason": reason, "note": note},
        at=now,
    )
    return spell


def _target_user(session: Session, principal: Principal, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise not_found("user", user_id)
    if user.role not in (*ASSIGNABLE_ROLES, "team_lead"):
        raise ValidationFailed(f"user_id: {user.username} is a {user.role}, who does not hold cases")
    if principal.role == "team_lead" and user.team_id != principal.team_id:
        raise ValidationFailed(f"user_id: {user.username} is not in your team")
    return user


@dataclass
class AssignResult:
    case: Case
    previous: int | None
    reason: str
    spell: CaseAssignment | None


def assign_case(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    user_id: int | None,
    reason: str = "manual",
    note: str | None = None,
    override_cap: bool = False,
    now: datetime,
) -> AssignResult:
    """Assign a case (lead or manager; a collector may not): to `user_id`, or by the rules when None.

    A lead assigns only within their team. The target's workload cap holds unless a manager overrides
    it. By the rules, the current collector keeps the case while available (stickiness)."""
    case = load_case(session, principal, case_id, "cases.assign")
    _require_open(case)
    previous = case.assigned_to
    if user_id is not None:
        user = _target_user(session, principal, user_id)
        if user.id != previous:
            cap = _profiles(session, [user.id]).get(user.id)
            limit = cap.max_cases if cap else get_case_settings().default_cap
            if cap is not None and cap.status != "active":
                raise Conflict(f"{user.username} is on {cap.status}; choose someone available")
            load = workloads(session).of(user.id)
            if load >= limit and not (override_cap and principal.role == "manager"):
                raise Conflict(f"{user.username} already holds {load} cases (cap {limit})")
        spell = apply_assignment(session, principal, case, user.id, reason=reason, now=now, note=note)
        return AssignResult(case, previous, reason, spell)
    team = principal.team_id if principal.role == "team_lead" else None
    pool = collectors(session, team)
    choice = rules.choose(case_facts(session, [case])[0], pool, assignment_rules(session), workloads(session))
    if choice.user_id is None:
        raise Conflict(f"case {case.id}: no eligible collector under cap ({choice.why})")
    spell = apply_assignment(
        session,
        principal,
        case,
        choice.user_id,
        reason="rules" if choice.reason == "rules" else reason,
        now=now,
        note=note,
    )
    return AssignResult(case, previous, choice.reason if spell is None else "rules", spell)


@dataclass
class HandOver:
    moved: dict[int, int | None]  # case → new holder (None: left unassigned for a manager)
    unplaced: list[int]


def hand_over(
    session: Session,
    principal: Principal,
    from_user_id: int,
    *,
    reason: str,
    now: datetime,
    to_user_id: int | None = None,
) -> HandOver:
    """Hand a collector's open cases over (R17): on leave or resignation (their profile says so, so the
    rules skip them) or to re-balance. To a named colleague, or by the rules; a case no one may take
    is left unassigned for a manager. Every move is an assignment spell, audited."""
    authorize(principal, "cases.assign")
    if reason not in ("leave", "resignation", "rebalance"):
        raise ValidationFailed("reason: leave, resignation or rebalance")
    holder = session.get(User, from_user_id)
    if holder is None or (principal.role == "team_lead" and holder.team_id != principal.team_id):
        raise not_found("user", from_user_id)
    status = {"leave": "leave", "resignation": "resigned"}.get(reason)
    if status:
        set_profile(session, principal, from_user_id, now=now, status=status, _authorized=True)
    cases = list(
        session.scalars(
            select(Case).where(Case.assigned_to == from_user_id, Case.status == "open").order_by(Case.id)
        )
    )
    result = HandOver({}, [])
    if to_user_id is not None:
        target = _target_user(session, principal, to_user_id)
        for case in cases:
            apply_assignment(session, principal, case, target.id, reason=reason, now=now)
            result.moved[case.id] = target.id
        return result
    team = principal.team_id if principal.role == "team_lead" else None
    pool = collectors(session, team)
    choices = rules.assign_all(
        case_facts(session, cases),
        pool,
        assignment_rules(session),
        workloads(session),
        sticky=False,
        exclude=frozenset({from_user_id}),
    )
    by_id = {c.id: c for c in cases}
    for choice in choices:
        case = by_id[choice.case_id]
        apply_assignment(session, principal, case, choice.user_id, reason=reason, now=now)
        result.moved[case.id] = choice.user_id
        if choice.user_id is None:
            result.unplaced.append(case.id)
    return result


def rebalance(
    session: Session, principal: Principal, *, now: datetime, team_id: int | None = None
) -> list[int]:
    """Even out workloads (R17, R18): cases move from collectors above the even share to colleagues
    below it, lowest priority first. A lead re-balances their own team. Returns the moved case ids."""
    authorize(principal, "cases.assign")
    team = principal.team_id if principal.role == "team_lead" else team_id
    pool = collectors(session, team)
    ids = [c.user_id for c in pool]
    cases = list(
        session.scalars(
            select(Case).where(Case.assigned_to.in_(ids), Case.status == "open").order_by(Case.id)
        )
    )
    moves = rules.rebalance_plan(case_facts(session, cases), pool, assignment_rules(session))
    by_id = {c.id: c for c in cases}
    for m in moves:
        apply_assignment(session, principal, by_id[m.case_id], m.user_id, reason="rebalance", now=now)
    return [m.case_id for m in moves]


def assign_unassigned(
    session: Session, actor: Principal, *, now: datetime, limit: int | None = None
) -> HandOver:
    """Place open unassigned cases by the rules (manager or the system), highest priority first."""
    authorize(actor, "assignment.manage")
    q = (
        select(Case)
        .where(Case.status == "open", Case.assigned_to.is_(None))
        .order_by(Case.priority.desc(), Case.id)
    )
    cases = list(session.scalars(q.limit(limit) if limit else q))
    choices = rules.assign_all(
        case_facts(session, cases), collectors(session), assignment_rules(session), workloads(session)
    )
    by_id = {c.id: c for c in cases}
    result = HandOver({}, [])
    for choice in choices:
        if choice.user_id is None:
            result.unplaced.append(choice.case_id)
            continue
        apply_assignment(session, actor, by_id[choice.case_id], choice.user_id, reason="rules", now=now)
        result.moved[choice.case_id] = choice.user_id
    return result


def set_profile(
    session: Session,
    principal: Principal,
    user_id: int,
    *,
    now: datetime,
    skills: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    creditors: Sequence[str] | None = None,
    buckets: Sequence[str] | None = None,
    max_cases: int | None = None,
    status: str | None = None,
    _authorized: bool = False,
) -> CollectorProfile:
    """Create or change a collector's profile (manager; a lead may set leave for their team through
    `hand_over`). Only the given fields change."""
    if not _authorized:
        authorize(principal, "assignment.manage")
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    if status is not None and status not in ("active", "leave", "resigned"):
        raise ValidationFailed("status: active, leave or resigned")
    if max_cases is not None and not 0 <= max_cases <= 100_000:
        raise ValidationFailed("max_cases: 0–100000")
    profile = session.get(CollectorProfile, user_id)
    before: dict[str, Any] | None = None
    if profile is None:
        profile = CollectorProfile(
            user_id=user_id, max_cases=get_case_settings().default_cap, status="active", updated_at=now
        )
        session.add(profile)
    else:
        before = _profile_dict(profile)
    for name, value in (("skills", skills), ("languages", languages), ("regions", regions), ("creditors", creditors),
                        ("buckets", buckets)):  # fmt: skip
        if value is not None:
            setattr(profile, name, sorted({v.strip() for v in value if v.strip()}))
    if max_cases is not None:
        profile.max_cases = max_cases
    if status is not None:
        profile.status = status
    profile.updated_at = now
    session.flush()
    audit.record(
        session,
        principal,
        "collector.profile",
        "user",
        user_id,
        before=before,
        after=_profile_dict(profile),
        at=now,
    )
    return profile


def _profile_dict(p: CollectorProfile) -> dict[str, Any]:
    return {
        "skills": p.skills, "languages": p.languages, "regions": p.regions, "creditors": p.creditors,
        "buckets": p.buckets, "max_cases": p.max_cases, "status": p.status,
    }  # fmt: skip


def add_rule(
    session: Session,
    principal: Principal,
    *,
    name: str,
    now: datetime,
    position: int = 100,
    bucket: str | None = None,
    creditor_code: str | None = None,
    region: str | None = None,
    language: str | None = None,
    agency_code: str | None = None,
    team: str | None = None,
    skill: str | None = None,
) -> AssignmentRule:
    """Add an assignment rule (manager)."""
    from arrears.security.models import Team

    authorize(principal, "assignment.manage")
    if not name.strip() or len(name) > 80:
        raise ValidationFailed("name: 1–80 characters")
    team_id = None
    if team:
        team_id = session.scalar(select(Team.id).where(Team.name == team))
        if team_id is None:
            raise not_found("team", team)
    rule = AssignmentRule(
        position=position, name=name.strip(), bucket=bucket, creditor_code=creditor_code, region=region,
        language=language, agency_code=agency_code, team_id=team_id, skill=skill, active=True, created_at=now,
    )  # fmt: skip
    session.add(rule)
    session.flush()
    audit.record(
        session, principal, "assignment.rule", "assignment_rule", rule.id, after={"name": rule.name}, at=now
    )
    return rule
