"""Case work tables: collector profiles, assignment rules and spells, the contact log with its events
and guard decisions, promises to pay, acknowledgements and flags raised to team leads.

The `cases` table itself lives in `arrears.portfolio.models.Case` (one open case per account).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from arrears.core.db import Base, BigId, UTCDateTime

PROFILE_STATUSES = ("active", "leave", "resigned")
ASSIGNMENT_REASONS = ("initial", "rules", "manual", "leave", "resignation", "rebalance")
PROMISE_STATUSES = ("open", "kept", "partly_kept", "broken", "cancelled")
FLAG_KINDS = ("abuse", "threat")


class CollectorProfile(Base):
    """What a collector can take (R17): skills, languages, regions, creditors, buckets and a workload cap.

    An empty list means "any". A user without a profile row works under the defaults (any case, the
    default cap, available).
    """

    __tablename__ = "collector_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    skills: Mapped[list[str] | None] = mapped_column(JSON)
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    regions: Mapped[list[str] | None] = mapped_column(JSON)
    creditors: Mapped[list[str] | None] = mapped_column(JSON)
    buckets: Mapped[list[str] | None] = mapped_column(JSON)
    max_cases: Mapped[int] = mapped_column(Integer, default=200)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | leave | resigned
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssignmentRule(Base):
    """One routing rule: cases matching every set criterion go to the rule's team and need its skill.

    Rules are tried by `position`; the first match decides. Null criteria match anything.
    """

    __tablename__ = "assignment_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=100)
    name: Mapped[str] = mapped_column(String(80))
    bucket: Mapped[str | None] = mapped_column(String(8))
    creditor_code: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    agency_code: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    skill: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseAssignment(Base):
    """An assignment spell: the case was with `user_id` from `started_at` until `ended_at` (R17)."""

    __tablename__ = "case_assignments"
    __table_args__ = (
        Index("ix_case_assignments_case_open", "case_id", "ended_at"),
        Index("ix_case_assignments_user_open", "user_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(16))
    end_reason: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(400))
    assigned_by: Mapped[str] = mapped_column(String(120))


class GuardDecisionRecord(Base):
    """The guard's answer to a manual contact, allowed or blocked (R20–R22): blocked attempts are kept
    here, never in the contact log, so nothing is recorded as sent."""

    __tablename__ = "guard_decisions"
    __table_args__ = (Index("ix_guard_decisions_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(16))
    party: Mapped[str] = mapped_column(String(16))
    contact_point_id: Mapped[int | None] = mapped_column(ForeignKey("contact_points.id"))
    pack: Mapped[str] = mapped_column(String(16))
    allowed: Mapped[bool] = mapped_column(Boolean)
    rules: Mapped[str | None] = mapped_column(String(200))
    reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    warnings: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    requested_by: Mapped[int | None] = mapped_column(BigInteger)
    requested_by_name: Mapped[str] = mapped_column(String(120))


class Contact(Base):
    """One logged contact (R12): channel, party, outcome, notes and the next action.

    `person` is the guard's key for the party (the debtor id, or `t<third party id>`);
    `guard_outcome` is the outcome in the guard's vocabulary. Outbound contacts passed the guard
    (`guard_decision_id`); inbound ones (the debtor called or wrote) are logged without it.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_case_at", "case_id", "at"),
        Index("ix_contacts_debtor_at", "debtor_id", "at"),
        Index("ix_contacts_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(8))  # outbound | inbound
    channel: Mapped[str] = mapped_column(String(16))
    party: Mapped[str] = mapped_column(String(16))
    person: Mapped[str] = mapped_column(String(40))
    third_party_id: Mapped[int | None] = mapped_column(ForeignKey("third_parties.id"))
    contact_point_id: Mapped[int | None] = mapped_column(ForeignKey("contact_points.id"))
    outcome: Mapped[str] = mapped_column(String(24))
    guard_outcome: Mapped[str | None] = mapped_column(String(16))
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    next_action: Mapped[str | None] = mapped_column(String(16))
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    staff_ids: Mapped[list[int] | None] = mapped_column(JSON)  # CN-V1: field visit staff
    ids_shown: Mapped[bool | None] = mapped_column(Boolean)
    guard_decision_id: Mapped[int | None] = mapped_column(ForeignKey("guard_decisions.id"))
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)
    recorded_by_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ContactEvent(Base):
    """An event the guard honours (dispute, cease, opt-out, attorney, bankruptcy, consent …)."""

    __tablename__ = "contact_events"
    __table_args__ = (
        Index("ix_contact_events_debtor_at", "debtor_id", "at"),
        Index("ix_contact_events_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"))
    person: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24))
    scope: Mapped[str | None] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    note: Mapped[str | None] = mapped_column(String(400))
    recorded_by_name: Mapped[str] = mapped_column(String(120))


class Promise(Base):
    """A promise to pay (承诺还款): an amount by a date, evaluated against payments after a grace."""

    __tablename__ = "promises"
    __table_args__ = (
        Index("ix_promises_account_status", "account_id", "status"),
        Index("ix_promises_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    promised_on: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    grace_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(400))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_by_name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Acknowledgement(Base):
    """A message acknowledging the debtor's cooperation (R14), generated now and sent through the guard
    by outreach later (`status` generated → sent)."""

    __tablename__ = "acknowledgements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    language: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="generated")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffFlag(Base):
    """Abuse or threats by a debtor toward staff, raised to the team lead (R18)."""

    __tablename__ = "staff_flags"
    __table_args__ = (Index("ix_staff_flags_team_status", "team_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    kind: Mapped[str] = mapped_column(String(16))  # abuse | threat
    staff_user_id: Mapped[int | None] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | acknowledged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
