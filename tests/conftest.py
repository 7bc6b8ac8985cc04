"""Test fixtures: the same suite runs on embedded SQLite and on PostgreSQL (marker `postgres`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from arrears.core.clock import fixed_clock
from arrears.core.context import AppContext
from arrears.core.migrate import upgrade
from arrears.models import metadata

PG_ADMIN_URL = os.environ.get("ARREARS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("ARREARS_REQUIRE_SERVICES") == "1"
FIXED_NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database per test worker, migrated once, dropped at the end."""
    reason = _pg_available()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"arrears_t_{worker_id}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    eng = create_engine(url)
    upgrade(eng)
    eng.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Parametrised database URL: a migrated SQLite file, or a clean PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'arrears.db'}"
        eng = create_engine(url)
        upgrade(eng)
        eng.dispose()
        yield url
    else:
        url = request.getfixturevalue("pg_database")
        eng = create_engine(url)
        _truncate_all(eng)
        eng.dispose()
        yield url


@pytest.fixture
def ctx(db_url: str, tmp_path: Path) -> Iterator[AppContext]:
    """An application context on a migrated database, a fresh key ring and a pinned clock."""
    c = AppContext(database_url=db_url, key_file=tmp_path / "keys" / "test.key", clock=fixed_clock(FIXED_NOW))
    yield c
    c.dispose()


@pytest.fixture
def sqlite_ctx(tmp_path: Path) -> Iterator[AppContext]:
    """SQLite only, for tests about the embedded default itself (raw file bytes, CLI on a fresh file)."""
    url = f"sqlite:///{tmp_path / 'arrears.db'}"
    eng = create_engine(url)
    upgrade(eng)
    eng.dispose()
    c = AppContext(database_url=url, key_file=tmp_path / "keys" / "test.key", clock=fixed_clock(FIXED_NOW))
    yield c
    c.dispose()


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """xdist's worker id, or 'main' when running without xdist."""
    wi = getattr(request.config, "workerinput", None)
    return wi["workerid"] if wi else "main"
