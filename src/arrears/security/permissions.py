"""Who may do what: one table of actions → roles and scope, and the checks services call (R21, CN-D1).

Every action a service or route performs is declared in `PERMISSIONS`. Services call
`authorize(principal, action, resource)`:

- a role that may never perform the action gets `Forbidden` (403) — decided before any lookup, so it
  says nothing about whether a resource exists;
- a scoped action on a resource outside the principal's portfolio gets `NotFound` (404), with the
  same message a missing resource gets, so existence does not leak.

Portfolio scope by role: a collector sees the cases assigned to them, a team lead the cases assigned
to their team, agency staff the accounts placed with their agency; the other roles see everything
(and read it masked unless they reveal). List queries add `account_scope` / `case_scope` /
`debtor_scope` to their WHERE clause, so lists and single reads agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.orm import Session, object_session

from arrears.core.errors import Forbidden, NotFound
from arrears.portfolio.models import Account, Case, Debtor
from arrears.security.principal import ROLES, Principal

ALL_ROLES = frozenset(ROLES)
# Roles that work cases (dial, write, visit, litigate) and so may see names and reveal contact data.
CASE_WORKERS = frozenset({"collector", "team_lead", "agency", "legal"})
OVERSIGHT = frozenset({"qc_inspector", "manager", "compliance_officer", "admin"})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    scoped: bool = False  # the resource must be in the principal's portfolio scope, else 404
    public: bool = False  # no authentication at all (sign-in itself)
    description: str = ""


PERMISSIONS: dict[str, Rule] = {
    "auth.token": Rule(frozenset(), public=True, description="exchange a username and password for a token"),
    "auth.revoke": Rule(ALL_ROLES, description="revoke one's own token"),
    "me.read": Rule(ALL_ROLES, description="read one's own profile"),
    "me.update": Rule(ALL_ROLES, description="change one's own language"),
    "dashboard.view": Rule(ALL_ROLES, scoped=True, description="counts of accounts by bucket"),
    "accounts.list": Rule(ALL_ROLES, scoped=True, description="list accounts"),
    "accounts.read": Rule(ALL_ROLES, scoped=True, description="read one account"),
    # CSV leaves the system: only those who report on a portfolio (CN-D1 minimum necessary).
    "accounts.export": Rule(
        frozenset({"team_lead", "manager", "compliance_officer"}), scoped=True, description="CSV export"
    ),
    "debtors.read": Rule(ALL_ROLES, scoped=True, description="read a debtor, personal data masked"),
    "debtors.search": Rule(ALL_ROLES, scoped=True, description="find debtors by exact phone, ID or email"),
    # R21, CN-D1: plain personal data only for those who dial or write, and every reveal is audited.
    "debtors.reveal": Rule(CASE_WORKERS, scoped=True, description="reveal one personal-data field"),
    "cases.read": Rule(ALL_ROLES, scoped=True, description="read a case"),
    # Case work (R11–R18): a collector works only the cases assigned to them; leads assign, never collectors.
    "queue.read": Rule(frozenset({"collector", "team_lead", "agency"}), description="one's own work queue"),
    "cases.contact": Rule(CASE_WORKERS, scoped=True, description="log a contact (the guard decides first)"),
    "cases.promise": Rule(
        frozenset({"collector", "team_lead", "agency"}), scoped=True, description="record a promise to pay"
    ),
    "payments.post": Rule(
        frozenset({"collector", "team_lead", "agency", "manager"}), scoped=True, description="post a payment"
    ),
    "cases.assign": Rule(
        frozenset({"team_lead", "manager"}), scoped=True, description="assign, hand over cases"
    ),
    "assignment.manage": Rule(frozenset({"manager"}), description="assignment rules and collector profiles"),
    # Plans and concessions (R13, R16): made within authority, above it approved by a second person.
    "plans.read": Rule(ALL_ROLES, scoped=True, description="read a case's plans and concessions"),
    "plans.create": Rule(
        frozenset({"collector", "team_lead", "agency", "manager"}), scoped=True, description="make a plan"
    ),
    "plans.approve": Rule(
        frozenset({"team_lead", "manager"}),
        scoped=True,
        description="approve or reject a plan (maker-checker)",
    ),
    "affordability.assess": Rule(
        frozenset({"collector", "team_lead", "agency", "manager"}),
        scoped=True,
        description="assess affordability",
    ),
    "authority.configure": Rule(
        frozenset({"manager", "admin"}), description="set authority limits per creditor"
    ),
    "statements.read": Rule(ALL_ROLES, scoped=True, description="an account's progress statement (R14)"),
    # Legal route (R15, R19).
    "legal.read": Rule(ALL_ROLES, scoped=True, description="read escalations, stages and costs"),
    "legal.notice": Rule(
        frozenset({"collector", "team_lead", "legal", "manager"}),
        scoped=True,
        description="issue a formal notice",
    ),
    "legal.escalate": Rule(
        frozenset({"collector", "team_lead", "manager"}), scoped=True, description="request the legal route"
    ),
    "legal.approve": Rule(
        frozenset({"team_lead", "manager"}), scoped=True, description="approve or reject an escalation"
    ),
    "legal.handover": Rule(
        frozenset({"team_lead", "legal", "manager"}), scoped=True, description="hand over with the case file"
    ),
    "legal.stage": Rule(
        frozenset({"legal", "manager"}), scoped=True, description="record legal stages and costs"
    ),
    # The case file leaves the system with personal data: the legal route only (CN-D1).
    "cases.casefile": Rule(
        frozenset({"team_lead", "legal", "manager"}), scoped=True, description="export the case file archive"
    ),
    # Documents per case (R5).
    "documents.read": Rule(
        CASE_WORKERS | {"qc_inspector", "manager", "compliance_officer"},
        scoped=True,
        description="read documents",
    ),
    "documents.upload": Rule(CASE_WORKERS | {"manager"}, scoped=True, description="upload an attachment"),
    "documents.generate": Rule(CASE_WORKERS | {"manager"}, scoped=True, description="issue a letter"),
    "letterheads.set": Rule(
        frozenset({"manager", "admin"}), description="a creditor's contact details on letters"
    ),
    # Quality inspection (R23–R27): collectors and agency staff see only their own interactions and
    # feedback, team leads their team's (scoped by collector in arrears.quality); inspectors review,
    # QC leads (qc_inspector with the lead flag) or managers arbitrate appeals.
    "qc.interactions.import": Rule(
        frozenset({"qc_inspector", "manager", "compliance_officer"}),
        description="import and auto-score interactions",
    ),
    "qc.interactions.read": Rule(
        frozenset({"collector", "agency", "team_lead", "qc_inspector", "manager", "compliance_officer"}),
        scoped=True,
        description="read interactions and their machine scores",
    ),
    "qc.sample": Rule(frozenset({"qc_inspector", "manager"}), description="run a QC round (sampling)"),
    "qc.reviews.read": Rule(
        frozenset({"collector", "agency", "team_lead", "qc_inspector", "manager", "compliance_officer"}),
        scoped=True,
        description="read reviews and feedback",
    ),
    "qc.review": Rule(
        frozenset({"qc_inspector"}), description="confirm or overturn machine findings, give feedback"
    ),
    "qc.respond": Rule(
        frozenset({"collector", "agency", "team_lead"}),
        scoped=True,
        description="acknowledge or appeal one's own feedback",
    ),
    "qc.arbitrate": Rule(frozenset({"qc_inspector", "manager"}), description="arbitrate an appeal (QC lead)"),
    "qc.alerts.read": Rule(
        frozenset({"collector", "agency", "team_lead", "qc_inspector", "manager", "compliance_officer"}),
        scoped=True,
        description="overdue QC and complaint steps",
    ),
    "qc.notes.write": Rule(
        frozenset({"qc_inspector"}), description="record problems, bottlenecks, suggestions"
    ),
    "qc.notes.read": Rule(
        frozenset({"team_lead", "qc_inspector", "manager", "compliance_officer"}), description="read QC notes"
    ),
    "qc.calibration.manage": Rule(
        frozenset({"qc_inspector", "manager"}), description="open and close calibration sessions"
    ),
    "qc.calibration.score": Rule(frozenset({"qc_inspector"}), description="score a calibration set blind"),
    "qc.calibration.read": Rule(
        frozenset({"qc_inspector", "manager", "compliance_officer"}),
        description="calibration agreement figures",
    ),
    "qc.staff.manage": Rule(frozenset({"manager", "admin"}), description="QC leads and hiring dates"),
    # The standard is shared with the whole team (R26, R29): de-identified examples only.
    "coaching.read": Rule(ALL_ROLES, description="read the coaching library"),
    "coaching.publish": Rule(
        frozenset({"qc_inspector", "manager"}), description="publish or withdraw coaching examples"
    ),
    # Complaints: anyone who takes one down may record it; investigation by compliance or a manager.
    "complaints.create": Rule(
        CASE_WORKERS | {"qc_inspector", "manager", "compliance_officer"},
        scoped=True,
        description="record a complaint",
    ),
    "complaints.read": Rule(
        frozenset({"team_lead", "qc_inspector", "manager", "compliance_officer"}),
        scoped=True,
        description="read complaints",
    ),
    "complaints.investigate": Rule(
        frozenset({"manager", "compliance_officer"}), description="investigate and close complaints"
    ),
    # QC results and KPIs (R27, R28): team leads see their own team's figures.
    "kpi.read": Rule(
        frozenset({"team_lead", "qc_inspector", "manager", "compliance_officer"}),
        description="recovery, overdue, bad-debt and abnormal-collection rates",
    ),
    "audit.read": Rule(frozenset({"compliance_officer", "admin"}), description="read the audit trail"),
    "users.list": Rule(frozenset({"admin"}), description="list users"),
    "users.create": Rule(frozenset({"admin"}), description="create users and teams"),
    "keys.rotate": Rule(frozenset({"admin"}), description="rotate the personal-data key"),
}


def rule_for(action: str) -> Rule:
    try:
        return PERMISSIONS[action]
    except KeyError as exc:  # a programming error: every action must be declared
        raise LookupError(f"action {action!r} is not declared in arrears.security.permissions") from exc


def allowed(principal: Principal, action: str) -> bool:
    """Role-level answer, no resource: may this principal ever perform the action?"""
    rule = rule_for(action)
    return rule.public or principal.is_system or principal.role in rule.roles


def sees_everything(principal: Principal) -> bool:
    return principal.is_system or principal.role not in {"collector", "team_lead", "agency"}


def _team_members(principal: Principal) -> ColumnElement[bool]:
    from arrears.security.models import User

    if principal.team_id is None:
        return Case.assigned_to == principal.user_id
    members = select(User.id).where(User.team_id == principal.team_id)
    return Case.assigned_to.in_(members.scalar_subquery())


def case_scope(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause over `Case` selecting the cases this principal may see."""
    if sees_everything(principal):
        return true()
    if principal.role == "collector":
        return Case.assigned_to == principal.user_id
    if principal.role == "team_lead":
        return _team_members(principal)
    if principal.agency_code is None:
        return false()
    placed = select(Account.id).where(Account.agency_code == principal.agency_code)
    return Case.account_id.in_(placed.scalar_subquery())


def account_scope(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause over `Account` selecting the accounts this principal may see."""
    if sees_everything(principal):
        return true()
    if principal.role == "agency":
        if principal.agency_code is None:
            return false()
        return Account.agency_code == principal.agency_code
    return Account.id.in_(select(Case.account_id).where(case_scope(principal)).scalar_subquery())


def debtor_scope(principal: Principal) -> ColumnElement[bool]:
    """WHERE clause over `Debtor`: a debtor is visible through any visible account."""
    if sees_everything(principal):
        return true()
    return Debtor.id.in_(select(Account.debtor_id).where(account_scope(principal)).scalar_subquery())


def not_found(kind: str, key: object) -> NotFound:
    """The one message for 'missing' and 'not yours', so the two cannot be told apart."""
    return NotFound(f"{kind} {key} not found")


def _visible(session: Session, principal: Principal, resource: object) -> tuple[bool, str, object]:
    if isinstance(resource, Account):
        q = exists().where(Account.id == resource.id, account_scope(principal))
        return bool(session.scalar(select(q))), "account", resource.account_ref
    if isinstance(resource, Case):
        q = exists().where(Case.id == resource.id, case_scope(principal))
        return bool(session.scalar(select(q))), "case", resource.id
    if isinstance(resource, Debtor):
        q = exists().where(Debtor.id == resource.id, debtor_scope(principal))
        return bool(session.scalar(select(q))), "debtor", resource.id
    raise TypeError(f"no scope rule for {type(resource).__name__}")


def authorize(principal: Principal, action: str, resource: object | None = None) -> None:
    """Raise `Forbidden` if the role may not perform `action`, `NotFound` if `resource` is out of scope.

    `resource` is an ORM object (Account, Case, Debtor) attached to a session; its session is used
    for the scope query.
    """
    rule = rule_for(action)
    if not allowed(principal, action):
        raise Forbidden(f"role {principal.role!r} may not perform {action!r}")
    if resource is None or not rule.scoped or sees_everything(principal):
        return
    session = object_session(resource)
    if session is None:
        raise ValueError("authorize() needs a resource attached to a session")
    visible, kind, key = _visible(session, principal, resource)
    if not visible:
        raise not_found(kind, key)


def shows_names(principal: Principal) -> bool:
    """Case workers address the debtor by name; oversight roles read names masked (CN-D1 minimum)."""
    return principal.is_system or principal.role in CASE_WORKERS


def can_reveal(principal: Principal) -> bool:
    return allowed(principal, "debtors.reveal")
