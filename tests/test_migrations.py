"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from arrears.core.migrate import alembic_config


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        command.check(alembic_config(engine))  # raises if autogenerate would emit any operation
    finally:
        engine.dispose()


def test_nightly_tables_keep_room_for_in_place_updates(db_url: str) -> None:
    # PostgreSQL: half of each page of accounts and cases is kept free, so the nightly batch's update
    # of every row can stay on its page (no index entry touched); downgrade removes the setting.
    engine = create_engine(db_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("a PostgreSQL storage setting; SQLite has none")
        sql = text(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('accounts', 'cases') ORDER BY 1"
        )
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(sql)] == [
                ("accounts", ["fillfactor=50"]),
                ("cases", ["fillfactor=50"]),
            ]
        cfg = alembic_config(engine)
        command.downgrade(cfg, "0007")
        with engine.connect() as conn:
            assert [r[1] for r in conn.execute(sql)] == [None, None]
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            assert [r[1] for r in conn.execute(sql)] == [["fillfactor=50"]] * 2
    finally:
        engine.dispose()
