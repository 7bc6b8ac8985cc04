"""Ledger tables: immutable transactions whose signed entries sum to zero (debit positive)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arrears.core.db import Base, BigId, UTCDateTime

# Receivable books of an account (asset; positive = owed by the debtor).
COMPONENTS = ("principal", "interest", "penalty", "fees")
# The debtor's credit balance (liability; negative entries = we owe the debtor).
CREDIT = "credit"
# Counter-books: where value comes from or goes to.
COUNTER_BOOKS = (
    "cash",  # money received (payments) or paid out (refunds)
    "placement",  # balances brought in by a placement file
    "income_interest",
    "income_penalty",
    "income_fees",
    "adjustment",  # corrections with a reason
    "waiver",  # relief granted (R13)
    "write_off",  # bad debt (坏账)
)
BOOKS = (*COMPONENTS, CREDIT, *COUNTER_BOOKS)
TRANSACTION_KINDS = (
    "opening",
    "payment",
    "reversal",
    "accrual",
    "adjustment",
    "waiver",
    "write_off",
    "refund",
)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("creditor_id", "payment_ref"),
        Index("ix_ledger_transactions_account", "account_id", "effective_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"))
    # Null for a portfolio-wide transaction (the nightly accrual posts one per run).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    payment_ref: Mapped[str | None] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger, default=0)  # the amount the user asked for
    currency: Mapped[str] = mapped_column(String(3))
    effective_date: Mapped[date] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(400))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), unique=True)
    posted_by: Mapped[str | None] = mapped_column(String(80))

    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="transaction")


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account_book", "account_id", "book"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    book: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed minor units, debit positive

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
