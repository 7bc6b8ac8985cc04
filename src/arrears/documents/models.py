"""Document tables: files kept per case (attachments and generated letters) and creditors' letterheads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arrears.core.db import Base, BigId, UTCDateTime

# attachment: uploaded by staff; the others are generated (R5: documents organised per case).
DOCUMENT_KINDS = (
    "attachment",
    "formal_notice",
    "plan_agreement",
    "settlement_letter",
    "paid_in_full",
    "statement",
    "promise_ack",
    "casefile",
)


class Document(Base):
    """One stored file of a case. The bytes live on disk under the documents directory; the row keeps
    their SHA-256 so every read is checked."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_case_kind", "case_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    language: Mapped[str | None] = mapped_column(String(8))
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(400), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    # What the document is about: a plan, an escalation, a payment's ledger transaction.
    source: Mapped[str | None] = mapped_column(String(24))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(80))


class Letterhead(Base):
    """A creditor's contact details and repayment channels, printed on every letter (CN-L1)."""

    __tablename__ = "letterheads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"), unique=True)
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    address_zh: Mapped[str | None] = mapped_column(String(400))
    address_en: Mapped[str | None] = mapped_column(String(400))
    website: Mapped[str | None] = mapped_column(String(200))
    repayment_zh: Mapped[str | None] = mapped_column(Text)
    repayment_en: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(80))
