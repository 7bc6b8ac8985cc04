"""PostgreSQL: room in every page of accounts and cases for the nightly batch's updates

The nightly batch rewrites every active account (DPD, penalty, ageing dates) and every open case
(score, queue priority). None of those columns is indexed, so PostgreSQL can update a row in place
(a heap-only tuple, no index entry touched) — but only when its page has room for the new version.
With half of each page kept free, a night's update of every row stays on its page; the previous
night's versions are pruned when the page is next written. SQLite has no such setting.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NIGHTLY = ("accounts", "cases")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NIGHTLY:
        # applies to pages written from now on; an existing table takes it at its next rewrite
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NIGHTLY:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
