"""Alembic environment: the engine comes from the caller (arrears init) or from settings."""

from __future__ import annotations

from alembic import context

from arrears.core.db import make_engine
from arrears.core.settings import get_settings
from arrears.models import metadata

config = context.config
engine = config.attributes.get("engine") or make_engine(get_settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
