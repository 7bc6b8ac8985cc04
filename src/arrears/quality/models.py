"""Quality inspection (质检) and complaints tables: interactions with their machine scores, QC rounds,
reviews (inspector decisions, feedback, appeal, arbitration), alerts, inspectors' notes, calibration
sessions, the coaching library and complaints.  # R23–R27, R29

Transcripts and complaint texts are personal data (names, numbers, circumstances): they are stored
encrypted (`*_enc`, AES-GCM through the key ring, CN-D1); evidence snippets kept next to the machine
findings are scrubbed of numbers and e-mail addresses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from arrears.core.db import Base, BigId, UTCDateTime

INTERACTION_CHANNELS = ("call", "sms", "email", "letter", "visit", "chat")
REVIEW_REASONS = ("fatal", "low_score", "needs_review", "low_confidence", "random", "new_staff", "complaint")
# pending → awaiting_response → acknowledged | deemed_accepted | appealed → arbitrated
REVIEW_STATUSES = (
    "pending",
    "awaiting_response",
    "acknowledged",
    "deemed_accepted",
    "appealed",
    "arbitrated",
)
CLOSED_REVIEW_STATUSES = ("acknowledged", "deemed_accepted", "arbitrated")
NOTE_KINDS = ("problem", "bottleneck", "suggestion")
COMPLAINT_CHANNELS = ("portal", "phone", "email", "regulator")
COMPLAINT_STATUSES = ("open", "investigating", "closed")
COMPLAINT_OUTCOMES = ("upheld", "not_upheld")


class QcStaff(Base):
    """QC settings of a member of staff: the QC-lead flag (arbitrates appeals) and the hiring date that
    decides who counts as new staff for sampling (R24). Without a row: not a lead, hired when the user
    was created."""

    __tablename__ = "qc_staff"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, autoincrement=False)
    qc_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    hired_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(120))


class QcInteraction(Base):
    """One interaction (call transcript, SMS, e-mail, visit report) linked to its case, collector and
    contact attempt, with the machine's score on import (100% automatic QC, R24)."""

    __tablename__ = "qc_interactions"
    __table_args__ = (
        Index("ix_qc_interactions_collector_at", "collector_id", "occurred_at"),
        Index("ix_qc_interactions_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(120), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_enc: Mapped[bytes] = mapped_column(LargeBinary)  # JSON {turns, metadata}, encrypted (CN-D1)
    content_sha256: Mapped[str] = mapped_column(String(64))
    turns: Mapped[int] = mapped_column(Integer)
    chars: Mapped[int] = mapped_column(Integer)
    scorecard: Mapped[str] = mapped_column(String(120))  # name@version
    scorecard_fingerprint: Mapped[str] = mapped_column(String(64))
    pass_mark: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    fatal: Mapped[bool] = mapped_column(Boolean)
    meets_standard: Mapped[bool] = mapped_column(Boolean)
    pending_items: Mapped[int] = mapped_column(Integer)
    undecided_items: Mapped[int] = mapped_column(Integer)  # automatic items the machine left to a person
    min_confidence: Mapped[float] = mapped_column(Float)
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # After review (and arbitration): the standing result. Null while only the machine has scored.
    final_score: Mapped[float | None] = mapped_column(Float)
    final_fatal: Mapped[bool | None] = mapped_column(Boolean)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(120))


class QcItemResult(Base):
    """The machine's decision on one scorecard item, with evidence (scrubbed) and a confidence."""

    __tablename__ = "qc_item_results"
    __table_args__ = (UniqueConstraint("interaction_id", "item"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("qc_interactions.id"))
    item: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    fatal_item: Mapped[bool] = mapped_column(Boolean)
    weight: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(400))
    manual: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class QcRound(Base):
    """One QC round: a sampling run over a period's interactions, analysed as a whole (R27)."""

    __tablename__ = "qc_rounds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    seed: Mapped[str] = mapped_column(String(64))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    considered: Mapped[int] = mapped_column(Integer)
    sampled: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class QcReview(Base):
    """The review of one sampled interaction, from the inspector's evaluation to the collector's answer
    and, on appeal, the QC lead's arbitration (R24, R25). Each step has a deadline."""

    __tablename__ = "qc_reviews"
    __table_args__ = (
        Index("ix_qc_reviews_status", "status"),
        Index("ix_qc_reviews_inspector_status", "inspector_id", "status"),
        Index("ix_qc_reviews_collector", "collector_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("qc_interactions.id"), unique=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("qc_rounds.id"), index=True)
    reason: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(24), default="pending")
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    review_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score_after: Mapped[float | None] = mapped_column(Float)
    fatal_after: Mapped[bool | None] = mapped_column(Boolean)
    overturned: Mapped[int | None] = mapped_column(Integer)  # machine findings the inspector reversed
    feedback: Mapped[str | None] = mapped_column(Text)
    response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appeal_items: Mapped[list[str] | None] = mapped_column(JSON)
    arbitration_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arbiter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    arbitrated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arbitration_outcome: Mapped[str | None] = mapped_column(
        String(24)
    )  # upheld | overturned | partly_overturned
    arbitration_note: Mapped[str | None] = mapped_column(Text)
    final_score: Mapped[float | None] = mapped_column(Float)
    final_fatal: Mapped[bool | None] = mapped_column(Boolean)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QcReviewDecision(Base):
    """A person's decision on one item: the inspector confirming or overturning the machine, or the
    arbiter deciding a contested item."""

    __tablename__ = "qc_review_decisions"
    __table_args__ = (UniqueConstraint("review_id", "item", "stage"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("qc_reviews.id"), index=True)
    item: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))  # inspector | arbitration
    machine_passed: Mapped[bool | None] = mapped_column(Boolean)
    passed: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(String(400))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QcAlert(Base):
    """A step past its deadline, raised once and resolved when the step is done (R24)."""

    __tablename__ = "qc_alerts"
    __table_args__ = (
        UniqueConstraint("kind", "entity_id"),
        Index("ix_qc_alerts_open", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # review_overdue | response_overdue | arbitration_overdue | …
    entity: Mapped[str] = mapped_column(String(32))  # qc_review | complaint | calibration
    entity_id: Mapped[int] = mapped_column(BigId)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QcNote(Base):
    """A problem, bottleneck or improvement suggestion recorded by an inspector (R25)."""

    __tablename__ = "qc_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("qc_reviews.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("qc_rounds.id"), index=True)
    item: Mapped[str | None] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QcCalibration(Base):
    """A calibration session (校准): several inspectors score the same interactions blind."""

    __tablename__ = "qc_calibrations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    inspector_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QcCalibrationItem(Base):
    __tablename__ = "qc_calibration_items"

    calibration_id: Mapped[int] = mapped_column(ForeignKey("qc_calibrations.id"), primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("qc_interactions.id"), primary_key=True)


class QcCalibrationScore(Base):
    """One inspector's blind scoring of one interaction in a calibration session."""

    __tablename__ = "qc_calibration_scores"
    __table_args__ = (UniqueConstraint("calibration_id", "interaction_id", "inspector_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    calibration_id: Mapped[int] = mapped_column(ForeignKey("qc_calibrations.id"), index=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("qc_interactions.id"))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decisions: Mapped[dict[str, bool]] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    fatal: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CoachingExample(Base):
    """A de-identified good or bad example for one scorecard item, shared with the team (R26, R29)."""

    __tablename__ = "coaching_examples"
    __table_args__ = (
        UniqueConstraint("interaction_id", "item"),
        UniqueConstraint("complaint_id", "item"),
        Index("ix_coaching_examples_item", "scorecard", "item", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("qc_interactions.id"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("qc_reviews.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    scorecard: Mapped[str] = mapped_column(String(120))
    item: Mapped[str] = mapped_column(String(64))
    item_title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))  # good | bad
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    excerpt: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # de-identified turns
    note: Mapped[str | None] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Complaint(Base):
    """A complaint (投诉) from the debtor portal, phone, e-mail or a regulator referral, triaged
    automatically, investigated against a deadline and closed upheld or not upheld."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_status_due", "status", "due_at"),
        Index("ix_complaints_collector", "collector_id"),
        Index("ix_complaints_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    complainant: Mapped[str] = mapped_column(String(16))  # debtor | third_party | representative | regulator
    regulator_ref: Mapped[str | None] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)  # the complaint as received, encrypted (CN-D1)
    summary: Mapped[str] = mapped_column(String(400))  # scrubbed opening, for lists
    language: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(24))  # triage
    conduct: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    triage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    category_final: Mapped[str | None] = mapped_column(String(24))  # the investigator's, when it differs
    conduct_final: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="open")
    investigator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ComplaintInteraction(Base):
    __tablename__ = "complaint_interactions"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("qc_interactions.id"), primary_key=True)
