"""What the nightly batch moves for every account, in a narrow table of its own

Every night the batch rewrites each active account's DPD, bucket, penalty balance and accrual and
ageing dates. On the wide `accounts` row (terms, references, balances, JSON extras) that rewrote
every page of the table; `account_standing` holds only those columns, one row per account, so the
accounts table is written only when an account's terms or status change. Measured on 1,000,000
accounts (bench/RESULTS.md): the nightly update 2.8 s → 1.8 s on SQLite, 9.7 s → 3.7 s on PostgreSQL.

On PostgreSQL the narrow table keeps half of each page free (it is updated in full every night and
has only its primary key, so each update stays on its page); `accounts` goes back to the default.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 02:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOVED = "days_past_due, bucket, penalty, accrued_through, aged_as_of"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "account_standing",
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("penalty", sa.BigInteger(), nullable=False),
        sa.Column("accrued_through", sa.Date(), nullable=True),
        sa.Column("aged_as_of", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_standing_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_standing")),
    )
    if postgres:
        op.execute("ALTER TABLE account_standing SET (fillfactor = 50)")
        op.execute("ALTER TABLE accounts RESET (fillfactor)")
    op.execute(
        f"INSERT INTO account_standing (account_id, {MOVED}) SELECT id, {MOVED} FROM accounts ORDER BY id"
    )
    # SQLite 3.35+ drops an unindexed column in place (no table rebuild, which the foreign keys of the
    # tables referring to accounts would refuse with foreign key checks on).
    for column in MOVED.split(", "):
        op.drop_column("accounts", column)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # NOT NULL columns added to existing rows need a default; the values are copied right after.
    op.add_column("accounts", sa.Column("penalty", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("accrued_through", sa.Date(), nullable=True))
    op.add_column("accounts", sa.Column("days_past_due", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("accounts", sa.Column("bucket", sa.String(length=8), nullable=False, server_default="C"))
    op.add_column("accounts", sa.Column("aged_as_of", sa.Date(), nullable=True))
    for column in MOVED.split(", "):
        op.execute(
            f"UPDATE accounts SET {column} = (SELECT s.{column} FROM account_standing s WHERE s.account_id = accounts.id)"
            " WHERE EXISTS (SELECT 1 FROM account_standing s WHERE s.account_id = accounts.id)"
        )
    op.drop_table("account_standing")
    if postgres:
        op.execute("ALTER TABLE accounts SET (fillfactor = 50)")
