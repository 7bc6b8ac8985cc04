"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from arrears.core.context import AppContext
from arrears.core.migrate import alembic_config
from arrears.portfolio.models import Account
from tests import factories


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        command.check(alembic_config(engine))  # raises if autogenerate would emit any operation
    finally:
        engine.dispose()


def test_nightly_tables_keep_room_for_in_place_updates(db_url: str) -> None:
    # PostgreSQL: half of each page of account_standing and cases is kept free, so the nightly batch's
    # update of every row can stay on its page (no index entry touched); accounts, no longer rewritten
    # nightly, is back at the default. Downgrades restore each earlier setting.
    engine = create_engine(db_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("a PostgreSQL storage setting; SQLite has none")
        sql = text(
            "SELECT relname, reloptions FROM pg_class "
            "WHERE relname IN ('accounts', 'account_standing', 'cases') ORDER BY 1"
        )

        def options() -> list[tuple[str, list[str] | None]]:
            with engine.connect() as conn:
                return [(r[0], r[1]) for r in conn.execute(sql)]

        half = ["fillfactor=50"]
        assert options() == [("account_standing", half), ("accounts", None), ("cases", half)]
        cfg = alembic_config(engine)
        command.downgrade(cfg, "0008")
        assert options() == [("accounts", half), ("cases", half)]
        command.downgrade(cfg, "0007")
        assert options() == [("accounts", None), ("cases", None)]
        command.upgrade(cfg, "head")
        assert options() == [("account_standing", half), ("accounts", None), ("cases", half)]
    finally:
        engine.dispose()


STANDING = "SELECT a.id, days_past_due, bucket, penalty, accrued_through, aged_as_of FROM accounts a"


def test_account_standing_moves_with_its_values_both_ways(ctx: AppContext) -> None:
    # 0009 moves DPD, bucket, penalty and the ageing dates into account_standing, one row per account;
    # a downgrade puts them back on the account row, and upgrading again gives the same rows.
    with Session(ctx.engine) as s:
        for i, dpd in enumerate((0, 45, 200)):
            acct = factories.account(
                s, ctx, f"M{i}", dpd=dpd, balances={"principal": 1_000, "penalty": 70 * i}
            )
            acct.aged_as_of = date(2026, 11, 20 + i)
        s.commit()
    joined = text(f"{STANDING} JOIN account_standing ON account_id = a.id ORDER BY a.id")
    with ctx.engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(joined)]
    assert [r[1:4] for r in before] == [(0, "C", 0), (45, "M2", 70), (200, "M7+", 140)]
    cfg = alembic_config(ctx.engine)
    command.downgrade(cfg, "0008")
    with ctx.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(f"{STANDING} ORDER BY a.id"))] == before
    command.upgrade(cfg, "head")
    with ctx.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(joined)] == before
    with Session(ctx.engine) as s:
        assert [(a.days_past_due, a.penalty) for a in s.scalars(select(Account).order_by(Account.id))] == [
            (0, 0),
            (45, 70),
            (200, 140),
        ]
