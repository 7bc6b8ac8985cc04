"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine

from arrears.core.migrate import alembic_config


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        command.check(alembic_config(engine))  # raises if autogenerate would emit any operation
    finally:
        engine.dispose()
