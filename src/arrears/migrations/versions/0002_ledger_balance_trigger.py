"""The database enforces what it can of double entry.

PostgreSQL: a deferred constraint trigger on each new ledger transaction checks, at commit, that its
entries sum to zero (once per transaction, so a nightly accrual with a million entries is one sum,
not a million). Entries are append-only on both databases. SQLite has no deferred constraint
triggers; there the ledger service's check is the guard.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_entries_no_{verb.lower()} BEFORE {verb} ON ledger_entries "
                "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;"
            )
        return
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION ledger_check_balanced() RETURNS trigger AS $$
        DECLARE total bigint;
        BEGIN
            SELECT COALESCE(SUM(amount), 0) INTO total FROM ledger_entries
             WHERE transaction_id = NEW.id;
            IF total <> 0 THEN
                RAISE EXCEPTION 'ledger transaction % does not balance (entries sum to %)',
                    NEW.id, total USING ERRCODE = '23514';
            END IF;
            RETURN NULL;
        END $$ LANGUAGE plpgsql;
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER ledger_transactions_balanced
        AFTER INSERT ON ledger_transactions
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
        """
    )
    # Ledger rows are immutable: corrections are new transactions, never edits.
    op.execute(
        """
        CREATE FUNCTION ledger_immutable() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'ledger entries are append-only' USING ERRCODE = '55000';
        END $$ LANGUAGE plpgsql;
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_immutable();"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
        return
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_immutable ON ledger_entries")
    op.execute("DROP FUNCTION IF EXISTS ledger_immutable()")
    op.execute("DROP TRIGGER IF EXISTS ledger_transactions_balanced ON ledger_transactions")
    op.execute("DROP FUNCTION IF EXISTS ledger_check_balanced()")
