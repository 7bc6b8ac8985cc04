"""The audit chain: append-only, hash-chained, verifiable; tampering is found and named."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from arrears.core.context import AppContext
from arrears.core.db import transaction
from arrears.security import audit
from arrears.security.models import AuditEvent
from arrears.security.principal import Principal


def _append(ctx: AppContext, n: int) -> list[int]:
    ids = []
    with transaction(ctx.sessions) as s:
        for i in range(n):
            ev = audit.record(
                s, Principal(7, "c_east", "collector"), "account.adjust", "account", 100 + i,
                before={"fees": Decimal("12.50"), "note": "减免"}, after={"fees": 0, "at": ctx.clock()},
                at=ctx.clock() + timedelta(seconds=i),
            )  # fmt: skip
            ids.append(ev.id)
    return ids


def _cli(ctx: AppContext, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARREARS_DATABASE_URL": ctx.database_url}
    return subprocess.run(
        [sys.executable, "-m", "arrears.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_chain_links_and_verifies(ctx: AppContext) -> None:
    ids = _append(ctx, 5)
    with ctx.sessions() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.id for e in events] == ids
        assert events[0].prev_hash == audit.GENESIS
        for a, b in itertools.pairwise(events):
            assert b.prev_hash == a.hash
        assert all(audit.event_hash(e) == e.hash for e in events)
        assert events[0].before == {"fees": "12.50", "note": "减免"}  # stored as hashed: JSON values
        result = audit.verify(s)
    assert result.ok and result.checked == 5 and result.head == events[-1].hash


def test_update_and_delete_are_refused_by_the_database(ctx: AppContext) -> None:
    _append(ctx, 2)
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), ctx.engine.begin() as conn:
            conn.execute(text(statement))
    with ctx.sessions() as s:
        assert audit.verify(s).checked == 2


def _tamper(ctx: AppContext, statement: str) -> None:
    """What someone with the database owner's rights could do: lift the guard, edit, restore it."""
    eng = create_engine(ctx.database_url)
    with eng.begin() as conn:
        if eng.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            conn.execute(text(statement))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable"))
    eng.dispose()


def test_tampered_row_fails_verify_and_is_named(ctx: AppContext) -> None:
    ids = _append(ctx, 4)
    ok = _cli(ctx, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "4 events" in ok.stderr
    target = ids[2]
    _tamper(ctx, f"UPDATE audit_events SET after = '{{\"fees\": 999}}' WHERE id = {target}")
    bad = _cli(ctx, "audit", "verify")
    assert bad.returncode == 1
    assert f"event {target}" in bad.stderr
    assert "content does not match" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_deleted_row_breaks_the_next_link(ctx: AppContext) -> None:
    ids = _append(ctx, 4)
    _tamper(ctx, f"DELETE FROM audit_events WHERE id = {ids[1]}")
    with ctx.sessions() as s:
        result = audit.verify(s)
    assert not result.ok and result.broken_id == ids[2]
    assert "previous-hash link" in (result.reason or "")


def test_truncated_tail_is_caught_with_a_recorded_head(ctx: AppContext) -> None:
    ids = _append(ctx, 3)
    with ctx.sessions() as s:
        head = audit.verify(s).head
    _tamper(ctx, f"DELETE FROM audit_events WHERE id = {ids[-1]}")
    with ctx.sessions() as s:
        assert audit.verify(s).ok  # a chain alone cannot see its own missing tail …
        result = audit.verify(s, expect_head=head)  # … an anchor recorded earlier can
    assert not result.ok and "missing" in (result.reason or "")


def test_a_rolled_back_change_leaves_no_event(ctx: AppContext) -> None:
    with pytest.raises(RuntimeError), transaction(ctx.sessions) as s:
        audit.record(s, "system", "noop", "thing", 1, at=ctx.clock())
        raise RuntimeError("the change failed")
    with ctx.sessions() as s:
        assert s.scalar(select(AuditEvent.id)) is None
        assert audit.head(s) == audit.GENESIS


def test_forked_chain_is_impossible(ctx: AppContext) -> None:
    _append(ctx, 1)
    with ctx.sessions() as s:
        first = s.scalars(select(AuditEvent)).one()
        s.add(
            AuditEvent(
                at=first.at, actor="x", action="x", entity="x", prev_hash=first.prev_hash, hash="f" * 64
            )
        )
        with pytest.raises(DBAPIError):
            s.flush()
