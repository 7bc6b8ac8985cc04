"""Portfolio tables: creditor → debtor (contact points, third parties) → account (contract, schedule) → case."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    join,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from arrears.core.db import Base, BigId, UTCDateTime

PRODUCTS = (
    "consumer_loan",
    "credit_card",
    "business_receivable",
    "mortgage",
    "auto_loan",
    "microloan",
    "other",
)
ACCOUNT_STATUSES = ("active", "paid", "written_off", "closed", "recalled")
PARTIES = ("debtor", "guarantor", "third_party", "employer", "attorney")


class Creditor(Base):
    """A creditor client (bank, lender, enterprise) whose receivables are collected (R1)."""

    __tablename__ = "creditors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_currency: Mapped[str] = mapped_column(String(3), default="CNY")
    # Payment allocation order, e.g. ["fees","penalty","interest","principal"].
    waterfall: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    rule_pack: Mapped[str] = mapped_column(String(16), default="cn")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Debtor(Base):
    """A person or business that owes. National ID encrypted, searchable by blind index (CN-D1)."""

    __tablename__ = "debtors"
    __table_args__ = (UniqueConstraint("creditor_id", "debtor_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"), index=True)
    debtor_ref: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    national_id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    national_id_bidx: Mapped[str | None] = mapped_column(String(32), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(1))
    employer: Mapped[str | None] = mapped_column(String(200))
    monthly_income: Mapped[int | None] = mapped_column(BigInteger)  # minor units (R3, R16)
    language: Mapped[str] = mapped_column(String(8), default="zh")
    region: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    contact_points: Mapped[list[ContactPoint]] = relationship(back_populates="debtor")
    third_parties: Mapped[list[ThirdParty]] = relationship(back_populates="debtor")


class ThirdParty(Base):
    """Someone other than the debtor: emergency contact, guarantor, employer (CN-P2, US-P2)."""

    __tablename__ = "third_parties"
    __table_args__ = (UniqueConstraint("debtor_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    party: Mapped[str] = mapped_column(String(16), default="third_party")
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    relation: Mapped[str | None] = mapped_column(String(40))

    debtor: Mapped[Debtor] = relationship(back_populates="third_parties")


class ContactPoint(Base):
    """A phone, email or address of the debtor or of a third party, with its own time zone."""

    __tablename__ = "contact_points"
    __table_args__ = (Index("ix_contact_points_debtor_kind", "debtor_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id"))
    third_party_id: Mapped[int | None] = mapped_column(ForeignKey("third_parties.id"))
    kind: Mapped[str] = mapped_column(String(16))  # phone | email | address
    label: Mapped[str | None] = mapped_column(String(32))  # mobile, home, work, registered …
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    value_bidx: Mapped[str] = mapped_column(String(32), index=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | invalid | opt_out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    debtor: Mapped[Debtor] = relationship(back_populates="contact_points")


accounts_table = Table(
    "accounts",
    Base.metadata,
    Column("id", BigId, primary_key=True),
    Column("creditor_id", ForeignKey("creditors.id"), nullable=False),
    Column("debtor_id", ForeignKey("debtors.id"), nullable=False, index=True),
    Column("account_ref", String(80), nullable=False),
    Column("product", String(32), nullable=False, default="consumer_loan"),
    Column("currency", String(3), nullable=False),
    Column("loan_amount", BigInteger),
    Column("contract_date", Date),
    Column("term_months", Integer),
    Column("annual_rate", Numeric(12, 8)),
    Column("daily_penalty_rate", Numeric(12, 8), nullable=False, default=Decimal(0)),
    Column("placement_date", Date, nullable=False),
    Column("overdue_since", Date),
    Column("agency_code", String(64), index=True),
    Column("region", String(64)),
    Column("status", String(16), nullable=False, default="active", index=True),
    # Balances in minor units, maintained by the ledger service in the same database transaction
    # (the penalty balance, which accrues nightly, is in account_standing).
    Column("principal", BigInteger, nullable=False, default=0),
    Column("interest", BigInteger, nullable=False, default=0),
    Column("fees", BigInteger, nullable=False, default=0),
    Column("credit", BigInteger, nullable=False, default=0),
    Column("extra", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("creditor_id", "account_ref"),
)

# What the nightly batch moves for every account, in a narrow row of its own (one per account): the
# wide account row is then rewritten only when its terms or status change, and a night's update
# rewrites its 10k SQLite pages per million accounts, not the account rows' 33k as well (R3, R4).
account_standing_table = Table(
    "account_standing",
    Base.metadata,
    Column("account_id", BigId, ForeignKey("accounts.id"), primary_key=True, autoincrement=False),
    Column("days_past_due", Integer, nullable=False, default=0),
    Column("bucket", String(8), nullable=False, default="C"),
    Column("penalty", BigInteger, nullable=False, default=0),
    Column("accrued_through", Date),
    Column("aged_as_of", Date),
)


class Account(Base):
    """One debt with its contract terms (R2) and denormalised balances kept equal to the ledger's sums.

    Mapped over two tables, one row each: `accounts` (terms, status, balances) and `account_standing`
    (DPD, bucket, penalty balance, accrual and ageing dates — what the nightly batch rewrites). The ORM
    reads and writes both as one object; SQL that writes accounts writes both (tests/portfolio)."""

    __table__ = join(
        accounts_table, account_standing_table, accounts_table.c.id == account_standing_table.c.account_id
    )

    id: Mapped[int] = column_property(accounts_table.c.id, account_standing_table.c.account_id)
    creditor_id: Mapped[int]
    debtor_id: Mapped[int]
    account_ref: Mapped[str]
    product: Mapped[str]
    currency: Mapped[str]
    loan_amount: Mapped[int | None]
    contract_date: Mapped[date | None]
    term_months: Mapped[int | None]
    annual_rate: Mapped[Decimal | None]
    daily_penalty_rate: Mapped[Decimal]
    placement_date: Mapped[date]
    overdue_since: Mapped[date | None]
    agency_code: Mapped[str | None]
    region: Mapped[str | None]
    status: Mapped[str]
    principal: Mapped[int]
    interest: Mapped[int]
    penalty: Mapped[int]
    fees: Mapped[int]
    credit: Mapped[int]
    accrued_through: Mapped[date | None]
    days_past_due: Mapped[int]
    bucket: Mapped[str]
    aged_as_of: Mapped[date | None]
    extra: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    instalments: Mapped[list[Instalment]] = relationship(order_by="Instalment.seq")

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.penalty + self.fees - self.credit


class Instalment(Base):
    """One line of an optional instalment schedule (分期)."""

    __tablename__ = "instalments"
    __table_args__ = (UniqueConstraint("account_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal_due: Mapped[int] = mapped_column(BigInteger)
    interest_due: Mapped[int] = mapped_column(BigInteger, default=0)


class Case(Base):
    """The collection case for an account: at most one open case per account (R5)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index(
            "uq_cases_open_account",
            "account_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    assigned_to: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[float] = mapped_column(Numeric(14, 4), default=0)
    notes: Mapped[str | None] = mapped_column(Text)
    # Ability × willingness (还款能力 × 还款意愿, R6, R7, R16), kept current by case work.
    ability: Mapped[str] = mapped_column(String(8), default="unknown", server_default="unknown")
    willingness: Mapped[str] = mapped_column(String(8), default="unknown", server_default="unknown")
    flags: Mapped[str | None] = mapped_column(
        String(200)
    )  # comma-separated: fraud_suspected, deliberate_evasion …
    assessment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Propensity to pay within 30 days, from the nightly batch (R9).
    score: Mapped[float | None] = mapped_column(Numeric(8, 6))
    score_source: Mapped[str | None] = mapped_column(String(80))


class BucketHistory(Base):
    """Bucket spells per account: entered on a date, left on a later one (open while left_on is null)."""

    __tablename__ = "bucket_history"
    __table_args__ = (Index("ix_bucket_history_account_open", "account_id", "left_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    bucket: Mapped[str] = mapped_column(String(8))
    entered_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class ImportRun(Base):
    """One placement or payment file import, for traceability and idempotent re-imports."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditors.id"))
    kind: Mapped[str] = mapped_column(String(16))  # placements | payments
    file_name: Mapped[str] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
